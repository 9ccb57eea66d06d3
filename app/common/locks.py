"""Row locks: ``SELECT ... FOR UPDATE`` on PostgreSQL (SQLite serialises writers instead).

Take locks in one order everywhere (see each feature's docstring) so paths cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import text

from app.extensions import db

Row = TypeVar("Row")


def lock_row(model: type[Row], row_id: int) -> Row | None:
    """Lock one row by primary key and return it freshly loaded, or None if it is gone."""
    return db.session.execute(
        db.select(model)
        .where(model.id == row_id)  # type: ignore[attr-defined]
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def lock_rows(model: type[Row], row_ids: Iterable[int]) -> dict[int, Row]:
    """Lock several rows, in id order, and return them by id (missing ids are left out)."""
    ids = sorted(set(row_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        db.select(model)
        .where(model.id.in_(ids))  # type: ignore[attr-defined]
        .order_by(model.id)  # type: ignore[attr-defined]
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalars()
    return {row.id: row for row in rows}  # type: ignore[attr-defined]


def lock_names(*names: str) -> None:
    """Hold transaction-scoped locks on these names until commit or rollback.

    For rules that span rows that may not exist yet ("one buyer holds at most two pieces"):
    PostgreSQL advisory locks keyed on each name's 64-bit hash, taken in sorted order so two
    callers cannot deadlock. SQLite (the embedded development default) admits one writer at a
    time and gets no lock here.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for name in sorted(set(names)):
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name}
        )


@contextmanager
def try_name_lock(name: str) -> Iterator[bool]:
    """Try to hold a lock on ``name`` for the block without waiting; yield whether we got it.

    For work that one host at a time should do (a scheduled job run on several hosts): a
    session-level PostgreSQL advisory lock on a connection of its own, so the block may commit
    as often as it likes, released at the end (or when the connection dies with the process).
    SQLite has a single host and always yields True.
    """
    engine = db.engine
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = {"name": name}
    with engine.connect() as connection:
        got = connection.execute(
            text("SELECT pg_try_advisory_lock(hashtextextended(:name, 0))"), key
        ).scalar_one()
        connection.commit()
        try:
            yield bool(got)
        finally:
            if got:
                try:
                    connection.execute(
                        text("SELECT pg_advisory_unlock(hashtextextended(:name, 0))"), key
                    )
                    connection.commit()
                except Exception:
                    # Never hand a connection still holding the lock back to the pool.
                    connection.invalidate()
                    raise
