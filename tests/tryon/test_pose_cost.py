"""What one live frame costs besides finding the face: one rate-limit check in the limiter's
storage, no database session, no session cookie written."""

from __future__ import annotations

from collections import Counter

import pytest
from flask import Flask

from app.extensions import limiter
from tests.helpers import recorded_statements
from tests.tryon.helpers import astronaut_jpeg

POSE = "/tryon/api/pose"


@pytest.fixture
def limit_checks(tryon_app: Flask, monkeypatch):
    """Count what the rate limiter asks of its storage (each is a round trip to Redis)."""
    calls: Counter[str] = Counter()
    strategy = limiter.limiter
    for name in ("hit", "test", "get_window_stats", "clear"):
        method = getattr(strategy, name)

        def counted(*args, _name=name, _method=method, **kwargs):
            calls[_name] += 1
            return _method(*args, **kwargs)

        monkeypatch.setattr(strategy, name, counted)
    return calls


def _pose(client, frame: bytes):
    return client.post(
        POSE, query_string={"product": "test-crown"}, data=frame, content_type="image/jpeg"
    )


def test_a_pose_request_checks_its_rate_limit_once(tryon_client, limit_checks):
    frame = astronaut_jpeg(320)
    assert _pose(tryon_client, frame).status_code == 200
    limit_checks.clear()
    assert _pose(tryon_client, frame).status_code == 200
    assert limit_checks == {"hit": 1}, limit_checks


def test_flask_limiter_resolves_no_limits_for_a_pose_request(tryon_client, monkeypatch):
    # Its hook and decorator resolved and filtered the limits twice per frame, for one hit.
    resolved = []
    manager = limiter.limit_manager
    original = manager.resolve_limits

    def counted(*args, **kwargs):
        resolved.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(manager, "resolve_limits", counted)
    assert _pose(tryon_client, astronaut_jpeg(320)).status_code == 200
    assert resolved == []


def test_a_client_over_the_pose_limit_is_told_when_to_come_back(tryon_app, tryon_client):
    tryon_app.config["TRYON_POSE_RATE_LIMIT"] = "2 per minute;5 per hour"
    frame = astronaut_jpeg(320)
    assert [_pose(tryon_client, frame).status_code for _ in range(2)] == [200, 200]
    response = _pose(tryon_client, frame)
    assert response.status_code == 429
    assert response.get_json() == {"error": "Too many frames; slowing down."}
    assert response.headers["Cache-Control"] == "no-store"
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    other = tryon_client.post(
        POSE,
        query_string={"product": "test-crown"},
        data=frame,
        content_type="image/jpeg",
        environ_overrides={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert other.status_code == 200  # another client has its own budget


def test_the_pose_limit_is_off_when_rate_limits_are(tryon_app, tryon_client, monkeypatch):
    monkeypatch.setattr(limiter, "enabled", False)
    tryon_app.config["TRYON_POSE_RATE_LIMIT"] = "1 per minute"
    frame = astronaut_jpeg(320)
    assert [_pose(tryon_client, frame).status_code for _ in range(2)] == [200, 200]


def test_a_jpeg_frame_is_checked_from_its_header_without_pillow(tryon_client, monkeypatch):
    from app.tryon import services

    monkeypatch.setattr(services.Image, "open", lambda *a, **k: pytest.fail("opened with Pillow"))
    response = _pose(tryon_client, astronaut_jpeg(320))
    assert response.status_code == 200
    assert response.get_json()["frame"] == {"width": 320, "height": 320}


def test_a_pose_request_writes_no_cookie_and_asks_the_database_nothing(
    tryon_app: Flask, tryon_client
):
    frame = astronaut_jpeg(320)
    assert _pose(tryon_client, frame).status_code == 200  # the piece is now in the cache
    with recorded_statements(tryon_app) as statements:
        response = _pose(tryon_client, frame)
    assert response.status_code == 200
    assert statements == []
    assert "Set-Cookie" not in response.headers


class _CountedTimer:
    """Stands in for threading.Timer in limits' memory storage: counts threads it would start."""

    started = 0

    def __init__(self, interval: float, function) -> None:
        self.function = function

    def start(self) -> None:
        type(self).started += 1

    def is_alive(self) -> bool:
        return False  # as after the 10 ms each real timer lives, at the page's 66 ms pace


def _shop_limit_storage(monkeypatch, tmp_path):
    from limits.storage import storage_from_string

    from app.config import from_environment

    monkeypatch.delenv("REDIS_URL", raising=False)
    return storage_from_string(from_environment(str(tmp_path))["RATELIMIT_STORAGE_URI"])


def test_without_redis_a_rate_limit_hit_starts_no_thread(monkeypatch, tmp_path):
    import limits.storage.memory

    monkeypatch.setattr(limits.storage.memory.threading, "Timer", _CountedTimer)
    storage = _shop_limit_storage(monkeypatch, tmp_path)
    _CountedTimer.started = 0
    for _ in range(15):  # a second of live frames
        storage.incr("pose/client", 1)
    assert storage.get("pose/client") == 15
    assert _CountedTimer.started == 0


def test_without_redis_expired_counters_are_still_dropped(monkeypatch, tmp_path):
    storage = _shop_limit_storage(monkeypatch, tmp_path)
    storage.incr("gone", 1)
    storage.expirations["gone"] = 0.0  # its window ended long ago
    assert storage.get("gone") == 0  # never counted once expired
    storage.incr("old", 1)
    storage.expirations["old"] = 0.0
    storage._next_sweep = 0.0  # the sweep is due: the next hit runs it
    storage.incr("pose/client", 1)
    assert "old" not in storage.storage and "old" not in storage.expirations
    assert storage.get("pose/client") == 1


def test_a_signed_in_buyers_pose_request_loads_no_user_and_writes_no_cookie(
    tryon_app: Flask, tryon_client
):
    from tests.helpers import login, make_user

    make_user(tryon_app)
    assert login(tryon_client).status_code == 302
    frame = astronaut_jpeg(320)
    assert _pose(tryon_client, frame).status_code == 200
    with recorded_statements(tryon_app) as statements:
        response = _pose(tryon_client, frame)
    assert response.status_code == 200
    assert statements == []
    assert "Set-Cookie" not in response.headers


def test_without_redis_the_pose_rate_limit_still_holds(tmp_path):
    from app import create_app
    from tests.conftest import _settings

    settings = _settings("sqlite://", tmp_path)
    settings.update(
        RATELIMIT_STORAGE_URI="sweeping-memory://", TRYON_POSE_RATE_LIMIT="3 per minute"
    )
    client = create_app(settings).test_client()
    statuses = [
        client.post(POSE, data=b"x", content_type="text/plain").status_code for _ in range(4)
    ]
    assert statuses == [415, 415, 415, 429]
