"""An upload's type, read from its first bytes (the client's claim is never believed)."""

from __future__ import annotations

import filetype

#: how many bytes of the start of a file :func:`sniff` reads
HEAD_BYTES = 8192
TEXT = "text/plain"
BINARY = "application/octet-stream"
#: images a browser may show inline (and that get a thumbnail); SVG is not one: it can
#: carry script, so it is only ever downloaded
INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
#: control characters that do not occur in text files
_BINARY_BYTES = frozenset(range(0, 9)) | frozenset(range(14, 32)) - {27}


def sniff(head: bytes) -> str:
    """The media type of a file starting with ``head``: a known signature's type, else
    ``text/plain`` for UTF-8 text, else ``application/octet-stream``."""
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    return TEXT if _is_text(head) else BINARY


def _is_text(head: bytes) -> bool:
    if not head or any(b in _BINARY_BYTES for b in head):
        return False
    # the head may end inside a multi-byte character
    for cut in range(4):
        try:
            head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return True
    return False


def served_type(content_type: str) -> str:
    """The Content-Type a download is sent with: never one a browser would run as a page."""
    if content_type in INLINE_IMAGES:
        return content_type
    if content_type == TEXT:
        return "text/plain; charset=utf-8"
    if content_type.startswith("text/") or "html" in content_type or "xml" in content_type:
        return BINARY
    return content_type
