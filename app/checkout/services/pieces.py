"""Numbered pieces on order lines: reserve, release, and secure them when payment arrives.

Locks follow the checkout order: the caller holds the order row, then pieces are locked by
id (``app.catalog.reservations``), then the order lines are refreshed or updated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import update

from app.catalog import reservations
from app.catalog.models import Piece, PieceStatus
from app.checkout.models import Order, OrderLine
from app.checkout.services.errors import SoldOut
from app.checkout.services.records import _event, _refresh_lines
from app.checkout.services.settings import setting
from app.common import caching
from app.domain.editions import format_piece_number
from app.extensions import db


def _reserve_piece(
    *, product_id: int, metal_id: int, now: datetime, until: datetime
) -> Piece | None:
    """Reserve the lowest free numbered piece of this product in this metal, or return None."""
    piece = reservations.claim_free_piece(
        product_id=product_id, metal_id=metal_id, now=now, until=until
    )
    if piece is not None:
        _end_lapsed_holds(piece.id, now)
    return piece


def _end_lapsed_holds(piece_id: int, now: datetime) -> None:
    # A lapsed reservation may still sit on an unpaid order's line: end it, so the
    # one-live-line-per-piece index admits the new line. That order is expired lazily.
    db.session.execute(
        update(OrderLine)
        .where(OrderLine.piece_id == piece_id, OrderLine.piece_released_at.is_(None))
        .values(piece_released_at=now)
        .execution_options(synchronize_session="fetch")
    )


def _release_pieces(order: Order, now: datetime, *, restock_sold: bool = False) -> list[str]:
    """End the order's hold on its pieces (order row already locked); return their labels."""
    holding = [line for line in order.lines if line.is_holding_piece]
    pieces = reservations.lock_pieces(line.piece_id for line in holding)
    _refresh_lines(order)  # another buyer may have taken a lapsed piece meanwhile
    released = []
    for line in order.lines:
        if not line.is_holding_piece:
            continue
        piece = pieces[line.piece_id]
        if piece.status == PieceStatus.RESERVED.value or (
            restock_sold and piece.status == PieceStatus.SOLD.value
        ):
            reservations.put_back(piece)
        line.piece_released_at = now
        released.append(line.piece_label)
    if released:
        caching.catalogue_changed()  # the pieces are free again on every server's pages
    return released


def _hold_until(order: Order, now: datetime) -> datetime:
    """How long the order may hold its pieces from now, by payment method and confirmation.

    A guest's bank-transfer order is held only briefly until its address is confirmed: an
    anonymous visitor must not hold numbered pieces for days on an address they may not own.
    """
    if order.payment_method == "manual":
        if order.email_confirmed_at is None:
            return now + timedelta(minutes=int(setting("GUEST_UNCONFIRMED_HOLD_MINUTES")))
        return now + timedelta(hours=int(setting("MANUAL_PAYMENT_HOLD_HOURS")))
    return now + timedelta(minutes=int(setting("CHECKOUT_HOLD_MINUTES")))


def _extend_hold(order: Order, until: datetime) -> None:
    """Hold the order's reserved pieces until ``until`` (order row already locked)."""
    holding = [line for line in order.lines if line.is_holding_piece]
    pieces = reservations.lock_pieces(line.piece_id for line in holding)
    for piece in pieces.values():
        if piece.status == PieceStatus.RESERVED.value:
            piece.reserved_until = until
    order.reserved_until = until


def _reserve_lines(order: Order, now: datetime) -> None:
    """Reserve a piece for every studio line that holds none; SoldOut if any run is out."""
    until = order.reserved_until or _hold_until(order, now)
    for line in order.lines:
        if line.is_custom or line.is_holding_piece:
            continue
        piece = _reserve_piece(
            product_id=line.product_id, metal_id=line.metal_id, now=now, until=until
        )
        if piece is None:
            raise SoldOut(
                f"Sorry — {line.product_name} in {line.metal_name} has just sold out; "
                "the last numbered pieces went to other buyers."
            )
        line.piece_id = piece.id
        line.piece = piece
        line.piece_released_at = None
        line.piece_label = format_piece_number(piece.number, piece.edition_size)
    order.reserved_until = until if any(not line.is_custom for line in order.lines) else None


def _secure_pieces(order: Order, now: datetime) -> bool:
    """Turn the order's pieces sold (order row locked); False if a piece could not be had.

    Normally each studio line still holds its reserved piece. If payment arrived after the
    reservation lapsed, the same piece is taken back when still free, else another free piece
    of the same edition; only if the edition has none left does this return False.
    """
    studio = [line for line in order.lines if not line.is_custom]
    pieces = reservations.lock_pieces(line.piece_id for line in studio if line.piece_id)
    _refresh_lines(order)
    for line in studio:
        piece = pieces.get(line.piece_id) if line.piece_id else None
        if line.is_holding_piece and piece is not None:
            continue
        if piece is not None and piece.status in (
            PieceStatus.AVAILABLE.value,
            PieceStatus.RESERVED.value,
        ):
            lapsed = piece.status == PieceStatus.AVAILABLE.value or (
                piece.reserved_until is not None and piece.reserved_until < now
            )
            if lapsed:
                _end_lapsed_holds(piece.id, now)
                line.piece_released_at = None
                continue
        replacement = _reserve_piece(
            product_id=line.product_id, metal_id=line.metal_id, now=now, until=now
        )
        if replacement is None:
            return False
        _event(
            order,
            "piece_reassigned",
            f"{line.product_name}: piece {line.piece_label or '—'} was gone; "
            f"assigned {format_piece_number(replacement.number, replacement.edition_size)}",
        )
        line.piece_id = replacement.id
        line.piece = replacement
        line.piece_released_at = None
        line.piece_label = format_piece_number(replacement.number, replacement.edition_size)
        pieces[replacement.id] = replacement
    db.session.flush()
    for line in studio:
        piece = db.session.get(Piece, line.piece_id)
        piece.status = PieceStatus.SOLD.value
        piece.reserved_until = None
    if studio:
        caching.catalogue_changed()
    return True


def take_back_pieces(*, lines: Sequence[OrderLine], restock: bool, now: datetime) -> int:
    """Returned pieces leave their buyer's lines; return how many numbered pieces moved.

    After a passed return inspection (``restock``) each piece goes back into its edition
    (withheld there if the batch has closed); after a failed one it is withheld from sale.
    Either way the line lets go of the number, so the edition can sell it again when it is
    available. The caller holds its own row (the return); pieces are locked here by id, then
    the lines are updated, the checkout lock order.
    """
    holding = [line for line in lines if line.piece_id is not None]
    pieces = reservations.lock_pieces(line.piece_id for line in holding)
    for line in holding:
        piece = pieces[line.piece_id]
        if restock:
            reservations.put_back(piece)
        else:
            piece.status, piece.reserved_until = PieceStatus.WITHHELD.value, None
        line.piece_released_at = now
    if holding:
        caching.catalogue_changed()  # the number is for sale again (or no longer shown as sold)
    return len(holding)
