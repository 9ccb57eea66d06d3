"""Cart, checkout, order pages and the Stripe webhook (staff payment actions: staff_views).

Each action runs its service call(s) in ``with atomic():`` and maps checkout's errors to
flashes or status codes outside that block, so a refused action leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, user_logged_in
from werkzeug.exceptions import NotFound

from app.checkout import cart_badge, forms, invoice_files, invoices, services
from app.checkout.models import Order
from app.checkout.services import address_book
from app.common.transactions import atomic
from app.common.visitors import visitor_key
from app.domain.orders import OrderStatus
from app.extensions import csrf, limiter

bp = Blueprint("checkout", __name__)


@bp.app_template_global("invoice_seller")
def invoice_seller() -> list[str]:
    return invoices.seller_lines()


GUEST_CART = cart_badge.GUEST_CART
T = TypeVar("T")


# --- whose cart -----------------------------------------------------------------------------


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _owner() -> services.CartOwner:
    if current_user.is_authenticated:
        if session.get(GUEST_CART):
            # Signed in without the login signal reaching us (e.g. a remembered session).
            _merge_guest_cart(current_user.id)
        return services.CartOwner(
            user_id=current_user.id, email=current_user.email, session_key=visitor_key(session)
        )
    items = services.items_from_session(session.get(GUEST_CART))
    return services.CartOwner(guest_items=tuple(items), session_key=visitor_key(session))


def _remember(items: list[services.CartItem]) -> None:
    if not current_user.is_authenticated:
        session[GUEST_CART] = services.items_to_session(items)


def _merge_guest_cart(user_id: int) -> None:
    items = services.items_from_session(session.pop(GUEST_CART, None))
    if items:
        with atomic():
            notices = services.merge_guest_cart(user_id=user_id, items=items)
        for notice in notices:
            flash(notice, "warning")


@user_logged_in.connect
def _merge_cart_on_login(sender, user, **extra) -> None:
    """A guest who signs in keeps what they put in the cart."""
    _merge_guest_cart(user.id)


def _remember_guest_order(order: Order) -> None:
    if order.user_id is None:
        services.remember_guest_order(session, number=order.number)


def _viewable(number: str) -> Order:
    """The order if this visitor may see it (owner, or guest with its link); else 404."""
    try:
        with atomic():  # a lapsed reservation is expired on the way
            return services.order_for_viewer(
                number=number,
                user_id=_user_id(),
                guest_numbers=services.guest_order_numbers(session),
                token=request.args.get("t"),
            )
    except services.OrderNotFound:
        abort(404)


# --- cart ---------------------------------------------------------------------------------


@bp.get("/cart")
def show_cart():
    summary = services.summarise_cart(owner=_owner())
    for problem in summary.problems:
        flash(problem, "warning")
    return render_template("checkout/cart_show.html", summary=summary)


def flash_form_errors(form) -> None:
    for errors in form.errors.values():
        for error in errors:
            flash(error if isinstance(error, str) else "Please check the form.", "warning")


@bp.post("/cart/items")
@limiter.limit("60 per minute")
def add_item():
    form = forms.AddToCartForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("checkout.show_cart"))
    owner = _owner()
    try:
        with atomic():
            added = services.add_to_cart(
                owner=owner,
                product_id=int(form.product_id.data),
                metal_code=form.metal.data,
                size_code=form.size.data,
                quantity=form.quantity.data,
            )
    except services.CheckoutError as exc:
        flash(str(exc), "warning")
    else:
        _remember(added.items)
        if added.is_short:
            flash(added.notice, "warning")
        else:
            flash("Added to your cart.", "success")
    return redirect(url_for("checkout.show_cart"))


@bp.post("/cart/items/update")
def update_item():
    form = forms.CartLineForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("checkout.show_cart"))
    owner = _owner()
    try:
        with atomic():
            items = services.set_quantity(
                owner=owner, key=form.key.data, quantity=form.quantity.data
            )
    except services.CheckoutError as exc:
        flash(str(exc), "warning")
    else:
        _remember(items)
        flash("Your cart is updated.", "success")
    return redirect(url_for("checkout.show_cart"))


@bp.post("/cart/items/remove")
def remove_item():
    form = forms.RemoveLineForm()
    if form.validate_on_submit():
        owner = _owner()
        with atomic():
            items = services.remove_from_cart(owner=owner, key=form.key.data)
        _remember(items)
        flash("Removed from your cart.", "info")
    return redirect(url_for("checkout.show_cart"))


# --- checkout -----------------------------------------------------------------------------


def _details(form: forms.CheckoutForm) -> services.ShippingDetails:
    address = form.postal_address  # as its country writes it (validated with the form)
    return services.ShippingDetails(
        email=form.email.data,
        name=form.name.data,
        phone=form.phone.data or "",
        address_line1=address.line1,
        address_line2=address.line2,
        city=address.city,
        region=address.region,
        postal_code=address.postal_code,
        country=address.country,
        event_date=form.event_date.data,
        notes=form.notes.data or "",
    )


def _after_placing(order: Order):
    _remember_guest_order(order)
    if order.payment_method == "stripe":
        return redirect(url_for("checkout.pay", number=order.number))
    flash("Thank you — your order is placed. Bank transfer details are below.", "success")
    return redirect(url_for("checkout.show_order", number=order.number))


@bp.route("/checkout", methods=["GET", "POST"])
@limiter.limit("15 per minute; 60 per hour", methods=["POST"])
def checkout():
    owner = _owner()
    summary = services.summarise_cart(owner=owner)
    if summary.is_empty:
        flash("Your cart is empty.", "info")
        return redirect(url_for("checkout.show_cart"))
    form = forms.CheckoutForm(payment_methods=services.available_payment_methods())
    if not form.is_submitted() and current_user.is_authenticated:
        form.email.data = current_user.email
        form.name.data = current_user.name
        latest = address_book.latest_address(user_id=current_user.id)
        if latest:
            form.fill(latest)
    late = False
    if form.validate_on_submit():
        late = services.late_for_event(event_date=form.event_date.data, ship_by=summary.ship_by)
        if not late or form.accept_late.data:
            try:
                with atomic():
                    order = services.place_order(
                        owner=owner,
                        details=_details(form),
                        payment_method=form.payment_method.data,
                        policy_accepted=form.accept_policy.data,
                        care_plan_id=request.form.get("care_plan", ""),
                    )
            except services.SoldOut as exc:
                flash(str(exc), "danger")
                return redirect(url_for("checkout.show_cart"))
            except services.CheckoutError as exc:
                flash(str(exc), "danger")
            else:
                session.pop(GUEST_CART, None)
                return _after_placing(order)
    status = 400 if form.is_submitted() and not late else 200
    return (
        render_template(
            "checkout/order_new.html",
            form=form,
            summary=summary,
            late=late,
            plan_quotes=services.quote_plans(
                breakdowns=[(line.breakdown, line.item.quantity) for line in summary.lines],
                currency=summary.currency,
            ),
            chosen_plan=request.form.get("care_plan", "")[:12],
        ),
        status,
    )


# --- orders -------------------------------------------------------------------------------


@bp.get("/account/orders")
@login_required
def list_orders():
    with atomic():  # lapsed reservations are expired on the way
        orders = services.orders_for_user(current_user.id)
    return render_template("checkout/order_list.html", orders=orders)


@bp.get("/account/orders/<number>")
def show_order(number: str):
    try:
        order = _viewable(number)
    except NotFound:
        # Not for this browser (or no such order: the page is the same): offer the link by email.
        return _order_link_page(number, forms.OrderLinkForm(formdata=None)), 404
    if request.args.get("t"):
        # Remember the signed link for this browser and drop it from the address bar.
        _remember_guest_order(order)
        return redirect(url_for("checkout.show_order", number=order.number))
    methods = services.available_payment_methods()
    return render_template(
        "checkout/order_show.html",
        order=order,
        method_form=forms.PaymentMethodForm(formdata=None, payment_methods=methods),
        bank=services.setting("BANK_TRANSFER_DETAILS"),
        aftersale=services.aftersale_terms(order),
        balance_receipt=invoice_files.is_due(order, invoice_files.BALANCE_RECEIPT),
    )


def _order_link_page(number: str, form: forms.OrderLinkForm, *, sent: bool = False) -> str:
    return render_template(
        "checkout/order_link_request.html", number=number[:20], form=form, sent=sent
    )


@bp.post("/account/orders/<number>/link")
@limiter.limit("5 per hour")
@limiter.limit("5 per hour", key_func=lambda: f"order-link:{request.view_args.get('number', '')}")
def request_order_link(number: str):
    """Email an order's link to the address it was placed with; the answer never says whether
    the order exists or the address matched."""
    form = forms.OrderLinkForm()
    if not form.validate_on_submit():
        return _order_link_page(number, form), 400
    with atomic():
        services.request_order_link(number=number[:20], email=form.email.data)
    return _order_link_page(number, forms.OrderLinkForm(formdata=None), sent=True)


@bp.route("/account/orders/<number>/confirm-email", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def confirm_email(number: str):
    """A guest confirms their address from the emailed link (a button: GET changes nothing)."""
    token = request.values.get("t", "")
    try:
        order = services.order_for_confirm_token(number=number, token=token)
    except services.OrderNotFound:
        abort(404)
    form = forms.ConfirmForm()
    result = None
    if form.validate_on_submit():
        with atomic():
            result = services.confirm_order_email(order_id=order.id)
        _remember_guest_order(order)
    elif form.is_submitted():
        abort(400)
    methods = services.available_payment_methods()
    return render_template(
        "checkout/order_confirm_email.html",
        order=order,
        token=token,
        form=form,
        result=result,
        method_form=forms.PaymentMethodForm(formdata=None, payment_methods=methods),
    )


@bp.get("/account/orders/<number>/status.json")
def order_status(number: str):
    order = _viewable(number)
    return jsonify(status=order.status, label=order.status_label)


@bp.get("/account/orders/<number>/pay")
def pay(number: str):
    order = _viewable(number)
    try:
        with atomic():
            card = services.card_payment(order_id=order.id)
    except services.CheckoutError as exc:
        flash(str(exc), "warning")
        return redirect(url_for("checkout.show_order", number=order.number))
    return render_template("checkout/order_pay.html", order=order, card=card)


@bp.get("/account/orders/<number>/payment-return")
def payment_return(number: str):
    # Stripe sends the buyer back here; only the signed webhook marks anything paid.
    order = _viewable(number)
    if order.status == OrderStatus.AWAITING_PAYMENT or order.balance_requested_at:
        flash("Thank you — we are confirming your payment; this page updates by itself.", "info")
    return redirect(url_for("checkout.show_order", number=order.number))


def _pay_by_chosen_method(number: str, start: Callable[..., T]) -> tuple[Order, T | None]:
    """Run ``start(order_id=, payment_method=)`` with the method the buyer chose on the order page.

    A malformed form is a 400; a refusal is flashed and gives None, for the caller to send the
    buyer back to the order.
    """
    order = _viewable(number)
    form = forms.PaymentMethodForm(payment_methods=services.available_payment_methods())
    if not form.validate_on_submit():
        abort(400)
    try:
        with atomic():
            return order, start(order_id=order.id, payment_method=form.payment_method.data)
    except services.CheckoutError as exc:
        flash(str(exc), "danger")
        return order, None


@bp.post("/account/orders/<number>/retry")
def retry(number: str):
    order, retried = _pay_by_chosen_method(number, services.retry_payment)
    if retried is None:
        return redirect(url_for("checkout.show_order", number=order.number))
    return _after_placing(retried)


@bp.post("/account/orders/<number>/balance")
def pay_balance(number: str):
    order, payment = _pay_by_chosen_method(number, services.start_balance_payment)
    if payment is not None and payment.method == "stripe":
        return redirect(url_for("checkout.pay", number=order.number))
    if payment is not None:  # a bank transfer: the order page shows the reference
        flash("Thank you — transfer the balance with the reference below.", "success")
    return redirect(url_for("checkout.show_order", number=order.number))


@bp.post("/account/orders/<number>/revisions/<int:revision_id>/accept")
def accept_revision(number: str, revision_id: int):
    order = _viewable(number)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with atomic():
            services.accept_revision(order_id=order.id, revision_id=revision_id)
    except services.OrderNotFound:
        abort(404)
    except services.CheckoutError as exc:
        flash(str(exc), "danger")
    else:
        flash("Thank you — the revised price is accepted.", "success")
    return redirect(url_for("checkout.show_order", number=order.number))


@bp.route("/account/orders/<number>/complete", methods=["GET", "POST"])
def complete(number: str):
    order = _viewable(number)
    if order.status != OrderStatus.DRAFT:
        return redirect(url_for("checkout.show_order", number=order.number))
    form = forms.CheckoutForm(payment_methods=services.available_payment_methods())
    if not form.is_submitted():
        form.email.data = order.email
        form.name.data = order.name
        form.event_date.data = order.event_date  # from the consultation, if it had one
    late = False
    if form.validate_on_submit():
        late = services.late_for_event(
            event_date=form.event_date.data, ship_by=order.promised_ship_date
        )
        if not late or form.accept_late.data:
            try:
                with atomic():
                    order = services.complete_draft(
                        order_id=order.id,
                        details=_details(form),
                        payment_method=form.payment_method.data,
                        policy_accepted=form.accept_policy.data,
                        care_plan_id=request.form.get("care_plan", ""),
                    )
            except services.CheckoutError as exc:
                flash(str(exc), "danger")
            else:
                return _after_placing(order)
    status = 400 if form.is_submitted() and not late else 200
    return (
        render_template(
            "checkout/order_complete.html",
            form=form,
            order=order,
            late=late,
            plan_quotes=services.quote_plans(
                breakdowns=[(line.frozen_breakdown(), 1) for line in order.lines],
                currency=order.currency,
            ),
            chosen_plan=request.form.get("care_plan", "")[:12],
        ),
        status,
    )


@bp.get("/account/orders/<number>/invoice")
def invoice(number: str):
    order = _viewable(number)
    return render_template(
        "checkout/invoice_show.html",
        order=order,
        awaited=invoices.pending_bank_payment(order),
        bank=services.setting("BANK_TRANSFER_DETAILS"),
        shipping_note=invoices.shipping_note(order),
    )


def document_response(order: Order, kind: str) -> Response:
    """The order's ``kind`` document as a PDF download; 404 while the order has not earned it."""
    pdf = invoice_files.document_pdf(order, kind)
    if pdf is None:
        abort(404)
    name = invoice_files.download_name(order, kind)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.get("/account/orders/<number>/invoice.pdf")
def invoice_pdf(number: str):
    return document_response(_viewable(number), invoice_files.INVOICE)


@bp.get("/account/orders/<number>/balance-receipt.pdf")
def balance_receipt_pdf(number: str):
    return document_response(_viewable(number), invoice_files.BALANCE_RECEIPT)


# --- Stripe -------------------------------------------------------------------------------


@bp.post("/stripe/webhook")
@csrf.exempt
def stripe_webhook():
    try:
        with atomic():
            outcome = services.handle_stripe_webhook(
                payload=request.get_data(cache=False),
                signature_header=request.headers.get("Stripe-Signature", ""),
            )
    except services.WebhookRejected:
        return jsonify(error="invalid signature"), 400
    return jsonify(received=True, outcome=outcome)
