"""Background jobs on RQ when REDIS_URL is set; in this process, right away, when it is not.

``run_soon(fn, **kwargs)`` is what an ``on_commit`` callback calls for slow work (delivering
mail, issuing an invoice PDF, making a photo's smaller sizes): with Redis it enqueues ``fn``
for ``flask worker``; without Redis (``make run``, the tests) it calls ``fn`` here and now, so
development needs no extra process. A job must be a
module-level function taking keyword arguments that pickle (ids, not ORM objects) and must not
need a request: the worker runs it in an app context and nothing more.

Whatever a job does must be safe to run twice (Redis may hand a job out again after a worker
dies) and must not be the only record of the work: the database says what is still to do (an
unsent outbox row, a paid order without an invoice file, a picture lacking sizes), and what
a lost job left behind is done later (the outbox sweep, the invoice's download, the next
upload or staff's retry of the photo sizes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job

from app.common import request_ids
from app.extensions import db

log = logging.getLogger(__name__)

QUEUE_NAME = "diadem"
_REDIS = "diadem.redis"


def redis_connection(app: Flask | None = None) -> Redis | None:
    """The app's Redis client (short timeouts: a request never waits long on it), or None."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    if _REDIS not in app.extensions:
        app.extensions[_REDIS] = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    return app.extensions[_REDIS]


def queue(app: Flask | None = None) -> Queue | None:
    connection = redis_connection(app)
    return None if connection is None else Queue(QUEUE_NAME, connection=connection)


def run_soon(fn: Callable[..., object], **kwargs: Any) -> None:
    """Enqueue ``fn(**kwargs)`` on RQ, or run it now without Redis; never raise.

    A failure to enqueue is logged: the work is still recorded in the database and the
    scheduler's sweep will do it.
    """
    jobs = queue()
    if jobs is None:
        try:
            fn(**kwargs)
        except Exception:  # a callback after commit: the committed work stands
            log.exception("In-process job %s failed", fn.__name__)
        return
    try:
        jobs.enqueue(fn, kwargs=kwargs, meta={"request_id": request_ids.current()})
    except Exception:  # Redis down: the sweep delivers later
        log.exception("Could not enqueue %s; the scheduled sweep will pick it up", fn.__name__)


class AppWorker(SimpleWorker):
    """An RQ worker for one app: each job runs in a fresh app context, none forks.

    ``maintenance`` (the outbox sweep) runs between jobs every ``maintenance_interval``
    seconds, so retries leave on time even when no new mail wakes the worker.
    """

    def __init__(
        self,
        *args: Any,
        app: Flask,
        maintenance: Callable[[], object] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.app = app
        self.maintenance = maintenance

    def execute_job(self, job: Job, queue: Queue) -> None:
        request_id = (job.meta or {}).get("request_id") or f"job-{job.id}"
        with request_ids.bound(request_id), self.app.app_context():
            try:
                super().execute_job(job, queue)
            finally:
                db.session.remove()

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        if self.maintenance is None:
            return
        with request_ids.bound("sweep"), self.app.app_context():
            try:
                self.maintenance()
            except Exception:  # the worker keeps serving jobs; the next sweep tries again
                log.exception("Worker maintenance failed")
            finally:
                db.session.remove()


def make_worker(
    app: Flask,
    *,
    maintenance: Callable[[], object] | None = None,
    sweep_seconds: int = 60,
    connection: Redis | None = None,
) -> AppWorker:
    """Build the worker for ``flask worker`` (and the tests): its own blocking connection."""
    url = app.config.get("REDIS_URL")
    if connection is None:
        if not url:
            raise RuntimeError("REDIS_URL is not set: without Redis, jobs run in-process")
        connection = Redis.from_url(url)
    return AppWorker(
        [QUEUE_NAME],
        connection=connection,
        app=app,
        maintenance=maintenance,
        maintenance_interval=sweep_seconds,
        # The idle wait is worker_ttl - 15 s: short enough for the sweep to come round.
        worker_ttl=sweep_seconds + 15,
    )
