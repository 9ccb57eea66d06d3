"""The staff repair board (/staff/repairs): assessment, quote, payments, bench, QC, return."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from app.accounts.access import staff_required
from app.accounts.permissions import Permission, can, permission_required
from app.common.forms import choices
from app.common.transactions import atomic
from app.domain import production
from app.qc import services as qc
from app.qc.forms import QcForm
from app.repairs import forms, services
from app.repairs.view_actions import attempt, send_photo

staff_bp = Blueprint("repairs_staff", __name__, url_prefix="/staff/repairs")
staff_bp.before_request(staff_required(lambda: None))

REPAIR_ERRORS = services.ERRORS


# --- staff ----------------------------------------------------------------------------------


def _ticket_or_404(ticket_id: int):
    try:
        return services.get_ticket(ticket_id)
    except services.TicketNotFound:
        abort(404)


def _back(ticket_id: int):
    return redirect(url_for("repairs_staff.show", ticket_id=ticket_id))


@staff_bp.get("")
def board():
    status = request.args.get("status") or None
    if status not in (None, *services.REPAIR_STATUSES):
        status = None
    return render_template(
        "repairs/staff_board.html",
        tickets=services.list_tickets(status=status, open_only=status is None),
        status=status,
        statuses=services.REPAIR_STATUSES,
    )


@staff_bp.route("/new", methods=["GET", "POST"])
def new_walk_in():
    form = forms.WalkInForm()
    if form.validate_on_submit():
        try:
            with atomic():
                ticket = services.open_walk_in(
                    by_user_id=current_user.id,
                    contact_name=form.contact_name.data,
                    contact_email=form.contact_email.data or "",
                    contact_phone=form.contact_phone.data or "",
                    passport_code=form.passport_code.data or "",
                    piece_description=form.piece_description.data or "",
                    description=form.description.data,
                    preferred_return_on=form.preferred_return_on.data,
                    photos=forms.photo_bytes(form.photos),
                )
        except services.PieceHasOpenTicket as exc:
            form.form_errors.append(str(exc))
            link = url_for("repairs_staff.show", ticket_id=exc.ticket.id)
            return render_template(
                "repairs/staff_new.html",
                form=form,
                max_photos=services.max_photos(),
                open_ticket_url=link,
            ), 409
        except REPAIR_ERRORS as exc:
            form.form_errors.append(str(exc))
        else:
            flash(f"Ticket {ticket.reference} opened.", "success")
            return _back(ticket.id)
    status = 400 if form.is_submitted() else 200
    return render_template(
        "repairs/staff_new.html", form=form, max_photos=services.max_photos()
    ), status


@staff_bp.get("/<int:ticket_id>", endpoint="show")
def staff_show(ticket_id: int):
    return _show(_ticket_or_404(ticket_id))


def _show(ticket, *, bank_form=None, ship_form=None, refund_form=None):
    refund_forms = _refund_forms(ticket, posted=refund_form)
    quote_form = forms.QuoteForm(formdata=None)
    quote_form.currency = ticket.currency
    if ticket.under_warranty:
        quote_form.amount.data = "0"
    may_start, start_reason = services.may_start(ticket)
    return render_template(
        "repairs/staff_show.html",
        ticket=ticket,
        moves=services.staff_options(ticket),
        assess_form=forms.AssessForm(formdata=None),
        quote_form=quote_form,
        decision_form=forms.DecisionForm(formdata=None),
        move_form=forms.MoveForm(formdata=None),
        photos_form=forms.PhotosForm(formdata=None),
        bank_form=bank_form or forms.BankTransferForm(formdata=None),
        ship_form=ship_form or forms.ShipBackForm(formdata=None),
        refund_forms=refund_forms,
        warranty_until=services.warranty_until(ticket),
        cover=services.cover_for(ticket),
        may_start=may_start,
        start_reason=start_reason,
        qc_passed=services.qc_passed(ticket) if ticket.status == "qc" else False,
        latest_check=qc.latest_ticket_check(ticket.id),
    )


def _run(
    ticket, form: FlaskForm, operation: Callable[[], object], *, done: str, incomplete: str = ""
):
    """One action from the ticket page, then back to it.

    An incomplete form flashes ``incomplete`` (or, without it, the form's own messages); a
    refusal is flashed; starting work that is neither paid nor covered is a conflict with the
    ticket's state, answered 409 on its page; returning a posted-in piece without its tracking
    shows the ship-back form with why (400).
    """
    if not form.validate_on_submit():
        said = form.errors.values()
        for message in [incomplete] if incomplete else [m for field in said for m in field]:
            flash(message, "warning")
        return _back(ticket.id)
    try:
        attempt(operation, done=done, escalate=(services.WorkNotCovered, services.NeedsTracking))
    except services.WorkNotCovered as exc:
        flash(str(exc), "warning")
        return _show(services.get_ticket(ticket.id)), 409
    except services.NeedsTracking as exc:
        # The ship-back form is the way: shown with the reason, for the carrier and tracking.
        ship_form = forms.ShipBackForm(formdata=None)
        ship_form.form_errors.append(str(exc))
        return _show(services.get_ticket(ticket.id), ship_form=ship_form), 400
    return _back(ticket.id)


def _run_on_page(ticket, form: FlaskForm, operation: Callable[[], object], *, done: str, slot: str):
    """An action whose form sits on the ticket page: a refusal is shown beside it (400)."""
    if form.validate_on_submit():
        try:
            with atomic():
                operation()
        except REPAIR_ERRORS as exc:
            form.form_errors.append(str(exc))
        else:
            flash(done, "success")
            return _back(ticket.id)
    return _show(services.get_ticket(ticket.id), **{slot: form}), 400


@staff_bp.post("/<int:ticket_id>/assess")
def assess(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    form = forms.AssessForm()
    return _run(
        ticket,
        form,
        lambda: services.assess(
            ticket_id=ticket.id,
            assessment=form.assessment.data,
            under_warranty=form.under_warranty.data,
            by_user_id=current_user.id,
        ),
        done="Assessment recorded.",
        incomplete="Write the assessment.",
    )


@staff_bp.post("/<int:ticket_id>/quote")
def quote(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    form = forms.QuoteForm()
    form.currency = ticket.currency
    return _run(
        ticket,
        form,
        lambda: services.send_quote(
            ticket_id=ticket.id,
            quote_minor=form.amount_minor,
            note=form.note.data or "",
            by_user_id=current_user.id,
        ),
        done="Quote sent.",
    )


@staff_bp.post("/<int:ticket_id>/decision")
def record_decision(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    form = forms.DecisionForm()
    return _run(
        ticket,
        form,
        lambda: services.decide_quote(
            ticket_id=ticket.id,
            accept=form.decision.data == "accept",
            comment=form.comment.data or "",
            by_user_id=current_user.id,
            on_behalf=True,
        ),
        done="Decision recorded.",
        incomplete="Choose accept or decline.",
    )


@staff_bp.post("/<int:ticket_id>/move")
def move(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    form = forms.MoveForm()
    return _run(
        ticket,
        form,
        lambda: services.move_ticket(
            ticket_id=ticket.id,
            target=form.target.data,
            expected_status=form.expected_status.data,
            by_user_id=current_user.id,
            work_done=form.work_done.data or "",
        ),
        done=f"Ticket moved to {production.stage_label(form.target.data)}.",
        incomplete="That form was incomplete; try again.",
    )


@staff_bp.post("/<int:ticket_id>/bank-transfer")
def bank_transfer(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    form = forms.BankTransferForm()
    form.currency = ticket.currency
    return _run_on_page(
        ticket,
        form,
        lambda: services.record_bank_transfer(
            ticket_id=ticket.id,
            amount_minor=form.amount_minor,
            received_on=form.received_on.data,
            reference=form.reference.data,
            by_user_id=current_user.id,
        ),
        done="Bank transfer recorded.",
        slot="bank_form",
    )


def _refund_forms(ticket, *, posted=None) -> dict[int, forms.RefundForm]:
    """One refund form per payment with money left to give back; the posted one as sent.
    Only for those who may refund."""
    shown: dict[int, forms.RefundForm] = {}
    if not can(current_user, Permission.REFUND):
        return shown
    for payment in ticket.payments:
        if posted is not None and posted.payment_id == payment.id:
            shown[payment.id] = posted  # with its errors, even once nothing is left
        elif payment.refundable_minor:
            shown[payment.id] = _refund_form(payment.id, formdata=None)
    return shown


def _refund_form(payment_id: int, **kwargs) -> forms.RefundForm:
    """A payment's own refund form: its fields' ids and names carry the payment's id."""
    form = forms.RefundForm(prefix=f"refund-{payment_id}", **kwargs)
    form.payment_id = payment_id
    return form


@staff_bp.post("/<int:ticket_id>/payments/<int:payment_id>/refund")
@permission_required(Permission.REFUND)  # as refunds of orders and returns: admins
def refund(ticket_id: int, payment_id: int):
    """Record the refund and commit; a card refund is then asked of Stripe and settled."""
    ticket = _ticket_or_404(ticket_id)
    form = _refund_form(payment_id)
    form.currency = ticket.currency
    if form.validate_on_submit():
        try:
            with atomic():
                recorded = services.refund_repair_payment(
                    ticket_id=ticket.id,
                    payment_id=payment_id,
                    amount_minor=form.amount_minor,
                    reason=form.reason.data,
                    by_user_id=current_user.id,
                )
                refund_id, by_card = recorded.id, recorded.status == "pending"
        except REPAIR_ERRORS as exc:
            form.form_errors.append(str(exc))
        else:
            settled = services.complete_card_refund(refund_id) if by_card else None
            if settled is None or settled.status == "succeeded":
                flash("Refund recorded; the owner is emailed.", "success")
                return _back(ticket.id)
            if settled.status == "pending":
                flash(
                    f"Refund recorded as pending: {settled.message} It is settled "
                    "automatically within minutes; the owner is emailed once Stripe confirms.",
                    "warning",
                )
                return _back(ticket.id)
            form.form_errors.append(f"Stripe refused the refund: {settled.message}")
    return _show(services.get_ticket(ticket.id), refund_form=form), 400


@staff_bp.post("/<int:ticket_id>/ship")
def ship(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    form = forms.ShipBackForm()
    return _run_on_page(
        ticket,
        form,
        lambda: services.ship_back(
            ticket_id=ticket.id,
            carrier=form.carrier.data,
            tracking_number=form.tracking_number.data,
            expected_status=form.expected_status.data,
            by_user_id=current_user.id,
        ),
        done="Shipped back; the owner has the tracking link by email.",
        slot="ship_form",
    )


@staff_bp.route("/<int:ticket_id>/qc", methods=["GET", "POST"])
def ticket_qc(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    if ticket.status != "qc":
        flash("QC is recorded when the repair is at Quality control.", "warning")
        return _back(ticket.id)
    try:
        context = services.repair_qc_context(ticket.id)
    except services.RepairError as exc:
        flash(str(exc), "warning")
        return _back(ticket.id)
    form = QcForm(formdata=None if request.method == "GET" else request.form)
    form.artisan_id.choices = choices(
        [(0, "— choose —")] + [(u.id, qc.display_name(u)) for u in qc.staff_members()]
    )
    if request.method == "POST" and form.validate_on_submit():
        try:
            with atomic():
                services.record_repair_check(
                    ticket_id=ticket.id,
                    checker_id=current_user.id,
                    artisan_id=form.artisan_id.data or None,
                    **form.results(),
                )
        except (production.FourEyesViolation, qc.QcError, services.RepairError) as exc:
            form.form_errors.append(str(exc))
        else:
            flash("QC recorded.", "success")
            return _back(ticket.id)
    status = 400 if request.method == "POST" else 200
    return render_template(
        "staff/qc_form.html",
        form=form,
        context=context,
        title=f"Repair {ticket.reference}: {ticket.piece_description}",
        back_url=url_for("repairs_staff.show", ticket_id=ticket.id),
        action=url_for("repairs_staff.ticket_qc", ticket_id=ticket.id),
    ), status


@staff_bp.post("/<int:ticket_id>/photos")
def add_photos(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    form = forms.PhotosForm()
    if not form.validate_on_submit():
        abort(400)
    attempt(
        lambda: services.add_staff_photos(
            ticket_id=ticket.id, photos=forms.photo_bytes(form.photos), by_user_id=current_user.id
        ),
        done="Photos added.",
    )
    return _back(ticket.id)


@staff_bp.get("/<int:ticket_id>/photos/<int:photo_id>")
def staff_photo(ticket_id: int, photo_id: int):
    ticket = _ticket_or_404(ticket_id)
    return send_photo(ticket, photo_id)
