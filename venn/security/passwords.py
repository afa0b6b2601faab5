"""argon2 password hashing."""

from __future__ import annotations

import asyncio
from typing import Literal

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

HashProfile = Literal["standard", "cheapest"]

#: argon2-cffi's parameter sets: the library's default (RFC 9106 low-memory) and its
#: deliberately weak one, meant only for test suites that register hundreds of people
_PROFILES = {"standard": profiles.RFC_9106_LOW_MEMORY, "cheapest": profiles.CHEAPEST}


class _Hashing:
    """The hasher in use, and a real hash made with it to verify unknown users against."""

    def __init__(self, profile: HashProfile = "standard") -> None:
        self.profile = profile
        self.hasher = PasswordHasher.from_parameters(_PROFILES[profile])
        # a login for an unknown name costs the same time as one with a wrong password
        self.dummy_hash = self.hasher.hash("venn-dummy-password")


_hashing = _Hashing()


def configure(profile: HashProfile) -> None:
    """Choose the parameters new hashes get (``VENN_PASSWORD_HASHING``); old hashes still verify."""
    global _hashing
    if _hashing.profile != profile:
        _hashing = _Hashing(profile)


async def hash_password(password: str) -> str:
    """Hash off the event loop (argon2 is deliberately slow)."""
    return await asyncio.to_thread(_hashing.hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; constant work when there is no hash."""
    hashing = _hashing

    def _verify() -> bool:
        try:
            return hashing.hasher.verify(password_hash or hashing.dummy_hash, password) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(_verify)
