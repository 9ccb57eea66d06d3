"""Repair tickets: requests from owners, walk-ins, assessment, quote, decision, bench, QC, return.

Every status change goes through the one transition table (app.domain.production, track
"repair"). When a repaired piece goes back to its owner the repair is appended to the piece's
provenance passport; the owner's name and words stay in the ticket, never in the passport.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.accounts.models import User
from app.checkout import services as checkout
from app.checkout.models import Order, OrderLine
from app.common.mail import send_mail
from app.common.uploads import UploadError, sniff, store_upload
from app.domain import production
from app.domain.clock import utcnow
from app.domain.production import Track, TransitionRefused, Via
from app.extensions import db
from app.provenance import services as provenance
from app.provenance.models import Passport
from app.qc import services as qc
from app.repairs.models import (
    GUEST_SOURCE,
    OPEN_STATUSES,
    RepairEvent,
    RepairPhoto,
    RepairTicket,
)

WARRANTY = timedelta(days=2 * 365)  # free workmanship repairs for two years from delivery
MAX_PHOTOS = 6
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TICKET_LINK_SALT = "diadem.repair"


class RepairError(Exception):
    """The repair operation cannot be done; the message is for the person who asked."""


class TicketNotFound(RepairError):
    pass


class NotYourPiece(RepairError):
    pass


class OrderNotVisible(RepairError):
    """A guest without the order's signed link (or its session): same as a missing order."""


# --- reading --------------------------------------------------------------------------------


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
    serializer = URLSafeTimedSerializer(current_app.secret_key, salt=TICKET_LINK_SALT)
    return serializer.dumps([ticket.id, ticket.reference])


def _ticket_key_for_token(token: str) -> tuple[int, str] | None:
    serializer = URLSafeTimedSerializer(current_app.secret_key, salt=TICKET_LINK_SALT)
    max_age = int(checkout.setting("ORDER_LINK_MAX_AGE_DAYS")) * 86400
    try:
        value = serializer.loads(token, max_age=max_age)
    except BadSignature:
        return None
    if (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], int)
        and isinstance(value[1], str)
    ):
        return value[0], value[1]
    return None


def guest_ticket_url(ticket: RepairTicket) -> str:
    return url_for(
        "repairs.guest_show", ticket_id=ticket.id, t=ticket_link_token(ticket), _external=True
    )


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
    """When free workmanship repairs end for the ticket's piece (two years from dispatch)."""
    if ticket.order_line_id is None:
        return None
    line = db.session.get(OrderLine, ticket.order_line_id)
    if line is None or line.order.shipped_at is None:
        return None
    start: datetime = line.order.delivered_at or line.order.shipped_at
    return (start + WARRANTY).date()


def staff_options(ticket: RepairTicket) -> list[production.Transition]:
    """The plain staff moves available from the ticket's status."""
    return production.next_transitions(Track.REPAIR, ticket.status, via=Via.MOVE)


# --- writing --------------------------------------------------------------------------------


def _new_reference() -> str:
    return "R-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def _check_photos(photos: Sequence[bytes]) -> None:
    if len(photos) > MAX_PHOTOS:
        raise RepairError(f"Attach at most {MAX_PHOTOS} photos.")
    for data in photos:
        sniff(data)  # raises UploadError before anything is stored


def _add_photos(ticket: RepairTicket, photos: Sequence[bytes], by_user_id: int | None) -> None:
    for data in photos:
        stored = store_upload(data, folder="repairs")
        ticket.photos.append(
            RepairPhoto(
                upload_name=stored.name,
                content_type=stored.content_type,
                uploaded_by_id=by_user_id,
            )
        )


def _insert(ticket: RepairTicket, by_user_id: int | None, note: str) -> RepairTicket:
    ticket.events.append(
        RepairEvent(from_status=None, to_status="received", by_user_id=by_user_id, note=note)
    )
    for _ in range(5):
        ticket.reference = _new_reference()
        db.session.add(ticket)
        try:
            db.session.commit()
            return ticket
        except IntegrityError:
            db.session.rollback()  # a reference collision: draw another one
    raise RepairError("Could not open the ticket; please try again.")


def _check_return_date(preferred_return_on: date | None) -> None:
    if preferred_return_on is not None and preferred_return_on < utcnow().date():
        raise RepairError("The preferred return date is in the past.")


def request_repair(
    *,
    user_id: int,
    order_line_id: int,
    description: str,
    preferred_return_on: date | None,
    photos: Sequence[bytes] = (),
) -> RepairTicket:
    """The owner asks for a repair of a piece they received; commit and confirm by email."""
    owned = owned_line(user_id=user_id, order_line_id=order_line_id)
    user = db.session.get(User, user_id)
    return _open_online_request(
        owned,
        source="customer",
        customer_id=user_id,
        email=user.email,
        description=description,
        preferred_return_on=preferred_return_on,
        photos=photos,
        note="Requested online by the owner.",
    )


