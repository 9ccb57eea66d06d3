"""Readiness: can this process serve requests (database, Redis, file storage)?

Each check is cheap and bounded; an error is reported by its class name only, so the public
answer names what is down without showing hosts or credentials (the log has the detail).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import text

from app.common import jobs
from app.extensions import db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = "ok"


def _run(name: str, probe: Callable[[], object]) -> Check:
    try:
        probe()
    except Exception as exc:  # anything a dependency raises means "not ready"
        log.warning("Readiness check %s failed: %s", name, exc)
        return Check(name, False, type(exc).__name__)
    return Check(name, True)


def _database() -> None:
    try:
        db.session.execute(text("SELECT 1")).scalar_one()
    finally:
        db.session.rollback()


def _redis() -> None:
    connection = jobs.redis_connection()
    assert connection is not None
    connection.ping()


def _storage_probe() -> Callable[[], object] | None:
    """The file storage's own cheap check (app.common.storage), if the app has a storage."""
    probe = getattr(current_app.extensions.get("diadem.storage"), "check", None)
    return probe if callable(probe) else None


def readiness() -> list[Check]:
    """Check the database always, Redis when configured, storage when the app has one."""
    checks = [_run("database", _database)]
    if current_app.config.get("REDIS_URL"):
        checks.append(_run("redis", _redis))
    storage = _storage_probe()
    if storage is not None:
        checks.append(_run("storage", storage))
    return checks
