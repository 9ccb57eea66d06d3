"""Row locks: ``SELECT ... FOR UPDATE`` on PostgreSQL (SQLite serialises writers instead).

Take locks in one order everywhere (see each feature's docstring) so paths cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

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
