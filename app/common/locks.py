"""Row locks: ``SELECT ... FOR UPDATE`` on PostgreSQL (SQLite serialises writers instead).

Take locks in one order everywhere (see each feature's docstring) so paths cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable
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