def request_guest_repair(
    *,
    number: str,
    order_line_id: int,
    guest_numbers: Collection[str] = (),
    token: str | None = None,
    description: str,
    preferred_return_on: date | None,
    photos: Sequence[bytes] = (),
) -> RepairTicket:
    """A guest buyer (holding the order's signed link) asks for a repair of a shipped piece.

    Same checks as for account holders; the ticket is reached through the email on the order,
    and the confirmation carries a signed link to follow it. Commit.
    """
    owned = guest_owned_line(
        number=number, order_line_id=order_line_id, guest_numbers=guest_numbers, token=token
    )
    return _open_online_request(
        owned,
        source=GUEST_SOURCE,
        customer_id=None,
        email=owned.order.email,
        contact_name=owned.order.name,
        description=description,
        preferred_return_on=preferred_return_on,
        photos=photos,
        note="Requested online by the guest buyer (order link).",
    )


def _open_online_request(
    owned: OwnedPiece,
    *,
    source: str,
    customer_id: int | None,
    email: str,
    description: str,
    preferred_return_on: date | None,
    photos: Sequence[bytes],
    note: str,
    contact_name: str = "",
) -> RepairTicket:
    description = description.strip()
    if len(description) < 10:
        raise RepairError("Describe what needs repairing (at least a sentence).")
    _check_return_date(preferred_return_on)
    _check_photos(photos)
    passport = owned.passport or provenance.passport_for_line(owned.line)
    ticket = RepairTicket(
        source=source,
        status="received",
        passport_id=passport.id,
        order_line_id=owned.line.id,
        customer_id=customer_id,
        contact_name=contact_name.strip()[:120],
        contact_email=email.strip()[:254] if customer_id is None else "",
        piece_description=f"{owned.line.product_name} {owned.line.piece_label}".strip(),
        description=description[:5000],
        preferred_return_on=preferred_return_on,
        currency=owned.order.currency,
    )
    _add_photos(ticket, photos, customer_id)
    ticket = _insert(ticket, customer_id, note)
    _notify(
        ticket,
        to=email,
        subject=f"Repair request {ticket.reference} received",
        template="repair_received",
    )
    return ticket


def open_walk_in(
    *,
    by_user_id: int,
    contact_name: str,
    contact_email: str,
    contact_phone: str,
    passport_code: str,
    piece_description: str,
    description: str,
    preferred_return_on: date | None,
    photos: Sequence[bytes] = (),
) -> RepairTicket:
    """Staff open a ticket for a piece brought to the atelier; commit."""
    if not contact_name.strip():
        raise RepairError("Write down the name of the person who brought the piece.")
    if not (contact_email.strip() or contact_phone.strip()):
        raise RepairError("Take an email address or a phone number to reach them.")
    if not description.strip():
        raise RepairError("Describe what needs repairing.")
    _check_return_date(preferred_return_on)
    _check_photos(photos)
    passport = None
    if passport_code.strip():
        try:
            passport = provenance.get_passport(passport_code.strip().lower())
        except provenance.PassportNotFound as exc:
            raise RepairError(
                "No passport has that code; leave it empty if the piece has none."
            ) from exc
    if passport is None and not piece_description.strip():
        raise RepairError("Describe the piece, or give its passport code.")
    ticket = RepairTicket(
        source="walk_in",
        status="received",
        passport_id=passport.id if passport else None,
        order_line_id=passport.order_line_id if passport else None,
        contact_name=contact_name.strip()[:120],
        contact_email=contact_email.strip()[:254],
        contact_phone=contact_phone.strip()[:40],
        piece_description=(piece_description.strip() or (passport.title if passport else ""))[:200],
        description=description.strip()[:5000],
        preferred_return_on=preferred_return_on,
        created_by_id=by_user_id,
    )
    _add_photos(ticket, photos, by_user_id)
    return _insert(ticket, by_user_id, "Walk-in, received at the atelier.")


