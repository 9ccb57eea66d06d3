"""Opening tickets: online requests by owners and guest buyers, walk-ins at the atelier."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import date

from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.common.links import public_url
from app.common.mail import send_mail_after_commit
from app.common.references import new_reference
from app.common.transactions import atomic
from app.common.uploads import sniff, store_upload
from app.domain.clock import utcnow
from app.extensions import db
from app.provenance import services as provenance
from app.repairs.models import (
    GUEST_SOURCE,
    OPEN_STATUSES,
    RepairEvent,
    RepairPhoto,
    RepairTicket,
)
from app.repairs.services.common import (
    PieceHasOpenTicket,
    RepairError,
    max_photos,
)
from app.repairs.services.reading import (
    OwnedPiece,
    guest_owned_line,
    guest_ticket_url,
    owned_line,
)


def _check_photos(photos: Sequence[bytes]) -> None:
    limit = max_photos()
    if len(photos) > limit:
        raise RepairError(f"Attach at most {limit} photos.")
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


def _insert(
    ticket: RepairTicket,
    by_user_id: int | None,
    note: str,
    *,
    visible_to: Callable[[RepairTicket], bool],
    staff: bool = False,
) -> RepairTicket:
    ticket.events.append(
        RepairEvent(from_status=None, to_status="received", by_user_id=by_user_id, note=note)
    )
    for _ in range(5):
        ticket.reference = new_reference("R-")
        try:
            # A savepoint per draw: a reference collision undoes only this insert.
            with atomic():
                db.session.add(ticket)
                db.session.flush()
            return ticket
        except IntegrityError:
            # Lost a race for the piece (the one-open-ticket index), or a reference collision.
            _refuse_if_open(ticket.passport_id, visible_to=visible_to, staff=staff)
    raise RepairError("Could not open the ticket; please try again.")


def _open_ticket_for(passport_id: int | None) -> RepairTicket | None:
    if passport_id is None:
        return None
    return (
        db.session.execute(
            db.select(RepairTicket)
            .where(RepairTicket.passport_id == passport_id, RepairTicket.status.in_(OPEN_STATUSES))
            .order_by(RepairTicket.id)
        )
        .scalars()
        .first()
    )


def _open_message(ticket: RepairTicket, *, visible: bool, staff: bool) -> str:
    if staff:
        return f"Ticket {ticket.reference} is open for this piece: add to it instead."
    # The reference only to whoever may follow that ticket (their own request).
    which = f" ({ticket.reference})" if visible else ""
    return (
        f"A repair of this piece is already open{which}: we take one repair of a piece at a "
        "time. Ask for another once it is back with you, or write to us about it."
    )


def _refuse_if_open(
    passport_id: int | None, *, visible_to: Callable[[RepairTicket], bool], staff: bool = False
) -> None:
    """PieceHasOpenTicket if the piece already has an open ticket (the index is the last word;
    this check gives the same answer without storing photos first)."""
    open_ticket = _open_ticket_for(passport_id)
    if open_ticket is not None:
        visible = visible_to(open_ticket)
        raise PieceHasOpenTicket(
            _open_message(open_ticket, visible=visible, staff=staff),
            ticket=open_ticket,
            visible=visible,
        )


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
    """The owner asks for a repair of a piece they received; confirm by email after the commit."""
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
    and the confirmation carries a signed link to follow it.
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

    def theirs(ticket: RepairTicket) -> bool:
        if customer_id is not None:
            return ticket.customer_id == customer_id
        return ticket.source == GUEST_SOURCE and ticket.order_line_id == owned.line.id

    _refuse_if_open(passport.id, visible_to=theirs)
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
    ticket = _insert(ticket, customer_id, note, visible_to=theirs)
    _add_photos(ticket, photos, customer_id)  # stored only once the ticket stands
    _notify(
        ticket,
        to=email,
        subject=f"Repair request {ticket.reference} received",
        template="repair_received",
    )
    return ticket


def _staff_see_all(ticket: RepairTicket) -> bool:
    return True


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
    """Staff open a ticket for a piece brought to the atelier."""
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
    if passport is not None:
        _refuse_if_open(passport.id, visible_to=_staff_see_all, staff=True)
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
    ticket = _insert(
        ticket,
        by_user_id,
        "Walk-in, received at the atelier.",
        visible_to=_staff_see_all,
        staff=True,
    )
    _add_photos(ticket, photos, by_user_id)
    return ticket


def owner_email(ticket: RepairTicket) -> str:
    """Where mail about the ticket goes: the account's address, else the one taken down."""
    return ticket.customer.email if ticket.customer else ticket.contact_email


def _notify(
    ticket: RepairTicket, *, to: str, subject: str, template: str, **context: object
) -> None:
    link = None
    if ticket.customer_id is not None:
        link = public_url("repairs.show", ticket_id=ticket.id)
    elif ticket.source == GUEST_SOURCE:
        link = guest_ticket_url(ticket)
    # After the commit; the ticket stands and shows on the board even if mail fails.
    send_mail_after_commit(
        to=to, subject=subject, template=template, ticket=ticket, link=link, **context
    )
