"""Administrative tasks run from the command line."""

from __future__ import annotations

from pydantic import ValidationError

from venn import db
from venn.config import Settings
from venn.db.models import Role, User
from venn.schemas import RegisterIn, field_errors
from venn.security.passwords import hash_password
from venn.services.users import username_key


async def create_admin(settings: Settings, username: str, password: str) -> str:
    """Create an admin, or make an existing user an admin with this password."""
    try:
        data = RegisterIn(username=username, password=password)
    except ValidationError as exc:
        raise ValueError("; ".join(f"{e['field']}: {e['message']}" for e in field_errors(exc))) from None
    await db.apply_migrations(settings.effective_database_url)
    ctx = await db.open_database(settings.effective_database_url)
    try:
        password_hash = await hash_password(data.password)
        user = await User.get_or_none(username_key=username_key(data.username))
        if user is not None:
            if user.is_bot:
                raise ValueError(f"{user.username} is a bot account")
            await User.filter(id=user.id).update(role=Role.ADMIN, password_hash=password_hash)
            return f"{user.username} is now an admin"
        await User.create(
            username=data.username,
            username_key=username_key(data.username),
            display_name=data.username,
            password_hash=password_hash,
            role=Role.ADMIN,
        )
        return f"admin {data.username} created"
    finally:
        await db.close_database(ctx)
