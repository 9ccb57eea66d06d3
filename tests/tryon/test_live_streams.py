"""A live camera stream is tracked from frame to frame (MediaPipe's video mode), a few streams
per process; the rest, and frames where tracking finds nobody, are measured in still mode."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import ar
from app.tryon import engines
from tests.tryon.helpers import astronaut, coffee, encode, resized

POSE = "/tryon/api/pose"
STREAM = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def trackers(monkeypatch: pytest.MonkeyPatch, clock: Clock):
    """This test's own trackers (the process's are left alone), closed afterwards."""
    fresh = engines.StreamTrackers(clock=clock)
    monkeypatch.setattr(engines, "_stream_trackers", fresh)
    yield fresh
    fresh.close()


def swaying_frames(count: int = 6) -> list[np.ndarray]:
    """320 px frames of one face turning a few degrees, as a webcam sees a person settle."""
    base = resized(astronaut(), 320)
    frames = []
    for i in range(count):
        matrix = cv2.getRotationMatrix2D((160, 160), 4 * np.sin(i / 2), 1.0)
        matrix[0, 2] += 6 * np.sin(i / 3)
        frames.append(cv2.warpAffine(base, matrix, (320, 320), borderMode=cv2.BORDER_REPLICATE))
    return frames


def small_face_frame() -> np.ndarray:
    """A 640x480 frame whose face (about 60 px) is too small for the mesh's own detector."""
    frame = np.full((480, 640, 3), 96, np.uint8)
    frame[100:430, 250:580] = cv2.resize(astronaut(), (330, 330), interpolation=cv2.INTER_AREA)
    return frame


def test_a_streams_frames_are_tracked_by_one_video_engine(trackers):
    first = trackers.engine_for("a", capacity=2)
    assert first is not None and first.mode == "video"
    assert trackers.engine_for("a", capacity=2) is first
    second = trackers.engine_for("b", capacity=2)
    assert second is not None and second is not first
    assert trackers.streams() == ["a", "b"]


def test_streams_beyond_the_capacity_wait_for_an_idle_engine(trackers, clock):
    held = trackers.engine_for("a", capacity=1)
    clock.now += engines.STREAM_IDLE_SECONDS - 0.1
    assert trackers.engine_for("b", capacity=1) is None  # "a" is still sending frames
    assert trackers.engine_for("a", capacity=1) is held
    clock.now += engines.STREAM_IDLE_SECONDS
    # "a" went quiet: its engine is lent to "b".
    assert trackers.engine_for("b", capacity=1) is held
    assert trackers.streams() == ["b"]


def _face_at(left: int) -> np.ndarray:
    """A 640x480 frame with one head (a 280 px square) whose left edge is at ``left``."""
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[100:380, left : left + 280] = cv2.resize(astronaut()[0:300, 90:390], (280, 280))
    return frame


def test_a_lent_engine_finds_the_new_streams_face_where_it_is(trackers, clock):
    # The engine still holds where "a"'s face was (the left); "b"'s face is on the right.
    engine = trackers.engine_for("a", capacity=1)
    for _ in range(3):
        (face,) = engine.measure(_face_at(20))  # tracked by the engine itself
    assert face.bbox[0] < 200
    clock.now += engines.STREAM_IDLE_SECONDS + 1
    for _ in range(2):
        (face,) = engines.measure_live_frame(_face_at(350), stream="b", capacity=1)
        assert face.bbox[0] > 400 and face.bbox[0] + face.bbox[2] < 640
    assert trackers.streams() == ["b"]


def test_tracked_faces_agree_with_still_mode(trackers):
    still = engines.get_live_engine()
    for frame in swaying_frames():
        (tracked,) = engines.measure_live_frame(frame, stream="s", capacity=1)
        (searched,) = still.measure(frame)
        assert np.abs(tracked.landmarks[:, :2] - searched.landmarks[:, :2]).max() < 4.0
        assert tracked.head_circumference_mm == pytest.approx(
            searched.head_circumference_mm, rel=0.02
        )
        assert tracked.roll_deg == pytest.approx(searched.roll_deg, abs=1.5)
    assert trackers.streams() == ["s"]


def test_a_stream_that_loses_the_face_still_finds_a_small_one(trackers):
    # The tracker runs the mesh alone; frames where it finds nobody are searched in still mode,
    # whose full-range detector finds faces too small for the mesh's own.
    assert len(engines.measure_live_frame(swaying_frames(1)[0], stream="s")) == 1
    assert engines.measure_live_frame(resized(coffee(), 320), stream="s") == []
    (small,) = engines.measure_live_frame(small_face_frame(), stream="s")
    x, y, width, height = small.bbox
    assert x >= 250 and x + width <= 580 and height < 120


def test_a_forked_worker_builds_its_own_trackers(trackers, monkeypatch):
    parent = trackers.engine_for("a", capacity=2)
    monkeypatch.setattr(engines.os, "getpid", lambda: -1)
    child = trackers.engine_for("a", capacity=2)
    assert child is not None and child is not parent
    parent.close()


# --- through the pose endpoint ----------------------------------------------------------------


def _pose(client, frame: bytes, address: str = "127.0.0.1", **query):
    return client.post(
        POSE,
        query_string={"product": "test-crown", **query},
        data=frame,
        content_type="image/jpeg",
        environ_overrides={"REMOTE_ADDR": address},
    )


def test_each_clients_stream_is_tracked_apart(tryon_client, trackers):
    frame = encode(swaying_frames(1)[0])
    for address in ("127.0.0.1", "10.0.0.9", "127.0.0.1"):
        response = _pose(tryon_client, frame, address, stream=STREAM)
        assert response.status_code == 200
        assert len(response.get_json()["faces"]) == 1
    # The same id from another client is another stream: it never steers this one's tracker.
    assert sorted(trackers.streams()) == [f"10.0.0.9 {STREAM}", f"127.0.0.1 {STREAM}"]


def test_frames_without_a_stream_are_measured_in_still_mode(tryon_client, trackers):
    response = _pose(tryon_client, encode(swaying_frames(1)[0]))
    assert len(response.get_json()["faces"]) == 1
    assert trackers.streams() == []


def test_tracking_can_be_turned_off(tryon_app, tryon_client, trackers, clock):
    frame = encode(swaying_frames(1)[0])
    assert _pose(tryon_client, frame, stream="e" * 32).status_code == 200  # one engine built
    clock.now += engines.STREAM_IDLE_SECONDS + 1  # and idle, free to lend
    tryon_app.config["TRYON_TRACKED_STREAMS"] = 0
    response = _pose(tryon_client, frame, stream=STREAM)
    assert len(response.get_json()["faces"]) == 1
    assert trackers.streams() == [f"127.0.0.1 {'e' * 32}"]  # nothing lent to the new stream


@pytest.mark.parametrize("stream", ["short", "x" * 65, "not/allowed/" * 2, "é" * 20, ""])
def test_a_malformed_stream_id_is_refused(tryon_client, trackers, stream):
    response = _pose(tryon_client, encode(swaying_frames(1)[0]), stream=stream)
    assert response.status_code == 400
    assert "stream id must be 16 to 64" in response.get_json()["error"]
    assert trackers.streams() == []


def test_the_engine_module_is_the_only_builder_of_tracking_engines():
    # Tracking engines find the one face at the camera, with the mesh alone.
    engine = ar.create_engine("video", max_faces=engines.LIVE_MAX_FACES, small_faces=False)
    try:
        assert engine.settings.max_faces == 1 and not engine.settings.small_faces
    finally:
        engine.close()
