"""Connections are checked on the way out of the pool only after sitting idle, and a stale one
is replaced before a request uses it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app.common import db_pool
from app.extensions import db
from tests.conftest import POSTGRES_URL


@pytest.fixture
def pings(app: Flask, monkeypatch) -> list[object]:
    """Each ping the pool makes, and a clock the test moves."""
    seen: list[object] = []
    with app.app_context():
        dialect = db.engine.dialect
        real_ping = dialect.do_ping
        monkeypatch.setattr(dialect, "do_ping", lambda conn: seen.append(conn) or real_ping(conn))
    return seen


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    now = [1_000.0]
    monkeypatch.setattr(db_pool, "time", SimpleNamespace(monotonic=lambda: now[0]))
    return now


def _query(app: Flask) -> int:
    with app.app_context():
        try:
            return db.session.execute(text("SELECT 1")).scalar_one()
        finally:
            db.session.remove()  # puts the connection back, as a request's end does


def test_a_connection_used_a_moment_ago_is_not_pinged(app, pings, clock):
    _query(app)  # a new connection: never pinged
    for _ in range(3):
        clock[0] += 0.2
        _query(app)
    assert pings == []
    clock[0] += 5  # idle for longer than a second: checked once
    _query(app)
    _query(app)
    assert len(pings) == 1


@pytest.mark.skipif(not POSTGRES_URL, reason="needs DIADEM_TEST_DATABASE_URL (PostgreSQL)")
def test_a_connection_killed_while_idle_is_replaced_before_use(app, clock):
    with app.app_context():
        victim = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        db.session.remove()
    # Another backend ends the pooled one, as a server restart or a proxy would.
    admin = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    with admin.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim})
    admin.dispose()
    clock[0] += 60

    assert _query(app) == 1

    with app.app_context():
        assert db.session.execute(text("SELECT pg_backend_pid()")).scalar_one() != victim
        db.session.remove()
