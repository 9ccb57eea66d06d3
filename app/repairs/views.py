"""Repairs: the owner's requests and quote decisions; the staff repair board (/staff/repairs)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required

from app.accounts.access import staff_required
from app.checkout import services as checkout
from app.common.forms import choices
from app.common.transactions import atomic
from app.common.uploads import UploadError, send_upload
from app.domain import production
from app.extensions import limiter
from app.qc import services as qc
from app.qc.forms import QcForm
from app.repairs import forms, services

bp = Blueprint("repairs", __name__)
staff_bp = Blueprint("repairs_staff", __name__, url_prefix="/staff/repairs")
staff_bp.before_request(staff_required(lambda: None))

REPAIR_ERRORS = (services.RepairError, production.TransitionRefused, UploadError)
# Each request mails the owner and may carry photos: one budget per client, signed in or guest.
DEFAULT_REQUEST_RATE_LIMIT = "5 per hour"
REQUEST_LIMIT_SCOPE = "repair-request"


def request_rate_limit() -> str:
    return current_app.config.get("REPAIRS_RATE_LIMIT", DEFAULT_REQUEST_RATE_LIMIT)


def _photos(field) -> list[bytes]:
    return [f.read() for f in field.data or [] if f and f.filename]


def _request_form(template_context: dict, *, status: int, open_ticket_url: str | None = None):
    return render_template(
        "repairs/repair_new.html",
        max_photos=services.max_photos(),
        open_ticket_url=open_ticket_url,
        **template_context,
    ), status


# --- the owner's side -----------------------------------------------------------------------


@bp.get("/account/repairs")
@login_required
def index():
    return render_template(
        "repairs/repair_list.html",
        tickets=services.tickets_for_customer(current_user.id),
        owned=services.owned_pieces(current_user.id),
    )


@bp.route("/account/repairs/new/<int:line_id>", methods=["GET", "POST"])
@login_required
@limiter.shared_limit(request_rate_limit, scope=REQUEST_LIMIT_SCOPE, methods=["POST"])
def new_request(line_id: int):
    try:
        owned = services.owned_line(user_id=current_user.id, order_line_id=line_id)
    except services.NotYourPiece:
        abort(404)
    form = forms.RepairRequestForm()
    if form.validate_on_submit():
        try:
            with atomic():
                ticket = services.request_repair(
                    user_id=current_user.id,
                    order_line_id=owned.line.id,
                    description=form.description.data,
                    preferred_return_on=form.preferred_return_on.data,
                    photos=_photos(form.photos),
                )
        except services.PieceHasOpenTicket as exc:
            form.form_errors.append(str(exc))
            link = url_for("repairs.show", ticket_id=exc.ticket.id) if exc.visible else None
            return _request_form(dict(form=form, owned=owned), status=409, open_ticket_url=link)
        except REPAIR_ERRORS as exc:
            form.form_errors.append(str(exc))
        else:
            flash(f"Repair request {ticket.reference} received; we will assess it.", "success")
            return redirect(url_for("repairs.show", ticket_id=ticket.id))
    return _request_form(dict(form=form, owned=owned), status=400 if form.is_submitted() else 200)


@bp.get("/account/repairs/<int:ticket_id>")
@login_required
def show(ticket_id: int):
    try:
        ticket = services.get_customer_ticket(ticket_id=ticket_id, user_id=current_user.id)
    except services.TicketNotFound:
        abort(404)
    return render_template(
        "repairs/repair_show.html", ticket=ticket, decision_form=forms.DecisionForm(formdata=None)
    )


@bp.post("/account/repairs/<int:ticket_id>/decision")
@login_required
def decide(ticket_id: int):
    try:
        ticket = services.get_customer_ticket(ticket_id=ticket_id, user_id=current_user.id)
    except services.TicketNotFound:
        abort(404)
    form = forms.DecisionForm()
    if form.validate_on_submit():
        try:
            with atomic():
                services.decide_quote(
                    ticket_id=ticket.id,
                    accept=form.decision.data == "accept",
                    comment=form.comment.data or "",
                    by_user_id=current_user.id,
                )
        except REPAIR_ERRORS as exc:
            flash(str(exc), "warning")
        else:
            flash("Thank you: we have your decision.", "success")
            return redirect(url_for("repairs.show", ticket_id=ticket.id))
    else:
        flash("Choose accept or decline.", "warning")
    return redirect(url_for("repairs.show", ticket_id=ticket.id))


@bp.get("/account/repairs/<int:ticket_id>/photos/<int:photo_id>")
@login_required
def customer_photo(ticket_id: int, photo_id: int):
    try:
        ticket = services.get_customer_ticket(ticket_id=ticket_id, user_id=current_user.id)
        photo = services.photo_for(ticket=ticket, photo_id=photo_id)
    except services.TicketNotFound:
        abort(404)
    return send_upload(photo.upload_name)


# --- guest buyers (no account): through the order's signed link ------------------------------

GUEST_TICKETS = "guest_repairs"
MAX_GUEST_TICKETS = 20


def _remember_guest_ticket(ticket_id: int) -> None:
    ids = [i for i in session.get(GUEST_TICKETS, []) if i != ticket_id]
    session[GUEST_TICKETS] = (ids + [ticket_id])[-MAX_GUEST_TICKETS:]


def _guest_ticket_or_404(ticket_id: int):
    try:
        return services.get_guest_ticket(
            ticket_id=ticket_id,
            token=request.args.get("t"),
            remembered_ids=session.get(GUEST_TICKETS, []),
        )
    except services.TicketNotFound:
        abort(404)


@bp.route("/orders/<number>/repairs/new/<int:line_id>", methods=["GET", "POST"])
@limiter.shared_limit(request_rate_limit, scope=REQUEST_LIMIT_SCOPE, methods=["POST"])
def guest_new_request(number: str, line_id: int):
    """A guest buyer's repair request: the order's signed link (?t=) or its session."""
    access = dict(
        number=number,
        order_line_id=line_id,
        guest_numbers=checkout.guest_order_numbers(session),
        token=request.args.get("t"),
    )
    try:
        owned = services.guest_owned_line(**access)
    except services.OrderNotVisible:
        abort(404)
    except services.NotYourPiece as exc:
        # They may see the order, so they may learn why: the piece has not shipped yet.
        return render_template(
            "errors/error.html", code=404, title="Not yet", message=str(exc)
        ), 404
    form = forms.RepairRequestForm()
    if form.validate_on_submit():
        try:
            with atomic():
                ticket = services.request_guest_repair(
                    **access,
                    description=form.description.data,
                    preferred_return_on=form.preferred_return_on.data,
                    photos=_photos(form.photos),
                )
        except services.OrderNotVisible:
            abort(404)
        except services.PieceHasOpenTicket as exc:
            form.form_errors.append(str(exc))
            link = None
            if exc.visible:  # their own request: the order's link vouches for its ticket too
                token = services.ticket_link_token(exc.ticket)
                link = url_for("repairs.guest_show", ticket_id=exc.ticket.id, t=token)
            return _request_form(dict(form=form, owned=owned), status=409, open_ticket_url=link)
        except REPAIR_ERRORS as exc:
            form.form_errors.append(str(exc))
        else:
            _remember_guest_ticket(ticket.id)
            flash(
                f"Repair request {ticket.reference} received; we will assess it. "
                "We have emailed you a link to follow it.",
                "success",
            )
            return redirect(url_for("repairs.guest_show", ticket_id=ticket.id))
    return _request_form(dict(form=form, owned=owned), status=400 if form.is_submitted() else 200)


@bp.get("/repairs/<int:ticket_id>")
def guest_show(ticket_id: int):
    ticket = _guest_ticket_or_404(ticket_id)
    if request.args.get("t"):
        # Remember the signed link for this browser and drop it from the address bar.
        _remember_guest_ticket(ticket.id)
        return redirect(url_for("repairs.guest_show", ticket_id=ticket.id))
    return render_template(
        "repairs/repair_show.html",
        ticket=ticket,
        decision_form=forms.DecisionForm(formdata=None),
        guest=True,
    )


@bp.post("/repairs/<int:ticket_id>/decision")
def guest_decide(ticket_id: int):
    ticket = _guest_ticket_or_404(ticket_id)
    form = forms.DecisionForm()
    if form.validate_on_submit():
        try:
            with atomic():
                services.decide_guest_quote(
                    ticket_id=ticket.id,
                    accept=form.decision.data == "accept",
                    comment=form.comment.data or "",
                    token=request.args.get("t"),
                    remembered_ids=session.get(GUEST_TICKETS, []),
                )
        except services.TicketNotFound:
            abort(404)
        except REPAIR_ERRORS as exc:
            flash(str(exc), "warning")
        else:
            flash("Thank you: we have your decision.", "success")
    else:
        flash("Choose accept or decline.", "warning")
    return redirect(url_for("repairs.guest_show", ticket_id=ticket.id))


@bp.get("/repairs/<int:ticket_id>/photos/<int:photo_id>")
def guest_photo(ticket_id: int, photo_id: int):
    ticket = _guest_ticket_or_404(ticket_id)
    try:
        photo = services.photo_for(ticket=ticket, photo_id=photo_id)
    except services.TicketNotFound:
        abort(404)
    return send_upload(photo.upload_name)


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
                    photos=_photos(form.photos),
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
    ticket = _ticket_or_404(ticket_id)
    quote_form = forms.QuoteForm(formdata=None)
    quote_form.currency = ticket.currency
    if ticket.under_warranty:
        quote_form.amount.data = "0"
    return render_template(
        "repairs/staff_show.html",
        ticket=ticket,
        moves=services.staff_options(ticket),
        assess_form=forms.AssessForm(formdata=None),
        quote_form=quote_form,
        decision_form=forms.DecisionForm(formdata=None),
        move_form=forms.MoveForm(formdata=None),
        photos_form=forms.PhotosForm(formdata=None),
        warranty_until=services.warranty_until(ticket),
        qc_passed=services.qc_passed(ticket) if ticket.status == "qc" else False,
        latest_check=qc.latest_ticket_check(ticket.id),
    )


@staff_bp.post("/<int:ticket_id>/assess")
def assess(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    form = forms.AssessForm()
    if not form.validate_on_submit():
        flash("Write the assessment.", "warning")
        return _back(ticket.id)
    try:
        with atomic():
            services.assess(
                ticket_id=ticket.id,
                assessment=form.assessment.data,
                under_warranty=form.under_warranty.data,
                by_user_id=current_user.id,
            )
    except REPAIR_ERRORS as exc:
        flash(str(exc), "warning")
    else:
        flash("Assessment recorded.", "success")
    return _back(ticket.id)


@staff_bp.post("/<int:ticket_id>/quote")
def quote(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    form = forms.QuoteForm()
    form.currency = ticket.currency
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "warning")
        return _back(ticket.id)
    try:
        with atomic():
            services.send_quote(
                ticket_id=ticket.id,
                quote_minor=form.amount_minor,
                note=form.note.data or "",
                by_user_id=current_user.id,
            )
    except REPAIR_ERRORS as exc:
        flash(str(exc), "warning")
    else:
        flash("Quote sent.", "success")
    return _back(ticket.id)


@staff_bp.post("/<int:ticket_id>/decision")
def record_decision(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    form = forms.DecisionForm()
    if not form.validate_on_submit():
        flash("Choose accept or decline.", "warning")
        return _back(ticket.id)
    try:
        with atomic():
            services.decide_quote(
                ticket_id=ticket.id,
                accept=form.decision.data == "accept",
                comment=form.comment.data or "",
                by_user_id=current_user.id,
                on_behalf=True,
            )
    except REPAIR_ERRORS as exc:
        flash(str(exc), "warning")
    else:
        flash("Decision recorded.", "success")
    return _back(ticket.id)


@staff_bp.post("/<int:ticket_id>/move")
def move(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    form = forms.MoveForm()
    if not form.validate_on_submit():
        flash("That form was incomplete; try again.", "warning")
        return _back(ticket.id)
    try:
        with atomic():
            services.move_ticket(
                ticket_id=ticket.id,
                target=form.target.data,
                expected_status=form.expected_status.data,
                by_user_id=current_user.id,
                work_done=form.work_done.data or "",
            )
    except REPAIR_ERRORS as exc:
        flash(str(exc), "warning")
    else:
        flash(f"Ticket moved to {production.stage_label(form.target.data)}.", "success")
    return _back(ticket.id)


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
    try:
        with atomic():
            services.add_staff_photos(
                ticket_id=ticket.id, photos=_photos(form.photos), by_user_id=current_user.id
            )
    except REPAIR_ERRORS as exc:
        flash(str(exc), "warning")
    else:
        flash("Photos added.", "success")
    return _back(ticket.id)


@staff_bp.get("/<int:ticket_id>/photos/<int:photo_id>")
def staff_photo(ticket_id: int, photo_id: int):
    ticket = _ticket_or_404(ticket_id)
    try:
        photo = services.photo_for(ticket=ticket, photo_id=photo_id)
    except services.TicketNotFound:
        abort(404)
    return send_upload(photo.upload_name)
