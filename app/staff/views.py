"""The staff workspace (/staff) and the customer's design decisions on their order page."""

from __future__ import annotations

from pathlib import PurePosixPath

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from app.accounts.access import staff_required
from app.accounts.permissions import Permission, permission_required
from app.checkout import services as checkout
from app.common.forms import choices
from app.common.transactions import atomic
from app.common.uploads import MAX_UPLOAD_BYTES, MAX_VIDEO_BYTES, UploadError, send_upload
from app.domain import production
from app.domain.packing import PACKING_ITEMS
from app.qc import services as qc
from app.qc.forms import QcForm
from app.staff import forms, services
from app.staff.models import DesignFile

bp = Blueprint("staff", __name__, url_prefix="/staff")
# One guard for every route of the blueprint: guests go to sign in, customers get 403.
bp.before_request(staff_required(lambda: None))
customer_bp = Blueprint("production", __name__)

# The design upload takes hand-finish proof videos (up to MAX_VIDEO_BYTES each), so its request
# may be larger than the app-wide MAX_CONTENT_LENGTH: one video and a few photos.
DESIGN_UPLOAD_ENDPOINT = "staff.send_design"
DESIGN_REQUEST_BYTES = MAX_VIDEO_BYTES + 14 * 1024 * 1024


@bp.url_value_preprocessor
def _design_upload_limit(endpoint: str | None, values: dict | None) -> None:
    # URL value preprocessors run before every before_request function, including the app-wide
    # CSRF check that reads the body, so the larger limit must be set here. Only signed-in staff
    # get it; anyone else keeps the app-wide limit (and is turned away by staff_required).
    if (
        endpoint == DESIGN_UPLOAD_ENDPOINT
        and current_user.is_authenticated
        and current_user.is_staff
    ):
        request.max_content_length = DESIGN_REQUEST_BYTES


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    mb = 1024 * 1024
    if (
        request.endpoint == DESIGN_UPLOAD_ENDPOINT
        and request.view_args
        and current_user.is_authenticated
        and current_user.is_staff
    ):
        flash(
            f"That upload is over {(request.max_content_length or 0) // mb} MB in total. "
            f"Send videos of up to {MAX_VIDEO_BYTES // mb} MB and images of up to "
            f"{MAX_UPLOAD_BYTES // mb} MB each, in fewer files per round if need be.",
            "warning",
        )
        return redirect(
            url_for(
                "staff.show_order",
                number=request.view_args["number"],
                _anchor=f"line-{request.view_args['line_id']}",
            )
        )
    return render_template(
        "errors/error.html",
        code=413,
        title="Too large",
        message="That upload is larger than we accept.",
    ), 413


@bp.app_context_processor
def production_helpers():
    # The customer's order page (checkout's template) includes staff/_order_production.html,
    # which asks for the production record of its `order` through this helper.
    return {
        "order_production": services.customer_production,
        "stage_label": production.stage_label,
        "customer_stage_label": production.customer_stage_label,
        "qc_template": production.QC_TEMPLATE,
        "format_grams": production.format_grams,
    }


def _uploads(field, caption: str = "") -> list[tuple[bytes, str]]:
    files = [f for f in field.data or [] if f and f.filename]
    return [(f.read(), caption or f.filename) for f in files]


def _order_or_404(number: str):
    try:
        return services.get_order(number)
    except services.OrderNotFound:
        abort(404)


def _line_of(order, line_id: int):
    for line in order.lines:
        if line.id == line_id:
            return line
    abort(404)


def _back(order, anchor: str | None = None):
    return redirect(url_for("staff.show_order", number=order.number, _anchor=anchor))


# --- the order list -------------------------------------------------------------------------


