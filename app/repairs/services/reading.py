"""Reading tickets: the owner's, a guest's through its signed link, the staff board."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import selectinload

from app.checkout import payments
from app.checkout import services as checkout
from app.checkout.models import Order, OrderLine
from app.common.links import public_url, sign, unsign
from app.domain import aftersale, production
from app.domain.production import Track, Via
from app.extensions import db
from app.provenance import services as provenance
from app.provenance.models import Passport
from app.repairs.models import (
    GUEST_SOURCE,
    OPEN_STATUSES,
    RepairPhoto,
    RepairTicket,
)
from app.repairs.services.common import (
    TICKET_LINK_SALT,
    NotYourPiece,
    OrderNotVisible,
    TicketNotFound,
)


def get_ticket(ticket_id: int) -> RepairTicket:
    ticket = db.session.execute(
        db.select(RepairTicket)
        .where(RepairTicket.id == ticket_id)
        .options(selectinload(RepairTicket.photos), selectinload(RepairTicket.events))
    ).scalar_one_or_none()
    if ticket is None:
        raise TicketNotFound("No such repair ticket.")
    return ticket


def get_customer_ticket(*, ticket_id: int, user_id: int) -> RepairTicket:
    """The ticket if this customer asked for it; TicketNotFound otherwise (same as missing)."""
    ticket = get_ticket(ticket_id)
    if ticket.customer_id is None or ticket.customer_id != user_id:
        raise TicketNotFound("No such repair ticket.")
    return ticket


def ticket_link_token(ticket: RepairTicket) -> str:
    """The signed token in a guest's ticket link (bound to the ticket's id and reference)."""
    return sign([ticket.id, ticket.reference], salt=TICKET_LINK_SALT)


def _ticket_key_for_token(token: str) -> tuple[int, str] | None:
    max_age = int(checkout.setting("ORDER_LINK_MAX_AGE_DAYS")) * 86400
    value = unsign(token, salt=TICKET_LINK_SALT, max_age=max_age)
    if (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], int)
        and isinstance(value[1], str)
    ):
        return value[0], value[1]
    return None


def guest_ticket_url(ticket: RepairTicket) -> str:
    return public_url("repairs.guest_show", ticket_id=ticket.id, t=ticket_link_token(ticket))


def get_guest_ticket(
    *, ticket_id: int, token: str | None = None, remembered_ids: Collection[int] = ()
) -> RepairTicket:
    """A guest's ticket for whoever holds its signed link (or opened it in this session).

    TicketNotFound otherwise, and for tickets of account holders or walk-ins.
    """
    ticket = get_ticket(ticket_id)
    if ticket.source != GUEST_SOURCE:
        raise TicketNotFound("No such repair ticket.")
    if ticket.id in remembered_ids:
        return ticket
    if token and _ticket_key_for_token(token) == (ticket.id, ticket.reference):
        return ticket
    raise TicketNotFound("No such repair ticket.")


def tickets_for_customer(user_id: int) -> list[RepairTicket]:
    return list(
        db.session.execute(
            db.select(RepairTicket)
            .where(RepairTicket.customer_id == user_id)
            .order_by(RepairTicket.created_at.desc())
        ).scalars()
    )


def list_tickets(*, status: str | None = None, open_only: bool = False) -> list[RepairTicket]:
    stmt = db.select(RepairTicket).order_by(RepairTicket.created_at.desc(), RepairTicket.id.desc())
    if status:
        stmt = stmt.where(RepairTicket.status == status)
    elif open_only:
        stmt = stmt.where(RepairTicket.status.in_(OPEN_STATUSES))
    return list(db.session.execute(stmt).scalars())


def open_ticket_count() -> int:
    return db.session.execute(
        db.select(db.func.count(RepairTicket.id)).where(RepairTicket.status.in_(OPEN_STATUSES))
    ).scalar_one()


@dataclass(frozen=True)
class OwnedPiece:
    order: Order
    line: OrderLine
    passport: Passport | None


def _owned_lines(user_id: int) -> list[tuple[Order, OrderLine]]:
    """Lines of this customer's orders whose piece has reached them (shipped or delivered)."""
    return _shipped_lines(Order.user_id == user_id)


