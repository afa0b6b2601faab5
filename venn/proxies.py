"""The client's address and the public host, behind trusted reverse proxies.

A reverse proxy connects to Venn itself, so the peer address of every request is the
proxy's. The proxy says who its client was in ``X-Forwarded-For`` (appending the
address it saw to what came in) and, optionally, which host the browser asked for in
``X-Forwarded-Host``. Anyone can send those headers, so they are believed only when the
direct peer is one of ``VENN_TRUSTED_PROXIES`` (IP addresses or networks; none by
default). ``X-Forwarded-For`` is then read from right to left, skipping the addresses of
trusted proxies: the first address that is not one is the client's. A value the client
wrote itself sits left of that and is never used.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from urllib.parse import urlsplit

from aiohttp import web

from venn import keys

__all__ = ["client_address", "forwarded_client", "origin_matches_host", "public_host", "reached_over_https"]

Address = IPv4Address | IPv6Address
Networks = Sequence[IPv4Network | IPv6Network]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _address(value: str) -> Address | None:
    """An address as proxies write it (``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:80``), or None."""
    text = value.strip()
    if text.startswith("["):  # [v6] or [v6]:port
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    try:
        addr = ip_address(text)
    except ValueError:
        return None
    # a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d
    if isinstance(addr, IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _trusted(addr: Address, trusted: Networks) -> bool:
    return any(addr in network for network in trusted)


def forwarded_client(peer: str | None, forwarded_for: Iterable[str], trusted: Networks) -> str:
    """The client's address: ``peer``, or, when ``peer`` is a trusted proxy, the
    right-most ``X-Forwarded-For`` address that is not a trusted proxy.

    ``forwarded_for`` is every ``X-Forwarded-For`` header line in order. When every
    address is trusted (or the next one is not an address), the last one read is it.
    """
    addr = _address(peer) if peer else None
    if addr is None:
        return peer or "unknown"  # e.g. a Unix socket
    if not _trusted(addr, trusted):
        return str(addr)
    hops = [hop for line in forwarded_for for hop in line.split(",") if hop.strip()]
    for hop in reversed(hops):
        hop_addr = _address(hop)
        if hop_addr is None:
            break  # unreadable: nothing left of it can be trusted either
        addr = hop_addr
        if not _trusted(addr, trusted):
            break
    return str(addr)


def _trusted_peer(request: web.Request) -> bool:
    trusted = request.app[keys.SETTINGS].trusted_proxies
    if not trusted:
        return False
    addr = _address(request.remote) if request.remote else None
    return addr is not None and _trusted(addr, trusted)


def client_address(request: web.Request) -> str:
    """The address of the client that made ``request`` (kept on the request)."""
    known = request.get(keys.CLIENT_IP)
    if known is None:
        trusted = request.app[keys.SETTINGS].trusted_proxies
        known = forwarded_client(request.remote, request.headers.getall("X-Forwarded-For", []), trusted)
        request[keys.CLIENT_IP] = known
    return known


def reached_over_https(request: web.Request) -> bool:
    """Whether the client used HTTPS: to Venn itself, or to a trusted proxy that says so
    in ``X-Forwarded-Proto`` (its right-most value). Decides a cookie's ``Secure``."""
    if request.secure:
        return True
    if not _trusted_peer(request):
        return False
    forwarded = [p.strip() for line in request.headers.getall("X-Forwarded-Proto", []) for p in line.split(",")]
    forwarded = [p for p in forwarded if p]
    return bool(forwarded) and forwarded[-1].lower() == "https"


def public_host(request: web.Request) -> str:
    """The host (with its port, if any) the client asked for: ``X-Forwarded-Host`` when
    a trusted proxy sent it (the value that proxy wrote: the right-most), else ``Host``."""
    if _trusted_peer(request):
        forwarded = [h.strip() for line in request.headers.getall("X-Forwarded-Host", []) for h in line.split(",")]
        forwarded = [h for h in forwarded if h]
        if forwarded:
            return forwarded[-1]
    return request.headers.get("Host", "")


def _host_port(netloc: str, default_port: int) -> tuple[str, int] | None:
    try:
        parts = urlsplit(f"//{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname.lower(), port if port is not None else default_port


def origin_matches_host(origin: str, host: str) -> bool:
    """Whether a browser's ``Origin`` names ``host`` (``name`` or ``name:port``).

    Host and port are compared; a missing port is the default port of the origin's
    scheme. The scheme itself is not: behind a TLS-terminating proxy the server cannot
    tell, and one host and port serve one site whichever scheme reaches it.
    """
    parts = urlsplit(origin.strip())
    default = _DEFAULT_PORTS.get(parts.scheme.lower())
    if default is None or not parts.netloc or not host:
        return False
    theirs, ours = _host_port(parts.netloc, default), _host_port(host, default)
    return theirs is not None and theirs == ours
