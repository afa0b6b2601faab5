"""Where uploads are kept: a folder (default) or S3-compatible object storage.

Keys are made by the service (random hex, with a suffix for thumbnails). Both
storages take a finished temporary file (``put``), stream a stored one back in
chunks (``stream``) and forget one (``delete``, which tolerates a missing key, so a
sweep that runs twice is harmless). boto3 blocks: every S3 call runs in a thread.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

from venn.config import Settings

CHUNK = 256 * 1024
_KEY = re.compile(r"^[a-f0-9]{32}(\.thumb\.(png|jpg))?$")


class MissingBlob(Exception):
    """The storage has nothing under that key."""


class Storage(Protocol):
    def temp_dir(self) -> Path:
        """Where uploads are spooled before ``put`` (on the storage's file system when local)."""

    async def put(self, key: str, source: Path, content_type: str) -> None:
        """Store ``source`` under ``key`` (``source`` is moved or removed)."""

    def stream(self, key: str) -> AsyncIterator[bytes]:
        """The stored bytes in chunks; :class:`MissingBlob` if there are none."""

    async def delete(self, key: str) -> None:
        """Forget ``key`` (nothing happens if it is not there)."""


def _check_key(key: str) -> str:
    if not _KEY.match(key):  # keys are made by the service; anything else is a bug
        raise ValueError(f"bad storage key {key!r}")
    return key


class LocalStorage:
    """Files under a folder: ``<dir>/<2 hex>/<key>``, spooled in ``<dir>/.tmp``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def temp_dir(self) -> Path:
        path = self.root / ".tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)[:2] / key

    async def put(self, key: str, source: Path, content_type: str) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        try:
            fh = await asyncio.to_thread(self._path(key).open, "rb")
        except FileNotFoundError:
            raise MissingBlob(key) from None
        try:
            while chunk := await asyncio.to_thread(fh.read, CHUNK):
                yield chunk
        finally:
            fh.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)


class S3Storage:
    """Objects in an S3-compatible bucket (AWS, MinIO, Ceph, ...), through boto3 in threads."""

    def __init__(self, settings: Settings) -> None:
        self.bucket = str(settings.s3_bucket)
        self._options: dict[str, Any] = {
            "endpoint_url": settings.s3_endpoint_url,
            "region_name": settings.s3_region,
            "aws_access_key_id": settings.s3_access_key_id,
            "aws_secret_access_key": (
                settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None
            ),
        }
        self._client: Any = None
        self._client_lock = asyncio.Lock()

    async def client(self) -> Any:
        """The boto3 client, made once (making one is slow, and clients are thread-safe)."""
        async with self._client_lock:
            if self._client is None:
                import boto3

                options = {k: v for k, v in self._options.items() if v is not None}
                self._client = await asyncio.to_thread(boto3.client, "s3", **options)
        return self._client

    def temp_dir(self) -> Path:
        return Path(tempfile.gettempdir())

    async def put(self, key: str, source: Path, content_type: str) -> None:
        client = await self.client()
        try:
            await asyncio.to_thread(
                client.upload_file, str(source), self.bucket, _check_key(key), ExtraArgs={"ContentType": content_type}
            )
        finally:
            source.unlink(missing_ok=True)

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        from botocore.exceptions import ClientError

        client = await self.client()
        try:
            answer = await asyncio.to_thread(client.get_object, Bucket=self.bucket, Key=_check_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise MissingBlob(key) from None
            raise
        body = answer["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK):
                yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        client = await self.client()
        await asyncio.to_thread(client.delete_object, Bucket=self.bucket, Key=_check_key(key))


def make_storage(settings: Settings) -> Storage:
    """S3 when ``VENN_S3_BUCKET`` is set, else the folder ``VENN_FILES_DIR``."""
    if settings.s3_bucket:
        return S3Storage(settings)
    return LocalStorage(settings.effective_files_dir)
