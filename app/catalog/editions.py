"""Releasing an edition run: the run and every numbered piece of it, in one place.

The demo seed, the catalogue import and staff opening a batch (catalog.batches) all release
editions through here, so a run always starts with pieces 1..size, each available, tied to the
run's size by the composite key.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import delete, func, select

from app.catalog.models import EditionRun, Metal, Piece, PieceStatus, Product
from app.domain.editions import piece_numbers
from app.extensions import db


def release_edition(
    *,
    product: Product,
    metal: Metal,
    batch_code: str,
    size: int,
    released_on: date | None,
    sourcing_statement: str = "",
) -> EditionRun:
    """Add an edition run and its available pieces numbered 1..size; caller commits."""
    numbers = piece_numbers(size)  # refuses a size outside the rules before anything is added
    edition = EditionRun(
        product=product,
        metal=metal,
        batch_code=batch_code,
        size=size,
        released_on=released_on,
        sourcing_statement=sourcing_statement,
    )
    db.session.add(edition)
    db.session.flush()
    _add_pieces(edition, numbers)
    return edition


def pieces_not_available(*, run_id: int) -> int:
    """How many pieces of a run are reserved, sold or withheld."""
    return db.session.execute(
        select(func.count())
        .select_from(Piece)
        .where(Piece.run_id == run_id, Piece.status != PieceStatus.AVAILABLE.value)
    ).scalar_one()


def lock_pieces_not_available(*, run_id: int) -> int:
    """Lock a run's pieces (so none is reserved meanwhile) and count those not available."""
    statuses = db.session.execute(
        select(Piece.status).where(Piece.run_id == run_id).order_by(Piece.id).with_for_update()
    ).scalars()
    return sum(1 for status in statuses if status != PieceStatus.AVAILABLE.value)


def pieces_referenced(*, run_id: int) -> bool:
    """Whether any other row (an order line, a passport) points at a piece of this run.

    Asked of the schema rather than of the features above catalog, which it may not import.
    """
    piece_ids = select(Piece.id).where(Piece.run_id == run_id)
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == Piece.__tablename__ and table.name != Piece.__tablename__:
                found = db.session.execute(
                    select(fk.parent).where(fk.parent.in_(piece_ids)).limit(1)
                ).first()
                if found is not None:
                    return True
    return False


def resize_edition(*, edition: EditionRun, size: int) -> None:
    """Renumber an untouched run to a new size (its pieces are replaced); caller checks it may."""
    numbers = piece_numbers(size)
    # A piece's (run, size) references the run's (id, size), so the pieces go before the size.
    db.session.execute(delete(Piece).where(Piece.run_id == edition.id))
    db.session.expire(edition, ["pieces"])
    edition.size = size
    db.session.flush()
    _add_pieces(edition, numbers)


def _add_pieces(edition: EditionRun, numbers: Iterable[int]) -> None:
    """Add the run's available pieces with these numbers (the run has its id and size)."""
    for number in numbers:
        db.session.add(
            Piece(
                run_id=edition.id,
                number=number,
                edition_size=edition.size,
                status=PieceStatus.AVAILABLE.value,
            )
        )
    db.session.flush()
