"""Returns: the buyer's request page (/account/orders/<number>/return) and the staff board
(/staff/returns). Thin views: parse, call one service, map its errors to a message and a 4xx."""

from __future__ import annotations

from pathlib import PurePosixPath

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from app.accounts.access import staff_required
from app.accounts.permissions import Permission, permission_required
from app.checkout import services as checkout
from app.common.transactions import atomic
from app.common.uploads import UploadError, send_upload
from app.domain import returns as policy
from app.extensions import limiter
from app.returns import forms, services
from app.returns.models import RETURN_STATUSES, ReturnRequest

bp = Blueprint("returns", __name__)
staff_bp = Blueprint("returns_staff", __name__, url_prefix="/staff/returns")
staff_bp.before_request(staff_required(lambda: None))


# --- template globals for the order pages (checkout and staff include our partials) ----------


@bp.app_template_global()
def returns_policy_rules() -> tuple[tuple[str, str], ...]:
    """The returns policy's rules in the words the code applies (app.domain.returns)."""
    return policy.POLICY_RULES


@bp.app_template_global()
def studio_address_for_returns() -> str:
    return services.studio_address()


@bp.app_template_global()
def returns_for_buyer(order) -> services.ReturnOptions | None:
    """What the buyer's order page shows about returns; None before delivery with none asked."""
    if order.delivered_at is None:
        return None
    return services.return_options(order)


@bp.app_template_global()
def returns_for_staff(order) -> list[ReturnRequest]:
    return services.returns_for_order(order.id)


# --- the buyer's side ------------------------------------------------------------------------


def _token() -> str | None:
    return request.args.get("t") or request.form.get("t") or None


def _customer_order(number: str):
    """The order if this visitor may see it (their own, or a guest's with its link); else 404."""
    try:
        with atomic():  # a lapsed reservation is expired on the way
            order = checkout.order_for_viewer(
                number=number,
                user_id=current_user.id if current_user.is_authenticated else None,
                guest_numbers=checkout.guest_order_numbers(session),
                token=_token(),
            )
    except checkout.OrderNotFound:
        abort(404)
    if order.user_id is None and _token():
        checkout.remember_guest_order(session, number=order.number)
    return order


def _request_page(order, form: forms.ReturnRequestForm, *, status: int = 200, chosen=()):
    return render_template(
        "returns/return_request.html",
        order=order,
        options=services.return_options(order),
        form=form,
        chosen=[str(c) for c in chosen],
        max_photos=services.MAX_PHOTOS,
        token=_token() if order.user_id is None else None,
    ), status


def _line_ids() -> list[int]:
    ids = []
    for value in request.form.getlist("lines"):
        if not value.isdigit() or len(value) > 10:
            abort(400)
        ids.append(int(value))
    return ids