@bp.get("/orders")
def list_orders():
    form = forms.OrderLookupForm(request.args)
    number = (form.number.data or "").strip()
    if number:
        try:
            order = services.get_order(number)
        except services.OrderNotFound as exc:
            flash(str(exc), "warning")
        else:
            return redirect(url_for("staff.show_order", number=order.number))
    stage = request.args.get("stage") or None
    status = request.args.get("status") or None
    if stage and stage not in production.PRODUCTION_STAGES:
        flash(f"{stage[:30]!r} is not a production stage.", "warning")
        stage = None
    return render_template(
        "staff/order_list.html",
        orders=services.list_orders(stage=stage, status=status),
        stage=stage,
        status=status,
        lookup=form,
        stages=production.PRODUCTION_STAGES,
    )


@bp.get("/orders/<number>")
def show_order(number: str):
    return _show_order(_order_or_404(number))


@bp.get("/orders/<number>/packing-slip")
def packing_slip(number: str):
    """A printable slip for the box: the label address as its country writes it, the contents
    (no prices: the box may be opened by customs or a neighbour) and the packing checklist."""
    return render_template(
        "staff/packing_slip.html", order=_order_or_404(number), packing_items=PACKING_ITEMS
    )


def _show_order(
    order,
    *,
    deliver_form: forms.DeliverForm | None = None,
    status: int = 200,
    ticked: list[str] | None = None,
):
    return render_template(
        "staff/order_show.html",
        order=order,
        lines=services.order_production(order),
        move_form=forms.MoveForm(formdata=None),
        design_form=forms.DesignRoundForm(formdata=None),
        image_limit_mb=MAX_UPLOAD_BYTES // (1024 * 1024),
        video_limit_mb=MAX_VIDEO_BYTES // (1024 * 1024),
        confirm_form=forms.ConfirmForm(formdata=None),
        ship_form=_ship_form(order, formdata=None),
        deliver_form=deliver_form or forms.DeliverForm(formdata=None),
        packing_items=PACKING_ITEMS,
        packing_ticked=ticked or [],
    ), status


def _ship_form(order, formdata=None) -> forms.ShipForm:
    form = forms.ShipForm(formdata=formdata)
    form.currency = order.currency
    if formdata is None:
        form.insured_value.data = forms.major_text(
            services.default_insured_value(order), order.currency
        )
        form.carrier.data = order.carrier or ""
        form.tracking_number.data = order.tracking_number or ""
    return form


@bp.post("/orders/<number>/lines/<int:line_id>/move")
def move_line(number: str, line_id: int):
    order = _order_or_404(number)
    line = _line_of(order, line_id)
    form = forms.MoveForm()
    if not form.validate_on_submit():
        flash("That form was incomplete; try again.", "warning")
        return _back(order)
    try:
        with atomic():
            services.move_line(
                order_line_id=line.id,
                target=form.target.data,
                expected_stage=form.expected_stage.data or None,
                by_user_id=current_user.id,
                note=form.note.data or "",
            )
    except (services.TransitionRefused, services.ProductionError) as exc:
        flash(str(exc), "warning")
    else:
        flash(
            f"{line.product_name} moved to {production.stage_label(form.target.data)}.", "success"
        )
    return _back(order, f"line-{line.id}")


@bp.post("/orders/<number>/lines/<int:line_id>/pack")
def pack_line(number: str, line_id: int):
    """Record the packing ritual (every item ticked, a photo) and move the line to Packed."""
    order = _order_or_404(number)
    line = _line_of(order, line_id)
    form = forms.PackForm()
    if not form.validate_on_submit():
        flash("That form was incomplete; try again.", "warning")
        return _show_order(order, status=400)
    upload = form.photo.data
    try:
        with atomic():
            services.pack_line(
                order_line_id=line.id,
                items=request.form.getlist("items"),
                photo=upload.read() if upload and upload.filename else None,
                expected_stage=form.expected_stage.data or None,
                by_user_id=current_user.id,
                note=form.note.data or "",
            )
    except (services.PackingError, services.TransitionRefused, UploadError) as exc:
        flash(str(exc), "warning")
        return _show_order(order, status=400, ticked=request.form.getlist("items"))
    flash(f"{line.product_name} packed; the photo is on the order.", "success")
    return _back(order, f"line-{line.id}")


