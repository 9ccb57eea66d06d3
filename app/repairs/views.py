"""Repairs: the owner's requests, quote decisions and payments (staff: ``staff_views``)."""

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

from app.checkout import services as checkout
from app.common.links import public_url
from app.common.transactions import atomic
from app.extensions import limiter
from app.repairs import forms, services
from app.repairs.staff_views import staff_bp as staff_bp  # registered by the app factory
from app.repairs.view_actions import attempt, send_photo

bp = Blueprint("repairs", __name__)

REPAIR_ERRORS = services.ERRORS
# Each request mails the owner and may carry photos: one budget per client, signed in or guest.
DEFAULT_REQUEST_RATE_LIMIT = "5 per hour"
REQUEST_LIMIT_SCOPE = "repair-request"


def request_rate_limit() -> str:
    return current_app.config.get("REPAIRS_RATE_LIMIT", DEFAULT_REQUEST_RATE_LIMIT)


def _request_form(template_context: dict, *, status: int, open_ticket_url: str | None = None):
    return render_template(
        "repairs/repair_new.html",
        max_photos=services.max_photos(),
        open_ticket_url=open_ticket_url,
        **template_context,
    ), status


# --- the owner's side -----------------------------------------------------------------------

DECISION_RECEIVED = "Thank you: we have your decision."


def _customer_ticket_or_404(ticket_id: int):
    try:
        return services.get_customer_ticket(ticket_id=ticket_id, user_id=current_user.id)
    except services.TicketNotFound:
        abort(404)


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
                    photos=forms.photo_bytes(form.photos),
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
    ticket = _customer_ticket_or_404(ticket_id)
    return render_template(
        "repairs/repair_show.html",
        ticket=ticket,
        decision_form=forms.DecisionForm(formdata=None),
        **services.send_in_details(),
    )


@bp.post("/account/repairs/<int:ticket_id>/decision")
@login_required
def decide(ticket_id: int):
    ticket = _customer_ticket_or_404(ticket_id)
    form = forms.DecisionForm()
    if form.validate_on_submit():
        attempt(
            lambda: services.decide_quote(
                ticket_id=ticket.id,
                accept=form.decision.data == "accept",
                comment=form.comment.data or "",
                by_user_id=current_user.id,
            ),
            done=DECISION_RECEIVED,
        )
    else:
        flash("Choose accept or decline.", "warning")
    return redirect(url_for("repairs.show", ticket_id=ticket.id))


def _pay_page(ticket, *, back_url: str, return_url: str):
    """Open (or reuse) the card payment of what is due on the quote; the amount is the
    server's, from the ticket, never from the request."""
    try:
        with atomic():
            payment = services.start_card_payment(ticket_id=ticket.id)
        with atomic():  # nothing locked while Stripe answers
            card = services.card_payment(payment_id=payment.id)
    except services.RepairError as exc:
        flash(str(exc), "warning")
        return redirect(back_url)
    return render_template(
        "repairs/repair_pay.html", card=card, back_url=back_url, return_url=return_url
    )


@bp.get("/account/repairs/<int:ticket_id>/pay")
@login_required
def pay(ticket_id: int):
    ticket = _customer_ticket_or_404(ticket_id)
    return _pay_page(
        ticket,
        back_url=url_for("repairs.show", ticket_id=ticket.id),
        return_url=public_url("repairs.payment_return", ticket_id=ticket.id),
    )


@bp.get("/account/repairs/<int:ticket_id>/payment-return")
@login_required
def payment_return(ticket_id: int):
    # Stripe sends the owner back here; only the signed webhook marks anything paid.
    flash("Thank you: we are confirming your payment; reload this page in a moment.", "info")
    return redirect(url_for("repairs.show", ticket_id=ticket_id))


@bp.get("/account/repairs/<int:ticket_id>/photos/<int:photo_id>")
@login_required
def customer_photo(ticket_id: int, photo_id: int):
    ticket = _customer_ticket_or_404(ticket_id)
    return send_photo(ticket, photo_id)


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
                    photos=forms.photo_bytes(form.photos),
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
        **services.send_in_details(),
    )


@bp.post("/repairs/<int:ticket_id>/decision")
def guest_decide(ticket_id: int):
    ticket = _guest_ticket_or_404(ticket_id)
    form = forms.DecisionForm()
    if form.validate_on_submit():
        try:
            attempt(
                lambda: services.decide_guest_quote(
                    ticket_id=ticket.id,
                    accept=form.decision.data == "accept",
                    comment=form.comment.data or "",
                    token=request.args.get("t"),
                    remembered_ids=session.get(GUEST_TICKETS, []),
                ),
                done=DECISION_RECEIVED,
                escalate=(services.TicketNotFound,),
            )
        except services.TicketNotFound:
            abort(404)
    else:
        flash("Choose accept or decline.", "warning")
    return redirect(url_for("repairs.guest_show", ticket_id=ticket.id))


@bp.get("/repairs/<int:ticket_id>/pay")
def guest_pay(ticket_id: int):
    ticket = _guest_ticket_or_404(ticket_id)
    back = url_for("repairs.guest_show", ticket_id=ticket.id)
    # The return page is the ticket's own, which this browser's session already opens.
    return _pay_page(
        ticket, back_url=back, return_url=public_url("repairs.guest_show", ticket_id=ticket.id)
    )


@bp.get("/repairs/<int:ticket_id>/photos/<int:photo_id>")
def guest_photo(ticket_id: int, photo_id: int):
    ticket = _guest_ticket_or_404(ticket_id)
    return send_photo(ticket, photo_id)