@bp.route("/account/orders/<number>/return", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def request_return(number: str):
    order = _customer_order(number)
    form = forms.ReturnRequestForm()
    if request.method == "GET":
        return _request_page(order, forms.ReturnRequestForm(formdata=None))
    line_ids = _line_ids()
    if not form.validate_on_submit():
        return _request_page(order, form, status=400, chosen=line_ids)
    photos = [f.read() for f in form.photos.data or [] if f and f.filename]
    try:
        with atomic():
            made = services.request_return(
                order=order,
                line_ids=line_ids,
                reason=form.reason.data,
                details=form.details.data or "",
                photos=photos,
                by_user_id=current_user.id if current_user.is_authenticated else None,
            )
    except services.WindowClosed as exc:
        flash(str(exc), "warning")
        return _request_page(order, form, status=409)
    except (services.ReturnError, UploadError) as exc:
        form.form_errors.append(str(exc))
        return _request_page(order, form, status=400, chosen=line_ids)
    flash(
        f"Your return request is with the atelier (request {made.id}); we reply by email "
        "with the return number and how to send the piece.",
        "success",
    )
    return redirect(url_for("returns.request_return", number=order.number, _anchor="returns"))


@bp.get("/account/orders/<number>/returns/<int:return_id>/photos/<int:photo_id>")
def customer_photo(number: str, return_id: int, photo_id: int):
    order = _customer_order(number)
    try:
        item = services.return_of_order(order=order, return_id=return_id)
        photo = services.photo_of(request=item, photo_id=photo_id)
    except services.ReturnError:
        abort(404)
    return send_upload(photo.upload)


# --- the atelier's side ----------------------------------------------------------------------


def _return_or_404(return_id: int) -> ReturnRequest:
    try:
        return services.get_return(return_id)
    except services.ReturnNotFound:
        abort(404)


def _show(item: ReturnRequest, *, status: int = 200, **forms_given):
    refund_form = forms_given.get("refund_form") or forms.RefundForm(formdata=None)
    refund_form.currency = item.order.currency
    return render_template(
        "returns/staff_return_show.html",
        item=item,
        order=item.order,
        confirm_form=forms.ConfirmForm(formdata=None),
        refuse_form=forms_given.get("refuse_form") or forms.RefuseForm(formdata=None),
        inspection_form=forms_given.get("inspection_form") or forms.InspectionForm(formdata=None),
        refund_form=refund_form,
        ticked=forms_given.get("ticked", item.inspection_items or []),
        inspection_items=policy.INSPECTION_ITEMS,
        reasons={code: label for code, label, _ in policy.REASONS},
        refund_method=services.refund_method_for(item),
        refundable_minor=services.refundable_for(item),
        refunds=services.refunds_of(item),
        studio_address=services.studio_address(),
    ), status


def _back(item: ReturnRequest):
    return redirect(url_for("returns_staff.show", return_id=item.id))


@staff_bp.get("")
def index():
    status = request.args.get("status", "open")
    if status not in RETURN_STATUSES + ("open", "all"):
        status = "open"
    return render_template(
        "returns/staff_return_list.html",
        returns=services.list_returns(status=status),
        status=status,
        statuses=("open", *RETURN_STATUSES, "all"),
    )


@staff_bp.get("/<int:return_id>")
def show(return_id: int):
    return _show(_return_or_404(return_id))


@staff_bp.get("/<int:return_id>/photos/<int:photo_id>")
def staff_photo(return_id: int, photo_id: int):
    item = _return_or_404(return_id)
    try:
        photo = services.photo_of(request=item, photo_id=photo_id)
    except services.ReturnError:
        abort(404)
    suffix = PurePosixPath(photo.upload).suffix
    return send_upload(photo.upload, download_name=f"return-{item.id}-{photo.id}{suffix}")


def _step(item: ReturnRequest, action, done: str):
    """Run one confirm-button step (approve, receive) and go back to the return."""
    if not forms.ConfirmForm().validate_on_submit():
        flash("That form expired; try again.", "warning")
        return _show(item, status=400)
    try:
        with atomic():
            action(return_id=item.id, by_user_id=current_user.id)
    except services.ReturnError as exc:
        flash(str(exc), "warning")
        return _show(item, status=409)
    flash(done, "success")
    return _back(item)


@staff_bp.post("/<int:return_id>/approve")
def approve(return_id: int):
    item = _return_or_404(return_id)
    return _step(item, services.approve_return, "Approved; the buyer has the RA number by email.")


@staff_bp.post("/<int:return_id>/receive")
def receive(return_id: int):
    item = _return_or_404(return_id)
    return _step(item, services.receive_return, "Arrival recorded on the pieces' passports.")


@staff_bp.post("/<int:return_id>/refuse")
def refuse(return_id: int):
    item = _return_or_404(return_id)
    form = forms.RefuseForm()
    if not form.validate_on_submit():
        flash("Give the reason for refusing.", "warning")
        return _show(item, status=400, refuse_form=form)
    try:
        with atomic():
            services.refuse_return(
                return_id=item.id, reason=form.reason.data, by_user_id=current_user.id
            )
    except services.ReturnError as exc:
        flash(str(exc), "warning")
        return _show(item, status=409, refuse_form=form)
    flash("Refused; the buyer has the reason by email.", "success")
    return _back(item)


@staff_bp.post("/<int:return_id>/inspect")
def inspect(return_id: int):
    item = _return_or_404(return_id)
    form = forms.InspectionForm()
    ticked = request.form.getlist("items")
    if not form.validate_on_submit():
        flash("Choose pass or fail.", "warning")
        return _show(item, status=400, inspection_form=form, ticked=ticked)
    try:
        with atomic():
            services.inspect_return(
                return_id=item.id,
                items=ticked,
                passed=form.verdict.data == "pass",
                notes=form.notes.data or "",
                by_user_id=current_user.id,
            )
    except services.ReturnError as exc:
        flash(str(exc), "warning")
        return _show(item, status=400, inspection_form=form, ticked=ticked)
    flash("Inspection recorded on the pieces' passports.", "success")
    return _back(item)


@staff_bp.post("/<int:return_id>/refund")
@permission_required(Permission.REFUND)
def refund(return_id: int):
    item = _return_or_404(return_id)
    form = forms.RefundForm()
    form.currency = item.order.currency
    if not form.validate_on_submit():
        flash("Check the refund form.", "warning")
        return _show(item, status=400, refund_form=form)
    try:
        with atomic():
            services.refund_return(
                return_id=item.id,
                by_user_id=current_user.id,
                amount_minor=form.amount_minor(),
                bank_reference=form.bank_reference.data or "",
            )
    except services.ReturnError as exc:
        flash(str(exc), "warning")
        return _show(item, status=409, refund_form=form)
    except checkout.RefundError as exc:
        # The card refund failed after the commit; checkout recorded it as failed.
        with atomic():
            services.reopen_failed_refund(return_id=item.id)
        flash(str(exc), "warning")
        return _back(item)
    flash("Refund recorded; the buyer is told by email.", "success")
    return _back(item)
