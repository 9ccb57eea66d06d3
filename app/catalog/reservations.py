"""Numbered pieces: counting the free ones, claiming one, locking the ones an order holds.

A piece changes status only while its row is locked: PostgreSQL takes the lowest free piece
with ``SELECT ... FOR UPDATE SKIP LOCKED`` (concurrent buyers get different rows, nobody
waits); SQLite, which has no row locks, claims it with a compare-and-set ``UPDATE ... WHERE
<still free>`` (writers are serialised by the database lock).

A closed batch (``EditionRun.closed_at``) sells nothing more: its free pieces were withheld
when it closed (catalog.batches), and a piece of it that comes free later (a lapsed or released
reservation) is never claimed again.

Lock order (shared with checkout): *order row, then piece rows (by id), then order lines*.
These functions lock only piece rows; the caller has locked the order row first, and the
order lines pointing at a piece are checkout's business.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update

from app.catalog.models import EditionRun, Piece, PieceStatus, piece_is_free
from app.common import caching
from app.common.locks import lock_rows
from app.domain.clock import utcnow
from app.extensions import db


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def lock_pieces(piece_ids: Iterable[int]) -> dict[int, Piece]:
    """Lock these pieces in id order and return them by id."""
    return lock_rows(Piece, piece_ids)


def put_back(piece: Piece) -> str:
    """A locked piece comes free again (a released hold, a refund, a return that passed):
    available in an open batch, withheld in a closed one (which sells nothing more). Returns
    the status it now has."""
    closed = db.session.execute(
        select(EditionRun.closed_at).where(EditionRun.id == piece.run_id)
    ).scalar_one()
    piece.status = (PieceStatus.WITHHELD if closed else PieceStatus.AVAILABLE).value
    piece.reserved_until = None
    return piece.status


def free_piece_count(*, product_id: int, metal_id: int, now: datetime | None = None) -> int:
    """How many numbered pieces of this product in this metal can still be sold."""
    return db.session.execute(
        select(func.count(Piece.id))
        .join(EditionRun, EditionRun.id == Piece.run_id)
        .where(
            EditionRun.product_id == product_id,
            EditionRun.metal_id == metal_id,
            EditionRun.closed_at.is_(None),
            piece_is_free(now or utcnow()),
        )
    ).scalar_one()


def claim_free_piece(
    *, product_id: int, metal_id: int, now: datetime, until: datetime
) -> Piece | None:
    """Reserve the lowest free piece of this product in this metal until ``until``, or None."""
    candidates = (
        select(Piece)
        .join(EditionRun, EditionRun.id == Piece.run_id)
        .where(
            EditionRun.product_id == product_id,
            EditionRun.metal_id == metal_id,
            EditionRun.closed_at.is_(None),
            piece_is_free(now),
        )
        .order_by(EditionRun.id, Piece.number)
        .limit(1)
    )
    piece: Piece | None = None
    if _is_postgres():
        # Concurrent buyers skip each other's locked rows instead of queueing behind them,
        # so each gets a different piece (or none) at once.
        piece = db.session.execute(
            candidates.with_for_update(skip_locked=True, of=Piece).execution_options(
                populate_existing=True
            )
        ).scalar_one_or_none()
    else:
        # SQLite has no row locks: claim the row only if it is still free (compare-and-set);
        # the database's write lock serialises claimants, a loser simply tries the next one.
        # The run may have closed since the candidate was read (its lapsed holds stay free).
        open_runs = select(EditionRun.id).where(EditionRun.closed_at.is_(None))
        for _ in range(25):
            candidate = db.session.execute(candidates.with_only_columns(Piece.id)).scalar()
            if candidate is None:
                return None
            claimed = db.session.execute(
                update(Piece)
                .where(Piece.id == candidate, piece_is_free(now), Piece.run_id.in_(open_runs))
                .values(status=PieceStatus.RESERVED.value, reserved_until=until)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount == 1:
                piece = db.session.get(Piece, candidate, populate_existing=True)
                break
    if piece is None:
        return None
    piece.status = PieceStatus.RESERVED.value
    piece.reserved_until = until
    caching.catalogue_changed()  # one number fewer is free: pages showing it are out of date
    return piece
