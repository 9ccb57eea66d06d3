"""The unit of work: ``atomic()`` owns a transaction, ``on_commit()`` defers side effects.

Services never commit. The entry point (a view, a CLI command, the webhook handler) wraps the
work in ``with atomic():``; the outermost block commits when it leaves cleanly and rolls back
when anything is raised. A nested ``atomic()`` is a savepoint: its failure undoes only its own
work. ``on_commit(fn)`` runs ``fn`` once the outermost block has committed (mail, files, calls
to Stripe) and forgets it if the transaction, or the savepoint it was registered in, is rolled
back; a callback may open its own ``atomic()``. ``on_rollback(fn)`` is its mirror for undoing
what the database cannot (a stored file): ``fn`` runs once the transaction, or the savepoint it
was registered in, has rolled back, and is forgotten on commit.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.extensions import db

log = logging.getLogger(__name__)

_STACK = "diadem.atomic"  # session.info key: one _Level per open atomic() level


@dataclass
class _Level:
    commit: list[Callable[[], object]] = field(default_factory=list)
    rollback: list[Callable[[], object]] = field(default_factory=list)


class NoTransaction(RuntimeError):
    """on_commit() was called outside atomic(): nobody would run the callback."""


def _session() -> Session:
    return db.session()


def in_atomic() -> bool:
    """Whether an ``atomic()`` block is open on the current session."""
    return bool(_session().info.get(_STACK))


@contextmanager
def atomic() -> Iterator[Session]:
    """Run the block in one transaction (a savepoint when nested) and yield the session."""
    session = _session()
    stack: list[_Level] = session.info.setdefault(_STACK, [])
    if stack:
        yield from _savepoint(session, stack)
        return
    stack.append(_Level())
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        undo = [callback for level in stack for callback in level.rollback]
        stack.clear()
        _undo(undo)
        raise
    level = stack.pop()
    stack.clear()
    for callback in level.commit:
        callback()


def _begin_sqlite_if_idle(session: Session) -> None:
    """SQLite's driver opens a transaction before an INSERT, UPDATE or DELETE but not before a
    SAVEPOINT; a savepoint that is the transaction's first write would then be a transaction of
    its own and commit on release, out of reach of the outer rollback. Begin it first."""
    connection = session.connection()
    driver = connection.connection.dbapi_connection
    if isinstance(driver, sqlite3.Connection) and not driver.in_transaction:
        connection.exec_driver_sql("BEGIN")


def _savepoint(session: Session, stack: list[_Level]) -> Iterator[Session]:
    _begin_sqlite_if_idle(session)
    stack.append(_Level())
    try:
        with session.begin_nested():
            yield session
    except BaseException:
        _undo(stack.pop().rollback)
        raise
    level = stack.pop()
    stack[-1].commit.extend(level.commit)
    stack[-1].rollback.extend(level.rollback)


def _undo(callbacks: list[Callable[[], object]]) -> None:
    # Newest first; a failing undo is logged, never raised over the error that caused the rollback.
    for callback in reversed(callbacks):
        try:
            callback()
        except Exception:
            log.exception("on_rollback callback %r failed", callback)


def on_commit(callback: Callable[[], object]) -> None:
    """Run ``callback`` after the enclosing ``atomic()`` commits; drop it on rollback."""
    stack = _session().info.get(_STACK)
    if not stack:
        raise NoTransaction("on_commit() needs an enclosing atomic() block")
    stack[-1].commit.append(callback)


def on_rollback(callback: Callable[[], object]) -> None:
    """Run ``callback`` if the enclosing ``atomic()`` or savepoint rolls back; drop it on commit."""
    stack = _session().info.get(_STACK)
    if not stack:
        raise NoTransaction("on_rollback() needs an enclosing atomic() block")
    stack[-1].rollback.append(callback)
