"""The storage contract every backend shares: safe keys, content types, errors, headers.

Kept apart from app.common.storage (which builds each app's storages) so the S3 backend can
share it without importing the module that imports it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from flask import Response

# What each stored extension is served as, whatever the backend (not left to the host's
# mime.types); anything else is served as bytes.
CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".json": "application/json",
}
PUBLIC_MAX_AGE = 86400  # product artwork may be cached for a day
BACKENDS = ("local", "s3")
MAX_KEY_LENGTH = 512
# Segments of letters, digits, "_", "-" and "." that do not start with a dot: no "..", no hidden
# files, no empty segments, no absolute paths, no backslashes.
_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*")


class StorageError(OSError):
    """The storage could not do what was asked (disk or object store unavailable)."""


class ObjectMissing(StorageError):
    """No file is stored under that key."""


class BadKey(StorageError, ValueError):
    """The key is not a plain relative name this storage will accept."""


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative name; BadKey otherwise."""
    if not isinstance(key, str) or len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise BadKey(f"Refused storage key {key!r}")
    return key


def content_type_for(key: str) -> str:
    return CONTENT_TYPES.get(Path(key).suffix.lower(), "application/octet-stream")


def finish_response(
    response: Response, *, download_name: str | None, private: bool, max_age: int | None = None
) -> Response:
    """Set the headers every served file carries, whichever backend sent it."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    if download_name:
        response.headers.set("Content-Disposition", "inline", filename=download_name)
    if private:
        # Private files are never kept by browsers or shared caches.
        response.headers["Cache-Control"] = "private, no-store"
    elif max_age is not None:
        response.cache_control.public = True
        response.cache_control.max_age = max_age
    return response


class Storage(Protocol):
    """A place to keep files by key; implementations: LocalStorage, S3Storage."""

    @property
    def location(self) -> str:
        """Where the files are (``file:///...``, ``s3://bucket/prefix/``), for logs and caches."""
        ...

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        """Store ``data`` under ``key``, replacing what was there."""
        ...

    def read(self, key: str) -> bytes:
        """Return the bytes stored under ``key``; ObjectMissing if there are none."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the file; a missing key is not an error."""
        ...

    def version(self, key: str) -> str:
        """A token that changes when the file does (for caches); ObjectMissing if none."""
        ...

    def check(self) -> None:
        """Raise StorageError unless the storage can be reached and written to."""
        ...

    def serve(
        self, key: str, *, download_name: str | None = None, private: bool = True
    ) -> Response:
        """Answer the current request with the file (Range and conditional requests included).

        Call only after checking that the viewer may see it. A missing or refused key is a 404.
        """
        ...
