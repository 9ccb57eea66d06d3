"""The try-on engines: built once per process, on first use, and rebuilt in a forked worker."""

from __future__ import annotations

import os
import threading

import ar

# A photo may show a group: every face in it is found, small ones included.
PHOTO_MAX_FACES = 4
# A live frame shows the one person at the camera: MediaPipe's face mesh alone finds them, and
# the full-range small-face detector runs only on frames where the mesh found nobody.
LIVE_MAX_FACES = 1


class _ProcessEngine:
    """A still-mode engine built on first use and rebuilt in a forked worker, never shared
    across a fork. Still mode detects on every call, so one engine serves every client of the
    process; its own lock serialises MediaPipe."""

    def __init__(self, max_faces: int) -> None:
        self.max_faces = max_faces
        self._engine: ar.TryOnEngine | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def get(self) -> ar.TryOnEngine:
        engine = self._engine
        if engine is not None and self._pid == os.getpid():
            return engine
        with self._lock:
            if self._engine is None or self._pid != os.getpid():
                self._engine = ar.create_engine("still", max_faces=self.max_faces)
                self._pid = os.getpid()
            return self._engine


_photo_engine = _ProcessEngine(PHOTO_MAX_FACES)
_live_engine = _ProcessEngine(LIVE_MAX_FACES)


def get_engine() -> ar.TryOnEngine:
    """Return this process's engine for photos and snapshots (up to PHOTO_MAX_FACES faces)."""
    return _photo_engine.get()


def get_live_engine() -> ar.TryOnEngine:
    """Return this process's engine for live frames: one face, at MediaPipe's own speed."""
    return _live_engine.get()
