"""The try-on engines: built once per process, on first use, and rebuilt in a forked worker."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

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


# --- live streams: tracked from frame to frame -----------------------------------------------

# A camera stream is tracked as MediaPipe tracks video: each frame's mesh starts from where the
# face was in the stream's last frame, and the face detector runs only when the face is lost.
# On 320 px frames that is about a third faster than still mode, which detects on every frame.
# A tracking engine follows one stream, so a process keeps a few (about 25 MB each) and lends
# them out; a stream silent for STREAM_IDLE_SECONDS gives its engine up, and a stream that finds
# every one busy is measured by the still-mode live engine, as before.
TRACKED_STREAMS = 4
STREAM_IDLE_SECONDS = 2.0


@dataclass
class _Tracker:
    engine: ar.TryOnEngine
    stream: str
    last_used: float


class StreamTrackers:
    """Video-mode engines lent to live streams, at most ``capacity`` per process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._trackers: list[_Tracker] = []
        self._pid: int | None = None
        self._lock = threading.Lock()

    def engine_for(
        self, stream: str, *, capacity: int, idle_seconds: float = STREAM_IDLE_SECONDS
    ) -> ar.TryOnEngine | None:
        """Return the engine tracking ``stream``, lending it one if free; None if all are busy."""
        now = self._clock()
        with self._lock:
            if self._pid != os.getpid():
                # A forked worker never touches its parent's graphs.
                self._trackers = []
                self._pid = os.getpid()
            for tracker in self._trackers:
                if tracker.stream == stream:
                    tracker.last_used = now
                    return tracker.engine
            idle = [t for t in self._trackers if now - t.last_used >= idle_seconds]
            if idle:
                tracker = min(idle, key=lambda t: t.last_used)
                # Not reset: all a graph carries from frame to frame is the region where the last
                # face was, a hint the new stream's own pixels confirm or drop (then the frame is
                # searched in still mode). Restarting the graph would cost ~15 ms on the frame.
                tracker.stream, tracker.last_used = stream, now
                return tracker.engine
            if len(self._trackers) >= capacity:
                return None
            engine = ar.create_engine("video", max_faces=LIVE_MAX_FACES, small_faces=False)
            self._trackers.append(_Tracker(engine, stream, now))
            return engine

    def close(self) -> None:
        """Release every tracking engine (a test's, or a worker shutting down)."""
        with self._lock:
            for tracker in self._trackers:
                tracker.engine.close()
            self._trackers = []

    def streams(self) -> list[str]:
        """Return the streams holding an engine, oldest first (for tests and diagnostics)."""
        with self._lock:
            return [t.stream for t in sorted(self._trackers, key=lambda t: t.last_used)]


_stream_trackers = StreamTrackers()


def measure_live_frame(
    rgb: np.ndarray, *, stream: str | None, capacity: int = TRACKED_STREAMS
) -> list[ar.FaceMeasurement]:
    """Measure the face in one live frame, tracked from the stream's last frame when possible."""
    tracked = stream is not None and capacity > 0  # 0: tracking turned off, none lent
    engine = _stream_trackers.engine_for(stream, capacity=capacity) if tracked else None
    if engine is not None:
        faces = engine.measure(rgb)
        if faces:
            return faces
    # No stream, no engine free, or the tracker found nobody: the still engine searches the
    # whole frame, small faces included (the tracker detects afresh on the stream's next frame).
    return get_live_engine().measure(rgb)
