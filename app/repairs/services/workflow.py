"""A ticket's way through the repair table: assessment, quote, decision, bench, QC, return."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from app.accounts.models import User
from app.checkout.models import OrderLine
from app.common.uploads import sniff
from app.domain import production
from app.domain.clock import utcnow
from app.domain.production import Track, TransitionRefused, Via
from app.extensions import db
from app.provenance import services as provenance
from app.qc import services as qc
from app.repairs.models import (
    GUEST_SOURCE,
    RepairEvent,
    RepairPhoto,
    RepairTicket,
)
from app.repairs.services.common import (
    NeedsTracking,
    RepairError,
    TicketNotFound,
    lock_ticket,
    max_photos,
)
from app.repairs.services.payments import check_cover, check_may_start
from app.repairs.services.reading import get_guest_ticket, get_ticket, send_in_details
from app.repairs.services.tickets import _add_photos, _notify, owner_email


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
    return qc.passed_since(qc.latest_ticket_check(ticket.id), _entered_qc_at(ticket))


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


def assess(*, ticket_id: int, assessment: str, under_warranty: bool, by_user_id: int) -> None:
    ticket = lock_ticket(ticket_id)
    if not assessment.strip():
        raise RepairError("Write the assessment: what is wrong and what the repair involves.")
    if under_warranty:
        check_cover(ticket)  # the code decides from the delivery day, not the checkbox alone
    _transition(ticket, "assessed", via=Via.ASSESSMENT, by_user_id=by_user_id)
    ticket.assessment = assessment.strip()[:5000]
    ticket.under_warranty = under_warranty


def send_quote(*, ticket_id: int, quote_minor: int, note: str, by_user_id: int) -> None:
    """Send the quote (zero when the warranty covers it) and email the owner a link to decide."""
    ticket = lock_ticket(ticket_id)
    if quote_minor < 0:
        raise RepairError("A quote cannot be negative.")
    if ticket.under_warranty and quote_minor != 0:
        raise RepairError("This repair is under warranty, so the quote must be zero.")
    _transition(ticket, "quote_sent", via=Via.QUOTE, by_user_id=by_user_id)
    ticket.quote_minor = quote_minor
    ticket.quote_note = note.strip()[:2000]
    ticket.quote_sent_at = utcnow()
    recipient = owner_email(ticket)
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
    ticket = lock_ticket(ticket_id)
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
    recipient = owner_email(ticket)
    if accept and ticket.source != "walk_in" and recipient:
        # How to send the piece in, the reference to put in the parcel, and how to pay.
        _notify(
            ticket,
            to=recipient,
            subject=f"Repair {ticket.reference}: how to send your piece in",
            template="repair_approved",
            **send_in_details(),
        )


def move_ticket(
    *,
    ticket_id: int,
    target: str,
    expected_status: str,
    by_user_id: int,
    work_done: str = "",
) -> RepairTicket:
    """A staff move from the table (start repair, to QC, rework, return).

    Returning a repaired piece appends the repair to its passport in the same transaction. A
    piece that came by post goes back by carrier: ``ship_back``, with its tracking, returns it.
    """
    return _move(
        lock_ticket(ticket_id),
        target=target,
        expected_status=expected_status,
        by_user_id=by_user_id,
        work_done=work_done,
        shipped=False,
    )


def _move(
    ticket: RepairTicket,
    *,
    target: str,
    expected_status: str,
    by_user_id: int,
    work_done: str,
    shipped: bool,
) -> RepairTicket:
    if target == "qc":
        if not work_done.strip():
            raise RepairError("Describe the work done (it goes into the piece's passport).")
        ticket.work_done = work_done.strip()[:2000]
    if target == "in_repair" and ticket.status == "approved":
        check_may_start(ticket)
    reworked = target == "qc" and _repairer_id(ticket.id) is not None
    _transition(
        ticket, target, via=Via.MOVE, by_user_id=by_user_id, expected_status=expected_status
    )
    if target == "returned" and ticket.arrived_by_post and not shipped:
        # After the transition's own checks (QC passed, the status as seen), so staff fix
        # those first; the caller's rollback undoes the transition.
        raise NeedsTracking(
            f"Repair {ticket.reference} came by post: ship it back with the carrier and the "
            "tracking number, so the owner can follow the parcel."
        )
    if target == "qc" and ticket.passport_id is not None:
        # The repair goes into the passport when it is done, so its QC check (appended when
        # recorded) follows it; a rework after a failed check is a repair entry of its own.
        provenance.record_entry(
            passport_id=ticket.passport_id,
            kind="repair",
            summary=f"{'Reworked' if reworked else 'Repaired'}: {ticket.work_done}",
            actor=qc.display_name(db.session.get(User, by_user_id)),
            recorded_by_id=by_user_id,
            details={"ticket": ticket.reference, "under_warranty": ticket.under_warranty},
        )
    if target == "returned":
        ticket.returned_at = utcnow()
    return ticket


def ship_back(
    *,
    ticket_id: int,
    carrier: str,
    tracking_number: str,
    expected_status: str,
    by_user_id: int,
) -> RepairTicket:
    """Send the piece back by carrier: record the tracking, return the ticket, email the owner.

    From QC (a passing check needed) or unrepaired after a declined quote.
    """
    carrier, tracking_number = carrier.strip(), tracking_number.strip()
    if not carrier or not tracking_number:
        raise RepairError("Enter the carrier and the tracking number.")
    ticket = _move(
        lock_ticket(ticket_id),
        target="returned",
        expected_status=expected_status,
        by_user_id=by_user_id,
        work_done="",
        shipped=True,
    )
    ticket.carrier = carrier[:80]
    ticket.tracking_number = tracking_number[:80]
    ticket.shipped_back_at = ticket.returned_at
    ticket.events[-1].note = f"Shipped back: {ticket.carrier} {ticket.tracking_number}"[:500]
    recipient = owner_email(ticket)
    if recipient:
        _notify(
            ticket,
            to=recipient,
            subject=f"Your repaired piece is on its way ({ticket.reference})"
            if ticket.work_done
            else f"Your piece is on its way back ({ticket.reference})",
            template="repair_shipped",
        )
    return ticket


def repair_qc_context(ticket_id: int) -> qc.QcContext:
    ticket = get_ticket(ticket_id)
    product = qc.passport_product(ticket.passport)
    line = db.session.get(OrderLine, ticket.order_line_id) if ticket.order_line_id else None
    if product is None:
        raise RepairError("A QC weight check needs the piece's passport (its specification).")
    return qc.context_for(
        passport=ticket.passport,
        product=product,
        size_code=line.size_code if line else None,
        artisan_id=_repairer_id(ticket.id),
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
    """QC of a repaired piece (the repairer may not check their own work)."""
    ticket = get_ticket(ticket_id)
    if ticket.status != "qc":
        raise RepairError(
            f"QC is recorded when the repair is at Quality control; it is "
            f"{production.stage_label(ticket.status)}."
        )
    context = repair_qc_context(ticket_id)
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


def add_staff_photos(*, ticket_id: int, photos: Sequence[bytes], by_user_id: int) -> None:
    """Staff add photos; a ticket holds twice what a request may attach (the owner's and ours)."""
    if not photos:
        raise RepairError("Choose at least one photo.")
    ticket = lock_ticket(ticket_id)  # two uploads at once cannot both fit under the cap
    held = db.session.execute(
        db.select(db.func.count(RepairPhoto.id)).where(RepairPhoto.ticket_id == ticket.id)
    ).scalar_one()
    limit = 2 * max_photos()
    if held + len(photos) > limit:
        room = max(limit - held, 0)
        raise RepairError(
            f"A ticket holds at most {limit} photos; this one has room for {room} more."
        )
    for data in photos:
        sniff(data)
    _add_photos(ticket, photos, by_user_id)
