"""Where stored files live: one interface over local disk and S3-compatible object storage.

Two areas, each a :class:`Storage`, built once per app on first use:

- ``uploads_storage()``: private files (try-on snapshots, repair photos, design files and proofs,
  provenance files), served only by views that have already checked who may see them;
- ``media_storage()``: public product artwork (catalog pictures, try-on overlays).

``DIADEM_STORAGE=local`` (the default) keeps today's layout: UPLOADS_ROOT (instance/uploads) and
MEDIA_ROOT/products. ``DIADEM_STORAGE=s3`` keeps the same keys in one bucket under
``<DIADEM_S3_PREFIX>uploads/`` and ``<DIADEM_S3_PREFIX>products/``, so every app server sees every
file (see app.common.s3storage).

Keys are relative names such as ``tryon/<random>.jpg``: :func:`check_key` refuses anything else,
so a key taken from a URL cannot leave its area.
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

from flask import Flask, Response, current_app, send_file
from werkzeug.exceptions import NotFound

from app.common.storage_contract import (  # noqa: F401  (the contract, re-exported)
    BACKENDS,
    CONTENT_TYPES,
    MAX_KEY_LENGTH,
    PUBLIC_MAX_AGE,
    BadKey,
    ObjectMissing,
    Storage,
    StorageError,
    check_key,
    content_type_for,
    finish_response,
)

_EXTENSION = "diadem.storage"


class LocalStorage:
    """Files under one folder on this machine's disk (today's layout, byte for byte)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @property
    def location(self) -> str:
        return self.root.resolve().as_uri()

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed, so a reader never sees half a file; the dot-name is no key.
        partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
        try:
            partial.write_bytes(data)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)

    def read(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectMissing(f"Nothing stored under {key!r}") from exc

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def version(self, key: str) -> str:
        try:
            stat = self.path(key).stat()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ObjectMissing(f"Nothing stored under {key!r}") from exc
        return f"{stat.st_mtime_ns}-{stat.st_size}"

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"{self.root}: {exc}") from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageError(f"{self.root} is not writable")

    def serve(
        self, key: str, *, download_name: str | None = None, private: bool = True
    ) -> Response:
        try:
            path = self.path(key)
        except BadKey:
            raise NotFound() from None
        if not path.is_file():
            raise NotFound()
        # Given a path, send_file answers conditional and Range requests (206), which <video>
        # needs to seek.
        response = send_file(
            path,
            mimetype=content_type_for(key),
            max_age=0 if private else PUBLIC_MAX_AGE,
            conditional=True,
        )
        return finish_response(response, download_name=download_name, private=private)


# --- the app's storages ------------------------------------------------------------------------

AREAS = ("uploads", "products")


class AppStorage:
    """One app's storages (app.extensions["diadem.storage"]), each built on its first use.

    Built lazily rather than in create_app so tests and scripts can point UPLOADS_ROOT or
    MEDIA_ROOT elsewhere after creating the app; then kept (with one S3 client) for its life.
    """

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._built: dict[str, Storage] = {}
        self._client: object | None = None
        self._lock = threading.Lock()

    def get(self, area: str) -> Storage:
        storage = self._built.get(area)
        if storage is None:
            with self._lock:
                storage = self._built.get(area) or self._build(area)
                self._built[area] = storage
        return storage

    def check(self) -> None:
        """Raise StorageError unless every area can be reached (for /readyz)."""
        for area in AREAS:
            self.get(area).check()

    def _build(self, area: str) -> Storage:
        config = self._app.config
        if (config.get("STORAGE") or "local") == "s3":
            from app.common import s3storage

            if self._client is None:
                self._client = s3storage.make_client(
                    endpoint_url=config.get("S3_ENDPOINT_URL") or None,
                    region=config.get("S3_REGION") or None,
                )
            return s3storage.S3Storage(
                client=self._client,
                bucket=str(config["S3_BUCKET"]),
                prefix=_prefix(config.get("S3_PREFIX")) + f"{area}/",
            )
        if area == "uploads":
            return LocalStorage(local_uploads_root(self._app))
        return LocalStorage(Path(config["MEDIA_ROOT"]) / area)


def init_app(app: Flask) -> None:
    """Check the storage settings at start-up and register the app's (lazily built) storages."""
    backend = app.config.get("STORAGE") or "local"
    if backend not in BACKENDS:
        raise RuntimeError(f"DIADEM_STORAGE must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == "s3" and not app.config.get("S3_BUCKET"):
        raise RuntimeError("DIADEM_STORAGE=s3 needs DIADEM_S3_BUCKET")
    app.extensions[_EXTENSION] = AppStorage(app)


def local_uploads_root(app: Flask) -> Path:
    return Path(app.config.get("UPLOADS_ROOT") or Path(app.instance_path) / "uploads")


def uploads_storage() -> Storage:
    """The private uploads of the current app."""
    return current_app.extensions[_EXTENSION].get("uploads")


def media_storage() -> Storage:
    """The public product artwork of the current app."""
    return current_app.extensions[_EXTENSION].get("products")


def _prefix(value: object) -> str:
    prefix = str(value or "").strip("/")
    return f"{check_key(prefix)}/" if prefix else ""
