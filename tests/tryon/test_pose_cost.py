"""What one live frame costs besides finding the face: one rate-limit check in the limiter's
storage, no database session, no session cookie written."""

from __future__ import annotations

from collections import Counter

import pytest
from flask import Flask
from sqlalchemy import event

from app.extensions import db, limiter
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


def test_a_pose_request_writes_no_cookie_and_asks_the_database_nothing(
    tryon_app: Flask, tryon_client
):
    frame = astronaut_jpeg(320)
    assert _pose(tryon_client, frame).status_code == 200  # the piece is now in the cache
    statements: list[str] = []
    with tryon_app.app_context():
        engine = db.engine

    def listener(connection, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        response = _pose(tryon_client, frame)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert response.status_code == 200
    assert statements == []
    assert "Set-Cookie" not in response.headers
