"""Password hashing: the standard argon2 parameters by default, any profile's hashes verify."""

from __future__ import annotations

from argon2 import extract_parameters

from venn.config import Settings
from venn.security import passwords


async def test_standard_is_the_default_and_hashes_of_either_profile_verify(monkeypatch):
    monkeypatch.delenv("VENN_PASSWORD_HASHING", raising=False)
    assert Settings(_env_file=None).password_hashing == "standard"  # type: ignore[call-arg]
    try:
        passwords.configure("standard")
        strong = await passwords.hash_password("correct horse")
        assert extract_parameters(strong).memory_cost == 65536  # RFC 9106 low-memory: 64 MiB
        passwords.configure("cheapest")
        cheap = await passwords.hash_password("correct horse")
        assert extract_parameters(cheap).memory_cost < 65536
        # switching profiles never locks anyone out: the parameters live in each hash
        for stored in (strong, cheap):
            assert await passwords.verify_password(stored, "correct horse")
            assert not await passwords.verify_password(stored, "wrong horse")
        assert not await passwords.verify_password(None, "correct horse")
    finally:
        passwords.configure("cheapest")
