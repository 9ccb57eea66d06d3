"""Mail through RQ: queued after the commit, delivered by a real worker (Redis database 5)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from flask import Flask
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from app.common import jobs
from app.common.mail import deliver_outbox, read_outbox, send_mail_after_commit
from app.common.outbox import OutboxMessage
from app.common.transactions import atomic
from app.extensions import db

REDIS_TEST_URL = "redis://127.0.0.1:6379/5"  # the tests' own database: others use the rest


@pytest.fixture
def redis_app(app: Flask) -> Iterator[Flask]:
    connection = Redis.from_url(REDIS_TEST_URL)
    try:
        connection.ping()
    except RedisConnectionError:
        pytest.skip("needs Redis on 127.0.0.1:6379")
    connection.flushdb()  # database 5 only
    app.config["REDIS_URL"] = REDIS_TEST_URL
    yield app
    connection.flushdb()
    connection.close()


def _queue_mail(app: Flask, to: str = "a@example.com") -> None:
    with app.test_request_context(headers={"X-Request-ID": "req-42"}), atomic():
        send_mail_after_commit(
            to=to, subject="Reset", template="password_reset", link="l", user=None, minutes=5
        )


def _statuses(app: Flask) -> list[tuple[str, int]]:
    with app.app_context():
        rows = db.session.execute(db.select(OutboxMessage).order_by(OutboxMessage.id)).scalars()
        return [(m.status, m.attempts) for m in rows]


def test_a_worker_delivers_mail_queued_after_commit(redis_app):
    outbox = redis_app.config["MAIL_OUTBOX_DIR"]
    _queue_mail(redis_app)
    _queue_mail(redis_app, to="b@example.com")
    # Committed and enqueued, not sent: that is the worker's job now.
    assert read_outbox(outbox) == []
    assert _statuses(redis_app) == [("queued", 0), ("queued", 0)]
    queued = jobs.queue(redis_app)
    assert queued is not None and queued.count == 2
    assert queued.jobs[0].meta["request_id"] == "req-42"

    # No app context here: the worker makes its own for each job.
    worker = jobs.make_worker(redis_app, connection=Redis.from_url(REDIS_TEST_URL))
    assert worker.work(burst=True)
    assert sorted(m["To"] for m in read_outbox(outbox)) == ["a@example.com", "b@example.com"]
    assert _statuses(redis_app) == [("sent", 1), ("sent", 1)]
    assert queued.count == 0 and queued.failed_job_registry.count == 0


def test_the_worker_sweeps_due_retries_between_jobs(redis_app, monkeypatch):
    redis_app.config["OUTBOX_RETRY_SECONDS"] = 0
    monkeypatch.setattr("app.common.mail.transmit", lambda message: 1 / 0)
    _queue_mail(redis_app)
    worker = jobs.make_worker(redis_app, connection=Redis.from_url(REDIS_TEST_URL))
    worker.work(burst=True)  # the job runs, the send fails
    assert _statuses(redis_app) == [("retrying", 1)]
    monkeypatch.undo()
    # No job is queued for the retry: the worker's periodic sweep sends it.
    sweeping = jobs.make_worker(
        redis_app, connection=Redis.from_url(REDIS_TEST_URL), maintenance=deliver_outbox
    )
    sweeping.work(burst=True)
    assert _statuses(redis_app) == [("sent", 2)]
    assert len(read_outbox(redis_app.config["MAIL_OUTBOX_DIR"])) == 1


def test_with_redis_down_the_change_stands_and_the_sweep_sends_later(app):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{port}/5"
    _queue_mail(app)  # committing works; enqueueing fails and is logged
    assert _statuses(app) == [("queued", 0)]
    with app.app_context():
        assert deliver_outbox().sent == 1
    assert len(read_outbox(app.config["MAIL_OUTBOX_DIR"])) == 1
