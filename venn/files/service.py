"""Files: upload to a channel, attach to a message (in its write), download, sweep.

An upload is spooled to a temporary file while it streams in (never held in memory;
over ``VENN_MAX_FILE_BYTES`` it stops with 413), typed from its first bytes, given a
thumbnail when it is an image, then stored (venn.files.storage) and recorded. It
waits, unattached, until a message of the uploader in the same channel names it in
``file_ids``; one not attached within ``VENN_FILE_UNATTACHED_TTL`` is removed by the
sweep, as are the files of deleted messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tortoise.expressions import Q

from venn.db.models import File, User
from venn.errors import Forbidden, NotFound, PayloadTooLarge, Unauthorized, ValidationFailed
from venn.files.sniff import HEAD_BYTES, INLINE_IMAGES, served_type, sniff
from venn.files.storage import MissingBlob, Storage, make_storage
from venn.files.thumbs import make_thumbnail
from venn.ratelimit import enforce
from venn.security.tokens import FILES, TokenError
from venn.services.base import Service

log = logging.getLogger("venn.files")

#: files one message may carry
MAX_FILES_PER_MESSAGE = 10
#: rows the sweep removes in one pass (the next pass takes the rest)
SWEEP_BATCH = 500


def file_view(file: File) -> dict[str, Any]:
    """A file's public summary (kept on its message, so history needs no join)."""
    return {
        "id": file.id,
        "name": file.name,
        "size": file.size,
        "content_type": file.content_type,
        "url": f"/api/v1/files/{file.id}",
        "thumbnail_url": f"/api/v1/files/{file.id}/thumbnail" if file.thumb_key else None,
        "width": file.width,
        "height": file.height,
    }


def clean_name(raw: str | None) -> str:
    """A file name to show and to offer when saving: no folders, no control characters."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C").strip()
    if name in {"", ".", ".."}:
        return "file"
    return name[:255]


@dataclass
class Download:
    """What a download route sends: the bytes (``chunks``) and how to present them."""

    name: str
    content_type: str
    #: shown in the page (images), rather than saved
    inline: bool
    size: int | None
    chunks: AsyncIterator[bytes]


async def _primed(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``chunks`` with its first chunk read already (a missing blob raises here, not
    after the response has started)."""
    first = await anext(chunks, b"")

    async def rest() -> AsyncIterator[bytes]:
        if first:
            yield first
        async for chunk in chunks:
            yield chunk

    return rest()


