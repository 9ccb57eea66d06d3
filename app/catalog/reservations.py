"""Numbered-piece locking, next to the pieces it locks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select

from app.catalog.models import EditionRun, Piece, piece_is_free
from app.domain.clock import utcnow
from app.extensions import db


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _lock_pieces(piece_ids: Iterable[int]) -> dict[int, Piece]:
    ids = sorted(set(piece_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(Piece)
        .where(Piece.id.in_(ids))
        .order_by(Piece.id)
        .with_for_update(of=Piece)
        .execution_options(populate_existing=True)
    ).scalars()
    return {piece.id: piece for piece in rows}


def free_piece_count(*, product_id: int, metal_id: int, now: datetime | None = None) -> int:
    """How many numbered pieces of this product in this metal can still be sold."""
    return db.session.execute(
        select(func.count(Piece.id))
        .join(EditionRun, EditionRun.id == Piece.run_id)
        .where(
            EditionRun.product_id == product_id,
            EditionRun.metal_id == metal_id,
            piece_is_free(now or utcnow()),
        )
    ).scalar_one()
