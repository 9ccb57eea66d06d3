"""Files in an S3-compatible bucket: the only module that imports boto3.

Credentials come from boto3's usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a role),
never from the repository. ``DIADEM_S3_ENDPOINT_URL`` points at an S3-compatible service
(MinIO, Ceph, R2, moto in tests), addressed path-style.

Serving streams the object through the app instead of redirecting to a presigned URL: the
permission check stays the last word (a presigned URL is a bearer link that outlives it), the
page's CSP (``img-src 'self'``, ``media-src 'self'``) and the try-on canvas need same-origin
pictures, and our headers (``nosniff``, ``no-store``, the download name) stay ours. Range
requests reach the bucket as ranged GETs, so a <video> seeking in a 50 MB proof fetches only the
part it shows.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from flask import Response, request
from werkzeug.exceptions import NotFound
from werkzeug.wsgi import FileWrapper

from app.common.storage_contract import (
    PUBLIC_MAX_AGE,
    BadKey,
    ObjectMissing,
    StorageError,
    check_key,
    content_type_for,
    finish_response,
)

_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}
CHUNK_BYTES = 64 * 1024


def make_client(*, endpoint_url: str | None, region: str | None) -> Any:
    """Build one thread-safe S3 client (per app) with bounded timeouts and retries."""
    config = Config(
        connect_timeout=5,
        read_timeout=30,
        retries={"max_attempts": 3, "mode": "standard"},
        signature_version="s3v4",
        # S3-compatible services rarely have a DNS name per bucket; AWS itself takes either.
        s3={"addressing_style": "path" if endpoint_url else "auto"},
    )
    session = boto3.session.Session()
    return session.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING_CODES


class S3Storage:
    """Objects under ``prefix`` in one bucket."""

    def __init__(self, *, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _call(self, key: str, operation: Callable[..., Any], **arguments: Any) -> Any:
        try:
            return operation(Bucket=self.bucket, Key=self._key(key), **arguments)
        except ClientError as exc:
            if _missing(exc):
                raise ObjectMissing(f"Nothing stored under {key!r}") from exc
            raise StorageError(f"{self.location}{key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"{self.location}{key}: {exc}") from exc

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        self._call(key, self.client.put_object, Body=data, ContentType=content_type)

    def read(self, key: str) -> bytes:
        body = self._call(key, self.client.get_object)["Body"]
        with body:
            return body.read()

    def exists(self, key: str) -> bool:
        try:
            self._call(key, self.client.head_object)
        except ObjectMissing:
            return False
        return True

    def delete(self, key: str) -> None:
        self._call(key, self.client.delete_object)

    def version(self, key: str) -> str:
        return str(self._call(key, self.client.head_object)["ETag"])

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"s3://{self.bucket}: {exc}") from exc

    def serve(
        self, key: str, *, download_name: str | None = None, private: bool = True
    ) -> Response:
        try:
            head = self._call(key, self.client.head_object)
        except (BadKey, ObjectMissing):
            raise NotFound() from None
        size = int(head["ContentLength"])
        etag = str(head["ETag"]).strip('"')
        reader = _ObjectReader(
            lambda byte_range: self._call(
                key, self.client.get_object, Range=byte_range, IfMatch=head["ETag"]
            )["Body"],
            size=size,
        )
        response = Response(
            FileWrapper(reader, CHUNK_BYTES),
            mimetype=content_type_for(key),
            direct_passthrough=True,
        )
        response.content_length = size
        response.set_etag(etag)
        response.last_modified = head.get("LastModified")
        if not private:
            response.cache_control.max_age = PUBLIC_MAX_AGE
        # Werkzeug's own rules for If-None-Match, If-Modified-Since, Range and If-Range (304,
        # 206 or 416), exactly as send_file applies them to a file on disk.
        response = response.make_conditional(
            request.environ, accept_ranges=True, complete_length=size
        )
        if response.status_code == 206 and response.content_range is not None:
            reader.limit(response.content_range.stop or size)
        return finish_response(
            response,
            download_name=download_name,
            private=private,
            max_age=None if private else PUBLIC_MAX_AGE,
        )


class _ObjectReader(io.RawIOBase):
    """Read an object lazily: nothing until the first read, then one ranged GET from the current
    position to the end of the window (so a 206 fetches only the bytes it sends)."""

    def __init__(self, fetch: Callable[[str], Any], *, size: int) -> None:
        super().__init__()
        self._fetch = fetch
        self._size = size
        self._end = size
        self._position = 0
        self._body: Any = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def limit(self, end: int) -> None:
        """Read no further than byte ``end`` (exclusive)."""
        self._end = min(end, self._size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        position = max(0, base + offset)
        if position != self._position:
            self._close_body()
            self._position = position
        return self._position

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), self._end - self._position)
        if wanted <= 0:
            return 0
        if self._body is None:
            self._body = self._fetch(f"bytes={self._position}-{self._end - 1}")
        chunk = self._body.read(wanted)
        buffer[: len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)

    def _close_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._close_body()
        super().close()