def _lock(ticket_id: int) -> RepairTicket:
    ticket = db.session.execute(
        db.select(RepairTicket)
        .where(RepairTicket.id == ticket_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if ticket is None:
        raise TicketNotFound("No such repair ticket.")
    return ticket


def _entered_qc_at(ticket: RepairTicket) -> datetime | None:
    return db.session.execute(
        db.select(RepairEvent.created_at)
        .where(RepairEvent.ticket_id == ticket.id, RepairEvent.to_status == "qc")
        .order_by(RepairEvent.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _repairer_id(ticket_id: int) -> int | None:
    return db.session.execute(
        db.select(RepairEvent.by_user_id)
        .where(
            RepairEvent.ticket_id == ticket_id,
            RepairEvent.from_status == "in_repair",
            RepairEvent.to_status == "qc",
        )
        .order_by(RepairEvent.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def qc_passed(ticket: RepairTicket) -> bool:
    return qc.ticket_qc_passed(ticket.id, _entered_qc_at(ticket))


def _transition(
    ticket: RepairTicket,
    target: str,
    *,
    via: Via,
    by_user_id: int | None,
    expected_status: str | None = None,
    note: str = "",
) -> production.Transition:
    if expected_status is not None and ticket.status != expected_status:
        raise TransitionRefused(
            f"Ticket {ticket.reference} is now {production.stage_label(ticket.status)}; "
            "reload the page."
        )
    needs_qc = target == "returned" and ticket.status == "qc"
    transition = production.check_transition(
        Track.REPAIR,
        ticket.status,
        target,
        via=via,
        qc_passed=qc_passed(ticket) if needs_qc else False,
    )
    ticket.events.append(
        RepairEvent(
            from_status=ticket.status, to_status=target, by_user_id=by_user_id, note=note[:500]
        )
    )
    ticket.status = target
    return transition


def _commit() -> None:
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def assess(*, ticket_id: int, assessment: str, under_warranty: bool, by_user_id: int) -> None:
    ticket = _lock(ticket_id)
    if not assessment.strip():
        raise RepairError("Write the assessment: what is wrong and what the repair involves.")
    try:
        _transition(ticket, "assessed", via=Via.ASSESSMENT, by_user_id=by_user_id)
        ticket.assessment = assessment.strip()[:5000]
        ticket.under_warranty = under_warranty
        _commit()
    except Exception:
        db.session.rollback()
        raise


def send_quote(*, ticket_id: int, quote_minor: int, note: str, by_user_id: int) -> None:
    """Send the quote (zero when the warranty covers it) and email the owner a link to decide."""
    ticket = _lock(ticket_id)
    try:
        if quote_minor < 0:
            raise RepairError("A quote cannot be negative.")
        if ticket.under_warranty and quote_minor != 0:
            raise RepairError("This repair is under warranty, so the quote must be zero.")
        _transition(ticket, "quote_sent", via=Via.QUOTE, by_user_id=by_user_id)
        ticket.quote_minor = quote_minor
        ticket.quote_note = note.strip()[:2000]
        ticket.quote_sent_at = utcnow()
        _commit()
    except Exception:
        db.session.rollback()
        raise
    recipient = ticket.customer.email if ticket.customer else ticket.contact_email
    if recipient:
        _notify(
            ticket,
            to=recipient,
            subject=f"Your repair quote {ticket.reference}",
            template="repair_quote",
        )


def decide_quote(
    *,
    ticket_id: int,
    accept: bool,
    comment: str,
    by_user_id: int,
    on_behalf: bool = False,
) -> None:
    """The owner accepts or declines the quote (staff record it for walk-ins without accounts)."""
    _decide(
        ticket_id=ticket_id,
        accept=accept,
        comment=comment,
        by_user_id=by_user_id,
        on_behalf=on_behalf,
        guest=False,
    )


def decide_guest_quote(
    *,
    ticket_id: int,
    accept: bool,
    comment: str,
    token: str | None = None,
    remembered_ids: Collection[int] = (),
) -> None:
    """A guest buyer with the ticket's signed link (or its session) accepts or declines."""
    get_guest_ticket(ticket_id=ticket_id, token=token, remembered_ids=remembered_ids)
    _decide(
        ticket_id=ticket_id,
        accept=accept,
        comment=comment,
        by_user_id=None,
        on_behalf=False,
        guest=True,
    )


def _decide(
    *,
    ticket_id: int,
    accept: bool,
    comment: str,
    by_user_id: int | None,
    on_behalf: bool,
    guest: bool,
) -> None:
    ticket = _lock(ticket_id)
    try:
        if on_behalf and ticket.source != "walk_in":
            raise RepairError("The owner accepts or declines online quotes themselves.")
        if guest and ticket.source != GUEST_SOURCE:
            raise TicketNotFound("No such repair ticket.")
        if not (on_behalf or guest) and (
            ticket.customer_id is None or ticket.customer_id != by_user_id
        ):
            raise TicketNotFound("No such repair ticket.")
        target = "approved" if accept else "declined"
        if on_behalf:
            note = "Recorded by staff for a walk-in."
        elif guest:
            note = "Decided online by the guest buyer."
        else:
            note = "Decided online by the owner."
        _transition(
            ticket,
            target,
            via=Via.CUSTOMER_DECISION,
            by_user_id=by_user_id,
            expected_status="quote_sent",
            note=note,
        )
        ticket.decided_at = utcnow()
        ticket.decision_comment = comment.strip()[:2000]
        _commit()
    except Exception:
        db.session.rollback()
        raise


def move_ticket(
    *,
    ticket_id: int,
    target: str,
    expected_status: str,
    by_user_id: int,
    work_done: str = "",
) -> RepairTicket:
    """A staff move from the table (start repair, to QC, rework, return); commit.

    Returning a repaired piece appends the repair to its passport in the same transaction.
    """
    ticket = _lock(ticket_id)
    try:
        if target == "qc":
            if not work_done.strip():
                raise RepairError("Describe the work done (it goes into the piece's passport).")
            ticket.work_done = work_done.strip()[:2000]
        _transition(
            ticket, target, via=Via.MOVE, by_user_id=by_user_id, expected_status=expected_status
        )
        if target == "returned":
            ticket.returned_at = utcnow()
            if ticket.passport_id is not None and ticket.work_done:
                repairer = db.session.get(User, _repairer_id(ticket.id) or by_user_id)
                provenance.record_entry(
                    passport_id=ticket.passport_id,
                    kind="repair",
                    summary=f"Repaired: {ticket.work_done}",
                    actor=qc.display_name(repairer),
                    recorded_by_id=by_user_id,
                    details={
                        "ticket": ticket.reference,
                        "under_warranty": ticket.under_warranty,
                    },
                )
        _commit()
    except Exception:
        db.session.rollback()
        raise
    return ticket


def repair_qc_context(ticket_id: int) -> qc.QcContext:
    ticket = get_ticket(ticket_id)
    passport = ticket.passport
    product = qc.passport_product(passport)
    line = db.session.get(OrderLine, ticket.order_line_id) if ticket.order_line_id else None
    if product is None:
        raise RepairError("A QC weight check needs the piece's passport (its specification).")
    repairer_id = _repairer_id(ticket.id)
    return qc.QcContext(
        passport=passport,
        expected_mg=qc.expected_weight_for(product, line.size_code if line else None),
        artisan=db.session.get(User, repairer_id) if repairer_id else None,
        repair_ticket_id=ticket.id,
    )


def record_repair_check(
    *,
    ticket_id: int,
    checker_id: int,
    artisan_id: int | None = None,
    stone_tightness: bool,
    solder_integrity: bool,
    hallmark_present: bool,
    measured_mg: int,
    finish_grade: str,
    notes: str = "",
) -> None:
    """QC of a repaired piece (the repairer may not check their own work); commit."""
    ticket = get_ticket(ticket_id)
    if ticket.status != "qc":
        raise RepairError(
            f"QC is recorded when the repair is at Quality control; it is "
            f"{production.stage_label(ticket.status)}."
        )
    context = repair_qc_context(ticket_id)
    try:
        qc.record_check(
            context=context,
            checker_id=checker_id,
            artisan_id=artisan_id,
            stone_tightness=stone_tightness,
            solder_integrity=solder_integrity,
            hallmark_present=hallmark_present,
            measured_mg=measured_mg,
            finish_grade=finish_grade,
            notes=notes,
        )
        _commit()
    except Exception:
        db.session.rollback()
        raise


def add_staff_photos(*, ticket_id: int, photos: Sequence[bytes], by_user_id: int) -> None:
    ticket = get_ticket(ticket_id)
    if not photos:
        raise RepairError("Choose at least one photo.")
    if len(ticket.photos) + len(photos) > MAX_PHOTOS * 2:
        raise RepairError("This ticket has as many photos as it can hold.")
    for data in photos:
        sniff(data)
    _add_photos(ticket, photos, by_user_id)
    _commit()


def photo_for(*, ticket: RepairTicket, photo_id: int) -> RepairPhoto:
    for photo in ticket.photos:
        if photo.id == photo_id:
            return photo
    raise TicketNotFound("No such photo.")


def _notify(ticket: RepairTicket, *, to: str, subject: str, template: str) -> None:
    link = None
    if ticket.customer_id is not None:
        link = url_for("repairs.show", ticket_id=ticket.id, _external=True)
    elif ticket.source == GUEST_SOURCE:
        link = guest_ticket_url(ticket)
    try:
        send_mail(to=to, subject=subject, template=template, ticket=ticket, link=link)
    except Exception:  # the ticket stands; staff see it on the board even if mail failed
        current_app.logger.exception("Could not send %s for ticket %s", template, ticket.id)


__all__ = ["UploadError", "TransitionRefused"]
