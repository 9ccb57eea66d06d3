"""Database connections are checked before use only when they have sat idle.

SQLAlchemy's ``pool_pre_ping`` checks every connection as it leaves the pool: one more round
trip to PostgreSQL on every request, which on a busy server is a fifth of a signed-in page's
database work. What the check is for is a connection that went stale while it waited in the
pool: the server restarted, or a proxy or firewall dropped it after some idle minutes. A
connection put back less than ``DATABASE_PING_AFTER_IDLE_SECONDS`` ago (default 1 s) is used as
it is; an older one is checked first and, if dead, replaced before the request sees it. A server
that goes away within that second fails the requests that were using it either way.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

_PUT_BACK_AT = "diadem_put_back_at"


def init_app(app: Flask, engines: list[Engine]) -> None:
    """Check each engine's connections on the way out of the pool once they have been idle."""
    idle = float(app.config.get("DATABASE_PING_AFTER_IDLE_SECONDS", 1.0))
    for engine in engines:
        _install(engine, idle)


def _install(engine: Engine, idle_seconds: float) -> None:
    dialect = engine.dialect

    def put_back(dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_PUT_BACK_AT] = time.monotonic()

    def taken(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        put_back_at = record.info.get(_PUT_BACK_AT)
        if put_back_at is None or time.monotonic() - put_back_at < idle_seconds:
            return  # new, or used a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            # The pool throws this connection away and takes (or opens) another.
            raise exc.DisconnectionError("connection went stale while idle") from error

    event.listen(engine, "checkin", put_back)
    event.listen(engine, "checkout", taken)
