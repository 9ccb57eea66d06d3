"""Periodic work that is safe to start on every host: one run at a time, the others skip.

Each feature names its periodic jobs (``ScheduledJob``) beside its CLI commands; the factory
registers them all. ``flask run-scheduled`` runs each once (for cron), ``flask scheduler``
loops and runs each every ``every_seconds``. Every run holds a PostgreSQL advisory lock named
after its job (``try_name_lock``): a second host starting the same job meanwhile skips it and
says so. The jobs themselves stay idempotent (claims, conditional updates), so a run that
follows another merely finds nothing to do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from flask import Flask, current_app

from app.common.locks import try_name_lock
from app.domain.clock import utcnow
from app.extensions import db

log = logging.getLogger(__name__)

_JOBS = "diadem.scheduled_jobs"


class JobFunction(Protocol):
    """Does the work in its own transactions; returns what it did, for the log."""

    def __call__(self, *, now: datetime) -> str: ...


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    every_seconds: int
    run: JobFunction


@dataclass(frozen=True)
class JobRun:
    name: str
    ran: bool
    summary: str

    def line(self) -> str:
        return f"{self.name}: {self.summary}"


def register(app: Flask, jobs: Iterable[ScheduledJob]) -> None:
    registered: dict[str, ScheduledJob] = app.extensions.setdefault(_JOBS, {})
    for job in jobs:
        registered[job.name] = job


def registered_jobs() -> list[ScheduledJob]:
    return list(current_app.extensions.get(_JOBS, {}).values())


def run_job(job: ScheduledJob, *, now: datetime | None = None) -> JobRun:
    """Run ``job`` unless another process is running it now; say which."""
    with try_name_lock(f"scheduled-job:{job.name}") as got:
        if not got:
            run = JobRun(job.name, False, "skipped, another host is running it")
        else:
            run = JobRun(job.name, True, job.run(now=now or utcnow()))
    log.info("%s", run.line())
    return run


def run_jobs(jobs: Sequence[ScheduledJob], *, now: datetime | None = None) -> list[JobRun]:
    """Run each job once; one job's error is logged and does not stop the others."""
    runs = []
    for job in jobs:
        try:
            runs.append(run_job(job, now=now))
        except Exception as exc:
            log.exception("Scheduled job %s failed", job.name)
            runs.append(JobRun(job.name, False, f"failed: {type(exc).__name__}: {exc}"))
        finally:
            db.session.remove()
    return runs


def loop(
    jobs: Sequence[ScheduledJob],
    *,
    tick_seconds: float,
    report: Callable[[JobRun], object],
    max_ticks: int | None = None,
) -> None:
    """Run each job when its period has passed on this host, checking every ``tick_seconds``."""
    last_started: dict[str, float] = {}
    ticks = 0
    while max_ticks is None or ticks < max_ticks:
        started = time.monotonic()
        due = [
            job
            for job in jobs
            if started - last_started.get(job.name, float("-inf")) >= job.every_seconds
        ]
        for job in due:
            last_started[job.name] = started
        for run in run_jobs(due):
            report(run)
        ticks += 1
        if max_ticks is None or ticks < max_ticks:
            time.sleep(max(0.0, tick_seconds - (time.monotonic() - started)))