@bp.get("/orders/<number>/lines/<int:line_id>/packing-photo")
def packing_photo(number: str, line_id: int):
    return _send_packing_photo(_order_or_404(number), line_id)


def _send_packing_photo(order, line_id: int) -> Response:
    try:
        record = services.packing_photo_for(order=order, line_id=line_id)
    except services.PackingError:
        abort(404)
    suffix = PurePosixPath(record.photo_upload).suffix
    return send_upload(record.photo_upload, download_name=f"{order.number}-packed{suffix}")


@bp.post("/orders/<number>/lines/<int:line_id>/designs")
def send_design(number: str, line_id: int):
    order = _order_or_404(number)
    line = _line_of(order, line_id)
    form = forms.DesignRoundForm()
    if not form.validate_on_submit():
        flash("That form was incomplete; try again.", "warning")
        return _back(order)
    try:
        with atomic():
            design_round = services.send_design_round(
                order_line_id=line.id,
                kind=form.kind.data,
                files=_uploads(form.files, form.caption.data or ""),
                message=form.message.data or "",
                by_user_id=current_user.id,
            )
    except (services.ProductionError, services.TransitionRefused, UploadError) as exc:
        flash(str(exc), "warning")
    else:
        flash(f"{design_round.title} sent to the customer for approval.", "success")
    return _back(order, f"line-{line.id}")


@bp.post("/orders/<number>/lines/<int:line_id>/balance")
def balance_received(number: str, line_id: int):
    order = _order_or_404(number)
    line = _line_of(order, line_id)
    if not forms.ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with atomic():
            services.record_balance_paid(order_line_id=line.id, by_user_id=current_user.id)
    except services.TransitionRefused as exc:
        flash(str(exc), "warning")
    else:
        flash(f"{line.product_name}: balance received, ready to pack.", "success")
    return _back(order, f"line-{line.id}")


def _qc_form(context: qc.QcContext, formdata=None) -> QcForm:
    form = QcForm(formdata=formdata)
    form.artisan_id.choices = choices(
        [(0, "— choose —")] + [(u.id, qc.display_name(u)) for u in qc.staff_members()]
    )
    return form


@bp.route("/orders/<number>/lines/<int:line_id>/qc", methods=["GET", "POST"])
def line_qc(number: str, line_id: int):
    order = _order_or_404(number)
    line = _line_of(order, line_id)
    if line.stage != "qc":
        flash(
            f"QC is recorded at the Quality control stage; {line.product_name} is at "
            f"{production.stage_label(line.stage)}.",
            "warning",
        )
        return _back(order, f"line-{line.id}")
    with atomic():  # opens the piece's passport on first use
        context = services.line_context(line.id)
    form = _qc_form(context, formdata=None if request.method == "GET" else request.form)
    if request.method == "POST" and form.validate_on_submit():
        try:
            with atomic():
                check = services.record_line_check(
                    order_line_id=line.id,
                    checker_id=current_user.id,
                    artisan_id=form.artisan_id.data or None,
                    **form.results(),
                )
        except (production.FourEyesViolation, qc.QcError) as exc:
            form.form_errors.append(str(exc))
        else:
            if check.passed:
                flash(f"QC passed for {line.product_name}.", "success")
            else:
                flash(f"QC failed for {line.product_name}; send it back for rework.", "warning")
            return _back(order, f"line-{line.id}")
    status = 400 if request.method == "POST" else 200
    return render_template(
        "staff/qc_form.html",
        form=form,
        context=context,
        title=f"{line.product_name} {line.piece_label}".strip(),
        back_url=url_for("staff.show_order", number=order.number),
        action=url_for("staff.line_qc", number=order.number, line_id=line.id),
    ), status


@bp.get("/qc/<int:check_id>")
def qc_report(check_id: int):
    check = qc.get_check(check_id)
    if check is None:
        abort(404)
    return render_template("staff/qc_report.html", check=check)


