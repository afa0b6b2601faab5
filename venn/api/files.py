"""REST routes of files: upload (multipart), the browser's files cookie, download.

The handlers only read the multipart wire format and write the bytes out; the rules
(who may upload or download what, types, sizes, thumbnails) are in venn.files.service.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from urllib.parse import quote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import TypeAdapter, ValidationError

from venn.api.routing import ApiRouter, Call
from venn.errors import BadRequest, PayloadTooLarge, ValidationFailed
from venn.files.service import Download
from venn.proxies import reached_over_https
from venn.schemas import Id

log = logging.getLogger("venn.files")
files_api = ApiRouter(prefix="/api/v1")
ID = r"{%s:\d+}"
#: the files cookie: signed, HttpOnly, SameSite=Strict, sent only to /api/v1/files
FILES_COOKIE = "venn_files"
COOKIE_PATH = "/api/v1/files"
#: room for the multipart framing and the channel_id field around the file
FORM_OVERHEAD = 64 * 1024
CHUNK = 256 * 1024
_ID = TypeAdapter(Id)
#: what a download may do once in the browser: nothing (no script, no plugin, no frame)
DOWNLOAD_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"

UPLOAD_FORM = {
    "type": "object",
    "required": ["channel_id", "file"],
    "properties": {
        "channel_id": {"type": "integer", "minimum": 1, "description": "Before the file in the form."},
        "file": {"type": "string", "format": "binary", "description": "The file, with its name."},
    },
    "additionalProperties": False,
}


@files_api.post("/files", form=UPLOAD_FORM, status=201, response="FileEnvelope", errors=(403, 404, 429),
                tag="files")
async def upload_file(call: Call):
    """Upload a file to a channel (multipart: channel_id, then file); attach it to a message with file_ids."""
    request = call.request
    limit = call.services.settings.max_file_bytes
    if request.content_length is not None and request.content_length > limit + FORM_OVERHEAD:
        raise PayloadTooLarge(f"The file is larger than {limit} bytes.", max_bytes=limit)
    if request.content_type != "multipart/form-data":
        raise BadRequest("Send the file as multipart/form-data (fields channel_id, then file).", code="bad_form")
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError):
        raise BadRequest("The multipart body is malformed.", code="bad_form") from None
    channel_id: int | None = None
    view = None
    try:
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or view is not None:
                raise _field("file", "send one file, as the last field")
            if part.name == "channel_id":
                channel_id = await _channel_id(part)
            elif part.name == "file":
                if channel_id is None:
                    raise _field("channel_id", "give channel_id before the file")
                view = await call.services.files.upload(call.user, channel_id, part.filename, _chunks(part))
            else:
                raise _field(part.name or "form", "unknown field")
    except (ValueError, AssertionError, RuntimeError, HttpProcessingError):
        # HttpProcessingError: a part's headers aiohttp cannot parse (control characters, …)
        raise BadRequest("The multipart body is malformed.", code="bad_form") from None
    if view is None:
        raise _field("file" if channel_id is not None else "channel_id", "missing")
    return {"file": view}


async def _channel_id(part: BodyPartReader) -> int:
    raw = await part.read_chunk(64)
    if len(raw) > 20 or await part.read_chunk(64):
        raise _field("channel_id", "not an id")
    try:
        return _ID.validate_python(int(raw.decode("ascii").strip()))
    except (ValueError, UnicodeDecodeError, ValidationError):
        raise _field("channel_id", "not an id") from None


async def _chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(CHUNK):
        yield chunk


def _field(name: str, message: str) -> ValidationFailed:
    return ValidationFailed([{"field": name, "message": message}])


@files_api.post("/files/cookie", status=204, tag="files")
async def files_cookie(call: Call):
    """Set the short-lived files cookie, with which the browser's <img> fetches files and thumbnails."""
    value, max_age = call.services.files.cookie_for(call.user, call.session_id)
    response = web.Response(status=204)
    response.set_cookie(
        FILES_COOKIE, value, max_age=max_age, path=COOKIE_PATH, httponly=True, samesite="Strict",
        secure=reached_over_https(call.request),
    )
    return response


@files_api.get("/files/" + ID % "file_id", cookie=FILES_COOKIE, errors=(404,), tag="files")
async def download_file(call: Call):
    """Download a file (members of its channel; the files cookie works too): attachment, images inline."""
    return await _send(call, await call.services.files.open(call.user, call.path_id("file_id")))


@files_api.get("/files/" + ID % "file_id" + "/thumbnail", cookie=FILES_COOKIE, errors=(404,), tag="files")
async def download_thumbnail(call: Call):
    """An image's thumbnail (members of its channel; the files cookie works too)."""
    return await _send(call, await call.services.files.open(call.user, call.path_id("file_id"), thumbnail=True))


def content_disposition(name: str, inline: bool) -> str:
    """``attachment`` (or ``inline``) with the name, ASCII-safe and in full (RFC 6266)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in name)
    return f"{'inline' if inline else 'attachment'}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def _send(call: Call, download: Download) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": download.content_type,
            "Content-Disposition": content_disposition(download.name, download.inline),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": DOWNLOAD_CSP,
            # the bytes of a file id never change; only members may have them
            "Cache-Control": "private, max-age=3600",
            "Referrer-Policy": "no-referrer",
        }
    )
    if download.size is not None:
        response.content_length = download.size
    await response.prepare(call.request)
    try:
        async for chunk in download.chunks:
            await response.write(chunk)
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client went away (closed the page, cancelled the download)
    except Exception:
        # the headers are sent: no error answer can follow; cut the connection so that
        # the client sees a broken download rather than a short file
        log.warning("a download broke off", exc_info=True)
        if call.request.transport is not None:
            call.request.transport.close()
    return response
