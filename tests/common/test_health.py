"""Liveness, readiness and request ids."""

from __future__ import annotations

import logging
import re
import socket

import pytest
from sqlalchemy.exc import OperationalError

from app.common.request_ids import RequestIdFilter
from app.extensions import db

HEX_ID = re.compile(r"[0-9a-f]{32}")


def test_healthz_only_says_the_process_is_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_checks_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "ok" and response.json["checks"]["database"] == "ok"
    assert "redis" not in response.json["checks"]  # not configured, not checked
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_names_a_database_that_is_down(client, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", down)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["down"] == ["database"]
    assert response.json["checks"]["database"] == "OperationalError"


def test_readyz_checks_redis_when_configured(app, client):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{port}/5"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["down"] == ["redis"]
    assert response.json["checks"]["database"] == "ok"


def test_readyz_with_redis_up(app, client):
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    try:
        Redis.from_url("redis://127.0.0.1:6379/5").ping()
    except RedisConnectionError:
        pytest.skip("needs Redis on 127.0.0.1:6379")
    app.config["REDIS_URL"] = "redis://127.0.0.1:6379/5"
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"]["database"] == response.json["checks"]["redis"] == "ok"


def test_readyz_asks_a_configured_storage_for_its_check(app, client):
    class Unreachable:
        def check(self) -> None:
            raise ConnectionError("bucket unreachable")

    app.extensions["diadem.storage"] = Unreachable()
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["down"] == ["storage"]


def test_every_response_carries_a_request_id(client):
    made = client.get("/healthz").headers["X-Request-ID"]
    assert HEX_ID.fullmatch(made)
    assert client.get("/healthz").headers["X-Request-ID"] != made
    assert client.get("/no-such-page").headers["X-Request-ID"]
    kept = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.9:2"})
    assert kept.headers["X-Request-ID"] == "lb-7f3a.9:2"


@pytest.mark.parametrize("junk", ["two words", "x" * 200, "id\tINFO forged", '"quoted"'])
def test_an_insane_incoming_id_is_replaced(client, junk):
    assert HEX_ID.fullmatch(
        client.get("/healthz", headers={"X-Request-ID": junk}).headers["X-Request-ID"]
    )


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.addFilter(RequestIdFilter())
        self.setFormatter(logging.Formatter("%(request_id)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_log_lines_carry_the_request_id_and_a_dash_outside_requests(app):
    lines = _Lines()
    app.logger.addHandler(lines)

    @app.get("/_logs-something")
    def logs_something():
        app.logger.warning("inside")
        return "ok"

    try:
        client = app.test_client()
        response = client.get("/_logs-something", headers={"X-Request-ID": "trace-1"})
        with app.app_context():
            app.logger.warning("outside")
    finally:
        app.logger.removeHandler(lines)
    assert response.headers["X-Request-ID"] == "trace-1"
    assert lines.lines == ["trace-1 inside", "- outside"]