@bp.post("/orders/<number>/ship")
def ship(number: str):
    order = _order_or_404(number)
    form = _ship_form(order, formdata=request.form)
    if not form.validate_on_submit():
        for field_errors in form.errors.values():
            for error in field_errors:
                flash(error, "warning")
        return _back(order, "shipping")
    try:
        with atomic():
            services.ship_order(
                order_id=order.id,
                carrier=form.carrier.data,
                tracking_number=form.tracking_number.data,
                insured_value_minor=form.insured_value_minor,
                by_user_id=current_user.id,
            )
    except (services.ProductionError, services.TransitionRefused) as exc:
        flash(str(exc), "warning")
    else:
        flash(f"Order {order.number} shipped; the customer has the tracking number.", "success")
    return _back(order)


@bp.post("/orders/<number>/deliver")
@permission_required(Permission.WORKSHOP)
def record_delivery(number: str):
    order = _order_or_404(number)
    form = forms.DeliverForm()
    if not form.validate_on_submit():
        return _show_order(order, deliver_form=form, status=400)
    try:
        with atomic():
            services.record_delivery(
                order_id=order.id,
                delivered_on=form.delivered_on.data,
                signed_by=form.signed_by.data,
                by_user_id=current_user.id,
            )
    except services.ProductionError as exc:
        form.signed_by.errors = []
        form.form_errors.append(str(exc))
        return _show_order(order, deliver_form=form, status=400)
    flash(
        f"Delivery of {order.number} recorded; the customer has the return and warranty dates.",
        "success",
    )
    return _back(order, "shipping")


@bp.get("/orders/<number>/designs/<int:file_id>")
def design_file(number: str, file_id: int):
    order = _order_or_404(number)
    try:
        item = services.design_file_for(order=order, file_id=file_id)
    except services.DesignError:
        abort(404)
    return _send_design_file(order, item)


def _send_design_file(order, item: DesignFile) -> Response:
    # A readable name for "Download the video" (the stored name is random); served inline, with
    # Range support for <video>.
    suffix = PurePosixPath(item.upload_name).suffix
    return send_upload(item.upload_name, download_name=f"{order.number}-design-{item.id}{suffix}")


# --- the customer's side: design decisions and files ----------------------------------------


def _customer_order(number: str):
    """The order if this visitor may see it (their own, or a guest's with its link); else 404."""
    try:
        return checkout.order_for_viewer(
            number=number,
            user_id=current_user.id if current_user.is_authenticated else None,
            guest_numbers=session.get("guest_orders", []),
            token=request.args.get("t") or request.form.get("t"),
        )
    except checkout.OrderNotFound:
        abort(404)


@customer_bp.post("/account/orders/<number>/designs/<int:round_id>")
def decide_design(number: str, round_id: int):
    order = _customer_order(number)
    form = forms.DesignDecisionForm()
    back = redirect(url_for("checkout.show_order", number=order.number, _anchor="production"))
    if not form.validate_on_submit():
        for field_errors in form.errors.values():
            for error in field_errors:
                flash(error, "warning")
        return back
    try:
        with atomic():
            design_round = services.decide_design_round(
                order=order,
                round_id=round_id,
                approve=form.decision.data == "approve",
                comment=form.comment.data or "",
                by_user_id=current_user.id if current_user.is_authenticated else None,
            )
    except (services.DesignError, services.TransitionRefused) as exc:
        flash(str(exc), "warning")
    else:
        if design_round.decision == "approved":
            flash(f"Thank you: you approved the {design_round.title.lower()}.", "success")
        else:
            flash("Thank you: the atelier will send a new version with your changes.", "success")
    return back


@customer_bp.get("/account/orders/<number>/lines/<int:line_id>/packing-photo")
def customer_packing_photo(number: str, line_id: int):
    return _send_packing_photo(_customer_order(number), line_id)


@customer_bp.get("/account/orders/<number>/design-files/<int:file_id>")
def customer_design_file(number: str, file_id: int):
    order = _customer_order(number)
    try:
        item = services.design_file_for(order=order, file_id=file_id)
    except services.DesignError:
        abort(404)
    return _send_design_file(order, item)