class FileService(Service):
    def __init__(self, core) -> None:
        super().__init__(core)
        self.storage: Storage = make_storage(core.settings)

    # Upload ----------------------------------------------------------------

    async def upload(self, user: User, channel_id: int, filename: str | None, chunks: AsyncIterator[bytes]) -> dict:
        """Store an upload to ``channel_id`` (a channel of the user's), read from ``chunks``."""
        await enforce(
            self.limiter, f"upload:{user.id}", self.settings.rate_limit_uploads_per_minute,
            message="You are uploading files too fast; slow down.",
        )
        channel = await self.core.channels.require_member(user, channel_id)
        if channel.archived:
            raise Forbidden("The channel is archived.", code="channel_archived")
        key = uuid.uuid4().hex
        spool = self.storage.temp_dir() / f"{key}.part"
        thumb = self.storage.temp_dir() / f"{key}.thumb"
        stored: list[str] = []
        try:
            size, head = await self._spool(chunks, spool)
            content_type = sniff(head)
            info = None
            if content_type in INLINE_IMAGES:
                info = await asyncio.to_thread(make_thumbnail, spool, thumb, self.settings.max_image_pixels)
            thumb_key = None
            if info is not None and info.thumb_type is not None:
                thumb_key = f"{key}.thumb.{'png' if info.thumb_type == 'image/png' else 'jpg'}"
                await self.storage.put(thumb_key, thumb, info.thumb_type)
                stored.append(thumb_key)
            await self.storage.put(key, spool, content_type)
            stored.append(key)
            file = await File.create(
                channel_id=channel.id, uploader_id=user.id, name=clean_name(filename), content_type=content_type,
                size=size, storage_key=key, thumb_key=thumb_key,
                width=info.width if info else None, height=info.height if info else None,
            )
        except BaseException:
            for done in stored:  # stored, but not recorded: nothing would ever remove it
                with contextlib.suppress(Exception):
                    await self.storage.delete(done)
            raise
        finally:
            spool.unlink(missing_ok=True)
            thumb.unlink(missing_ok=True)
        return file_view(file)

    async def _spool(self, chunks: AsyncIterator[bytes], spool: Path) -> tuple[int, bytes]:
        """Write ``chunks`` to ``spool``: the size and the first bytes (for :func:`sniff`)."""
        limit = self.settings.max_file_bytes
        size = 0
        head = b""
        with spool.open("wb") as fh:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"The file is larger than {limit} bytes.", max_bytes=limit)
                if len(head) < HEAD_BYTES:
                    head += chunk[: HEAD_BYTES - len(head)]
                fh.write(chunk)
        if size == 0:
            raise ValidationFailed([{"field": "file", "message": "the file is empty"}])
        return size, head

    # Attach ------------------------------------------------------------------

    async def for_message(self, user: User, channel_id: int, file_ids: list[int]) -> list[dict[str, Any]]:
        """The summaries of the files a new message of ``user`` in ``channel_id`` names:
        each an upload of theirs to that channel, not attached yet; else 422."""
        if not file_ids:
            return []
        if len(set(file_ids)) != len(file_ids):
            raise ValidationFailed([{"field": "file_ids", "message": "a file is named twice"}])
        found = {f.id: f for f in await File.filter(id__in=file_ids)}
        for file_id in file_ids:
            file = found.get(file_id)
            if (
                file is None or file.uploader_id != user.id or file.channel_id != channel_id
                or file.message_id is not None or file.hidden
            ):
                raise _not_attachable(file_id)
        return [file_view(found[file_id]) for file_id in file_ids]

    # Download ----------------------------------------------------------------

    async def open(self, user: User, file_id: int, *, thumbnail: bool = False) -> Download:
        """A file (or its thumbnail) for a member of its channel; 404 for anyone else.

        An upload not attached yet is its uploader's alone.
        """
        file = await File.get_or_none(id=file_id)
        if (
            file is None or file.hidden
            or (file.message_id is None and file.uploader_id != user.id)
            or not await self.core.channels.is_member(user.id, file.channel_id)
        ):
            raise NotFound("No such file.")
        if thumbnail:
            if file.thumb_key is None:
                raise NotFound("This file has no thumbnail.")
            key, content_type, inline, size = file.thumb_key, _thumb_type(file.thumb_key), True, None
        else:
            key, content_type = file.storage_key, served_type(file.content_type)
            inline, size = file.content_type in INLINE_IMAGES, file.size
        try:
            chunks = await _primed(self.storage.stream(key))
        except MissingBlob:
            raise NotFound("No such file.") from None
        return Download(file.name, content_type, inline, size, chunks)

    def cookie_for(self, user: User, session_id: int | None = None) -> tuple[str, int]:
        """A signed value that lets a browser's ``<img>`` fetch files as ``user`` (in
        ``session_id``: ending it ends the cookie), and its lifetime (s)."""
        return self.tokens.issue_files(user.id, user.token_version, session_id), self.tokens.ttl[FILES]

    async def authenticate_cookie(self, value: str) -> User:
        """The user of a files cookie; 401 when it is forged, expired or revoked."""
        try:
            claims = self.tokens.verify(value, FILES)
        except TokenError as exc:
            raise Unauthorized(str(exc), code="invalid_token") from None
        user = await User.get_or_none(id=claims.user_id)
        if user is None or user.token_version != claims.token_version:
            raise Unauthorized("The token has been revoked.", code="token_revoked")
        if claims.session_id is not None:
            await self.core.sessions.check(user.id, claims.session_id)
        return user

    # Removal -------------------------------------------------------------------

    async def hide_for_message(self, message_id: int) -> None:
        """A deleted message's files: no longer served; the sweep removes them."""
        await File.filter(message_id=message_id).update(hidden=True)

    async def sweep(self, now: datetime | None = None) -> int:
        """Remove uploads never attached within the TTL and the files of deleted
        messages; returns how many. Safe in several processes at once: a row is
        removed (only if still unattached, or hidden) before its bytes, and only the
        process whose DELETE took the row removes them."""
        cutoff = (now or datetime.now(UTC)) - timedelta(seconds=self.settings.file_unattached_ttl_seconds)
        stale = await (
            File.filter(Q(message_id__isnull=True, created_at__lt=cutoff) | Q(hidden=True))
            .order_by("id").limit(SWEEP_BATCH).values("id", "hidden", "storage_key", "thumb_key")
        )
        removed = 0
        for row in stale:
            query = File.filter(id=row["id"])
            query = query.filter(hidden=True) if row["hidden"] else query.filter(message_id__isnull=True)
            if not await query.delete():
                continue  # attached meanwhile, or another process took it
            for key in (row["storage_key"], row["thumb_key"]):
                if key is None:
                    continue
                try:
                    await self.storage.delete(key)
                except Exception:  # noqa: BLE001 - the row is gone; a stray blob is only space
                    log.warning("could not remove a stored file", extra={"key": key}, exc_info=True)
            removed += 1
        return removed

    async def run_sweeper(self) -> None:
        """Sweep now and then, for as long as the app runs (cancelled at shutdown)."""
        interval = min(3600.0, max(30.0, self.settings.file_unattached_ttl_seconds / 24))
        while True:
            # processes started together do not sweep in step
            await asyncio.sleep(interval * random.uniform(0.5, 1.0))  # noqa: S311
            try:
                await self.sweep()
            except Exception:  # noqa: BLE001 - the database may be down; try again next time
                log.warning("file sweep failed", exc_info=True)


async def attach_files(message_id: int, author_id: int, channel_id: int, file_ids: list[int]) -> None:
    """Inside the message's write transaction: the files become the message's, if they
    still wait for it (a concurrent post or the sweep may have taken one: 422, and the
    transaction, message included, is rolled back)."""
    count = await File.filter(
        id__in=file_ids, uploader_id=author_id, channel_id=channel_id, message_id__isnull=True, hidden=False
    ).update(message_id=message_id)
    if count != len(file_ids):
        raise _not_attachable(None)


def _not_attachable(file_id: int | None) -> ValidationFailed:
    which = f"file {file_id}" if file_id is not None else "a file"
    return ValidationFailed(
        [{"field": "file_ids", "message": f"{which} is not an upload of yours to this channel waiting to be attached"}]
    )


def _thumb_type(key: str) -> str:
    return "image/png" if key.endswith(".png") else "image/jpeg"