def _shipped_lines(whose) -> list[tuple[Order, OrderLine]]:
    """Lines of the orders `whose` selects whose piece has been shipped to the buyer."""
    rows = db.session.execute(
        db.select(Order, OrderLine)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(
            whose,
            db.or_(OrderLine.stage == "shipped", Order.status.in_(("shipped", "delivered"))),
            db.or_(OrderLine.piece_id.is_(None), OrderLine.piece_released_at.is_(None)),
        )
        .order_by(Order.id, OrderLine.id)
    ).all()
    return [(order, line) for order, line in rows]


def owned_pieces(user_id: int) -> list[OwnedPiece]:
    owned = []
    for order, line in _owned_lines(user_id):
        owned.append(OwnedPiece(order=order, line=line, passport=_existing_passport(line)))
    return owned


def _existing_passport(line: OrderLine) -> Passport | None:
    if line.piece_id is not None:
        return provenance.find_passport(piece_id=line.piece_id)
    return provenance.find_passport(order_line_id=line.id)


def owned_line(*, user_id: int, order_line_id: int) -> OwnedPiece:
    """The customer's delivered line, or NotYourPiece (also for lines not yet shipped)."""
    for order, line in _owned_lines(user_id):
        if line.id == order_line_id:
            return OwnedPiece(order=order, line=line, passport=_existing_passport(line))
    raise NotYourPiece("You can ask for a repair of pieces you own once they have reached you.")


def guest_owned_line(
    *,
    number: str,
    order_line_id: int,
    guest_numbers: Collection[str] = (),
    token: str | None = None,
) -> OwnedPiece:
    """A shipped line of a guest order, for whoever may see the order (checkout's rule).

    OrderNotVisible without the order's signed link or session (also for account orders);
    NotYourPiece for a line of that order that has not shipped (or is not in it).
    """
    try:
        order = checkout.order_for_viewer(
            number=number, user_id=None, guest_numbers=guest_numbers, token=token
        )
    except checkout.OrderNotFound as exc:
        raise OrderNotVisible("No such order.") from exc
    for found, line in _shipped_lines(Order.id == order.id):
        if line.id == order_line_id:
            return OwnedPiece(order=found, line=line, passport=_existing_passport(line))
    raise NotYourPiece("You can ask for a repair of a piece once it has been shipped to you.")


def warranty_until(ticket: RepairTicket) -> date | None:
    """The last day of free workmanship repairs for the ticket's piece, by the rule the buyer
    was emailed (``app.domain.aftersale``: two years from the studio-calendar delivery day);
    while no delivery is recorded, counted from dispatch."""
    if ticket.order_line_id is None:
        return None
    line = db.session.get(OrderLine, ticket.order_line_id)
    if line is None or line.order.shipped_at is None:
        return None
    start: datetime = line.order.delivered_at or line.order.shipped_at
    return aftersale.warranty_end(delivered_at=start, zone=checkout.studio_zone())


def staff_options(ticket: RepairTicket) -> list[production.Transition]:
    """The plain staff moves available from the ticket's status."""
    return production.next_transitions(Track.REPAIR, ticket.status, via=Via.MOVE)


def photo_for(*, ticket: RepairTicket, photo_id: int) -> RepairPhoto:
    for photo in ticket.photos:
        if photo.id == photo_id:
            return photo
    raise TicketNotFound("No such photo.")


def send_in_details() -> dict[str, object]:
    """Where to send a piece in and where to pay: the seller and bank details of the invoices."""
    seller = checkout.setting("SELLER")
    return {
        "atelier_name": seller.get("legal_name", ""),
        "atelier_address": seller.get("address", ""),
        "bank": checkout.setting("BANK_TRANSFER_DETAILS"),
        "card": payments.stripe_enabled(),
    }
