"""Where outgoing webhooks may go: http(s) URLs without credentials whose host resolves
only to public addresses (no loopback, private, link-local, ...), unless the host is
listed in ``VENN_WEBHOOK_ALLOWED_HOSTS``. Checked at creation and again, on the
addresses actually connected to, at every delivery (see :class:`GuardedResolver`)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver
from aiohttp.resolver import ThreadedResolver


class Refused(OSError):
    """The destination resolves to an address outbound webhooks may not reach."""


def address_refused(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def _host_of(url: str) -> tuple[str, int] | str:
    """(host, port) of an acceptable URL, or why it is not."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "only http and https URLs"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "no credentials in the URL"
    host = (parts.hostname or "").lower()
    if not host:
        return "the URL needs a host"
    return host, port or (443 if parts.scheme == "https" else 80)


async def check_destination(url: str, allowed_hosts: list[str]) -> str | None:
    """None when ``url`` may receive events, else why not (for a 422 or a delivery error)."""
    found = _host_of(url)
    if isinstance(found, str):
        return found
    host, port = found
    if host in allowed_hosts:
        return None
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return "the host does not resolve"
    if not infos or any(address_refused(str(info[4][0])) for info in infos):
        return "the host resolves to a private, loopback or link-local address"
    return None


class GuardedResolver(AbstractResolver):
    """Resolves like aiohttp does, then refuses a private answer: the address checked is
    the address connected to, so a name that changes its answer (DNS rebinding) after
    :func:`check_destination` still cannot reach the inside."""

    def __init__(self, allowed_hosts: list[str]) -> None:
        self._inner = ThreadedResolver()
        self._allowed = set(allowed_hosts)

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> Any:
        results = await self._inner.resolve(host, port, family)
        if host.lower() not in self._allowed and any(address_refused(r["host"]) for r in results):
            raise Refused(f"{host} resolves to a private, loopback or link-local address")
        return results

    async def close(self) -> None:
        await self._inner.close()
