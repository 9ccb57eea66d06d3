"""The unit of work: ``atomic()`` owns a transaction, ``on_commit()`` defers side effects.

Services never commit. The entry point (a view, a CLI command, the webhook handler) wraps the
work in ``with atomic():``; the outermost block commits when it leaves cleanly and rolls back
when anything is raised. A nested ``atomic()`` is a savepoint: its failure undoes only its own
work. ``on_commit(fn)`` runs ``fn`` once the outermost block has committed (mail, files, calls
to Stripe) and forgets it if the transaction, or the savepoint it was registered in, is rolled
back; a callback may open its own ``atomic()``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from app.extensions import db

_STACK = "diadem.atomic"  # session.info key: one list of callbacks per open atomic() level


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
    stack: list[list[Callable[[], object]]] = session.info.setdefault(_STACK, [])
    if stack:
        yield from _savepoint(session, stack)
        return
    stack.append([])
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        stack.clear()
        raise
    callbacks = stack.pop()
    stack.clear()
    for callback in callbacks:
        callback()


def _begin_sqlite_if_idle(session: Session) -> None:
    """SQLite's driver opens a transaction before an INSERT, UPDATE or DELETE but not before a
    SAVEPOINT; a savepoint that is the transaction's first write would then be a transaction of
    its own and commit on release, out of reach of the outer rollback. Begin it first."""
    connection = session.connection()
    driver = connection.connection.dbapi_connection
    if isinstance(driver, sqlite3.Connection) and not driver.in_transaction:
        connection.exec_driver_sql("BEGIN")


def _savepoint(session: Session, stack: list[list[Callable[[], object]]]) -> Iterator[Session]:
    _begin_sqlite_if_idle(session)
    stack.append([])
    try:
        with session.begin_nested():
            yield session
    except BaseException:
        stack.pop()
        raise
    callbacks = stack.pop()
    stack[-1].extend(callbacks)


def on_commit(callback: Callable[[], object]) -> None:
    """Run ``callback`` after the enclosing ``atomic()`` commits; drop it on rollback."""
    stack = _session().info.get(_STACK)
    if not stack:
        raise NoTransaction("on_commit() needs an enclosing atomic() block")
    stack[-1].append(callback)
