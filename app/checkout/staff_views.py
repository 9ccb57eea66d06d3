"""Staff payment actions on an order: record a transfer, refund, cancel, ask for the balance,
revise a commission's price.

Each action runs its service call(s) in ``with atomic():`` and maps checkout's errors to
flashes outside that block, so a refused action leaves nothing behind.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.accounts.access import staff_required
from app.accounts.permissions import Permission, permission_required
from app.checkout import forms, invoice_files, services
from app.checkout.models import Order
from app.checkout.views import document_response, flash_form_errors
from app.common.transactions import atomic
from app.domain.money import parse_major

staff_bp = Blueprint("checkout_staff", __name__, url_prefix="/staff")


# --- staff payment actions ----------------------------------------------------------------


def _staff_order(number: str) -> Order:
    order = services.get_order_by_number(number)
    if order is None:
        abort(404)
    return order


def _back(order: Order):
    return redirect(url_for("checkout_staff.order_payments", number=order.number))


@staff_bp.get("/payments")
@staff_required
def payments_index():
    return render_template(
        "checkout/staff_payments_list.html", overview=services.payments_overview()
    )


@staff_bp.get("/orders/<number>/payments")
@staff_required
def order_payments(number: str):
    order = _staff_order(number)
    return render_template(
        "checkout/staff_order_payments.html",
        order=order,
        balance_receipt=invoice_files.is_due(order, invoice_files.BALANCE_RECEIPT),
        mark_paid_form=forms.MarkPaidForm(formdata=None),
        refund_form=forms.RefundForm(formdata=None),
        cancel_form=forms.CancelOrderForm(formdata=None),
    )


@staff_bp.get("/orders/<number>/payments/invoice.pdf", defaults={"kind": invoice_files.INVOICE})
@staff_bp.get(
    "/orders/<number>/payments/balance-receipt.pdf",
    defaults={"kind": invoice_files.BALANCE_RECEIPT},
)
@staff_required
def document_pdf(number: str, kind: str):
    """The order's invoice or balance receipt, as the buyer downloads it."""
    return document_response(_staff_order(number), kind)


@staff_bp.post("/orders/<number>/payments/mark-paid")
@staff_required
@permission_required(Permission.MARK_PAID)
def mark_paid(number: str):
    order = _staff_order(number)
    form = forms.MarkPaidForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back(order)
    try:
        with atomic():
            services.mark_paid(
                order_id=order.id,
                by_user_id=current_user.id,
                reference=form.reference.data or "",
                customer_note=form.customer_note.data or "",
            )
    except services.CheckoutError as exc:
        flash(str(exc), "danger")
    else:
        flash(f"Order {order.number} is marked paid.", "success")
    return _back(order)


@staff_bp.post("/orders/<number>/payments/<int:payment_id>/refund")
@staff_required
@permission_required(Permission.REFUND)
def refund(number: str, payment_id: int):
    order = _staff_order(number)
    form = forms.RefundForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back(order)
    amount = parse_major(form.amount.data, order.currency).minor if form.amount.data else None
    try:
        with atomic():
            services.refund_payment(
                order_id=order.id,
                payment_id=payment_id,
                amount_minor=amount,
                reason=form.reason.data,
                by_user_id=current_user.id,
            )
    except services.OrderNotFound:
        abort(404)
    except services.CheckoutError as exc:
        flash(str(exc), "danger")
    else:
        flash("The refund is recorded.", "success")
    return _back(order)


@staff_bp.post("/orders/<number>/payments/cancel")
@staff_required
@permission_required(Permission.CANCEL_ORDER)
def cancel(number: str):
    order = _staff_order(number)
    form = forms.CancelOrderForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back(order)
    try:
        with atomic():
            services.cancel_order(
                order_id=order.id, by_user_id=current_user.id, reason=form.reason.data
            )
    except services.CheckoutError as exc:
        flash(str(exc), "danger")
    else:
        flash(f"Order {order.number} is cancelled.", "success")
    return _back(order)


@staff_bp.post("/orders/<number>/payments/request-balance")
@staff_required
def request_balance(number: str):
    order = _staff_order(number)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with atomic():
            services.request_balance(order_id=order.id, by_user_id=current_user.id)
    except services.CheckoutError as exc:
        flash(str(exc), "danger")
    else:
        flash("The buyer has been asked for the balance.", "success")
    return _back(order)


@staff_bp.route("/orders/<number>/payments/lines/<int:line_id>/revise", methods=["GET", "POST"])
@staff_required
@permission_required(Permission.REVISE_PRICE)
def revise(number: str, line_id: int):
    order = _staff_order(number)
    line = next((x for x in order.lines if x.id == line_id and x.is_custom), None)
    if line is None:
        abort(404)
    breakdown = line.frozen_breakdown()
    lines = breakdown.lines
    if request.method == "GET":
        form = forms.RevisionForm(
            formdata=None,
            data={"amounts": [forms.major_text(x.amount.minor, order.currency) for x in lines]},
        )
    else:
        form = forms.RevisionForm()
        while len(form.amounts) < len(breakdown.lines):
            form.amounts.append_entry()
    if form.validate_on_submit():
        try:
            with atomic():
                services.propose_revision(
                    order_id=order.id,
                    line_id=line.id,
                    amounts_minor=[parse_major(a, order.currency).minor for a in form.amounts.data],
                    extra_label=form.extra_label.data or "",
                    extra_minor=(
                        parse_major(form.extra_amount.data, order.currency).minor
                        if form.extra_amount.data
                        else 0
                    ),
                    note=form.note.data or "",
                    by_user_id=current_user.id,
                )
        except services.CheckoutError as exc:
            flash(str(exc), "danger")
        else:
            flash("The revised price is sent to the buyer for acceptance.", "success")
            return _back(order)
    status = 400 if form.is_submitted() else 200
    return (
        render_template(
            "checkout/staff_revision_new.html",
            order=order,
            line=line,
            breakdown=breakdown,
            form=form,
        ),
        status,
    )
