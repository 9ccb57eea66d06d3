"""Staff pages for try-on overlays: upload a transparent PNG and calibrate its band.

The preview composites the overlay, with the calibration still in the form, through the buyer's
own photo path (tryon.services.render_on_photo) on the shipped reference portrait or on the
staff member's photo or camera frame; those are held in memory only, never stored.
"""

from __future__ import annotations

import io
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import RequestEntityTooLarge

from app.accounts import services as accounts
from app.accounts.access import staff_required
from app.catalog import overlays
from app.common.transactions import atomic
from app.extensions import limiter
from app.staff.catalog_overlay_forms import CalibrationForm, OverlayUploadForm
from app.tryon import services as tryon

bp = Blueprint("catalog_overlays", __name__, url_prefix="/staff/catalog/overlays")

UPLOAD_BODY_LIMIT = overlays.MAX_OVERLAY_BYTES + 256 * 1024
PHOTO_BODY_LIMIT = tryon.MAX_PHOTO_BYTES + 512 * 1024  # a photo plus the calibration fields
BODY_LIMITS = {
    "catalog_overlays.upload": UPLOAD_BODY_LIMIT,
    "catalog_overlays.save_calibration": PHOTO_BODY_LIMIT,
    "catalog_overlays.preview": PHOTO_BODY_LIMIT,
}
# A preview runs face detection and compositing: plenty for clicking, not for a loop.
PREVIEW_RATE_LIMIT = "30 per minute"

ERROR_STATUS: dict[type[Exception], int] = {
    overlays.ProductNotFound: 404,
    overlays.MetalNotOffered: 404,
    overlays.OverlayNotFound: 404,
    overlays.OverlayReplaced: 409,
    overlays.OverlayRejected: 400,
    overlays.CalibrationRejected: 400,
    tryon.PhotoTooLarge: 413,
    tryon.TooManyPixels: 413,
    tryon.NotAnImage: 415,
    tryon.NoFaceFound: 422,
    tryon.TooBusy: 503,
    tryon.TryonError: 400,
}


def _status(exc: Exception) -> int:
    for cls in type(exc).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 400


def _memory_stream(*args: Any, **kwargs: Any) -> io.BytesIO:
    return io.BytesIO()


@bp.url_value_preprocessor
def _limit_body(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # Before every before_request hook (CSRF reads the form in one): the limit must hold first.
    limit = BODY_LIMITS.get(endpoint or "")
    if limit is not None:
        request.max_content_length = limit
        if request.content_length is not None and request.content_length > limit:
            raise RequestEntityTooLarge()
        # Photos and frames are held in memory only, never spooled to a temporary file.
        request._get_file_stream = _memory_stream  # type: ignore[method-assign]


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _error_page(status: int, title: str, message: str):
    return render_template("errors/error.html", code=status, title=title, message=message), status


def _json_error(message: str, status: int) -> Response:
    response = jsonify(error=message)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    if request.endpoint == "catalog_overlays.upload":
        message = (
            f"That file is over {overlays.MAX_OVERLAY_BYTES // (1024 * 1024)} MB; an overlay is "
            "a PNG of at most 3000 pixels a side, usually well under 2 MB."
        )
    else:
        message = (
            f"That photo is over {tryon.MAX_PHOTO_BYTES // (1024 * 1024)} MB; choose a smaller one."
        )
    if _wants_json():
        return _json_error(message, 413)
    return _error_page(413, "Too large", message)


@bp.errorhandler(CSRFError)
def _csrf_failed(error: CSRFError):
    message = "This page has expired; reload it and try again."
    if _wants_json():
        return _json_error(message, 400)
    return _error_page(400, "Form expired", message)


# --- the product's overlays -------------------------------------------------------------------


def _board_page(product_id: int, *, errors: dict[str, str] | None = None, status: int = 200):
    try:
        board = overlays.get_board(product_id=product_id)
    except overlays.ProductNotFound:
        abort(404)
    calibrators = {
        row.overlay.calibrated_by_id: accounts.get_user(row.overlay.calibrated_by_id)
        for row in board.metals
        if row.overlay is not None and row.overlay.calibrated_by_id is not None
    }
    return (
        render_template(
            "staff/catalog/overlay_index.html",
            board=board,
            calibrators=calibrators,
            form=OverlayUploadForm(formdata=None),
            errors=errors or {},
            limits=_limits(),
        ),
        status,
    )


def _limits() -> dict[str, Any]:
    return {
        "max_mb": overlays.MAX_OVERLAY_BYTES // (1024 * 1024),
        "min_width": overlays.MIN_OVERLAY_WIDTH,
        "min_height": overlays.MIN_OVERLAY_HEIGHT,
        "max_side": overlays.MAX_OVERLAY_SIDE,
        "min_mm": overlays.MIN_WIDTH_MM,
        "max_mm": overlays.MAX_WIDTH_MM,
    }


@bp.get("/<int:product_id>")
@staff_required
def show(product_id: int):
    return _board_page(product_id)


@bp.post("/<int:product_id>/<metal_code>")
@staff_required
def upload(product_id: int, metal_code: str):
    form = OverlayUploadForm()
    if not form.validate_on_submit():
        message = next((str(e[0]) for e in form.errors.values() if e), "Choose a PNG to upload.")
        return _board_page(product_id, errors={metal_code: message}, status=400)
    try:
        with atomic():
            overlay = overlays.upload_overlay(
                product_id=product_id,
                metal_code=metal_code,
                data=form.overlay.data.read(),
                by_user_id=current_user.id,
            )
            metal_name = overlay.metal.name
    except (overlays.ProductNotFound, overlays.MetalNotOffered):
        abort(404)
    except overlays.OverlayRejected as exc:
        return _board_page(product_id, errors={metal_code: str(exc)}, status=400)
    flash(
        f"Overlay uploaded for {metal_name}. Buyers will not see it until you place the band "
        "and save the calibration below.",
        "success",
    )
    return redirect(
        url_for("catalog_overlays.calibrate", product_id=product_id, metal_code=metal_code)
    )


# --- calibration ------------------------------------------------------------------------------


def _form_from_spec(found: overlays.OverlayForCalibration) -> CalibrationForm:
    spec = found.overlay.spec or {}
    left = spec.get("band_left") or [0, found.height - 1]
    right = spec.get("band_right") or [found.width - 1, found.height - 1]
    return CalibrationForm(
        formdata=None,
        version=found.overlay.path,
        band_left_x=left[0],
        band_left_y=left[1],
        band_right_x=right[0],
        band_right_y=right[1],
        width_mm=spec.get("width_mm"),
    )


def _calibration_page(
    product_id: int,
    metal_code: str,
    *,
    form: CalibrationForm | None = None,
    error: overlays.CalibrationRejected | None = None,
    status: int = 200,
):
    try:
        found = overlays.get_for_calibration(product_id=product_id, metal_code=metal_code)
    except overlays.OverlayError:
        abort(404)
    if form is None or isinstance(error, overlays.OverlayReplaced):
        form = _form_from_spec(found)
    calibrator = (
        accounts.get_user(found.overlay.calibrated_by_id)
        if found.overlay.calibrated_by_id
        else None
    )
    return (
        render_template(
            "staff/catalog/overlay_calibrate.html",
            found=found,
            product=found.product,
            metal=found.metal,
            overlay=found.overlay,
            form=form,
            error=error,
            calibrator=calibrator,
            limits=_limits(),
        ),
        status,
    )


@bp.get("/<int:product_id>/<metal_code>/calibrate")
@staff_required
def calibrate(product_id: int, metal_code: str):
    return _calibration_page(product_id, metal_code)


def _form_problem(form: CalibrationForm) -> overlays.CalibrationRejected:
    for name, errors in form.errors.items():
        if errors:
            field = getattr(form, name, None)
            label = field.label.text if field is not None and name != "version" else "The form"
            return overlays.CalibrationRejected(f"{label}: {errors[0]}", field=name)
    return overlays.CalibrationRejected("The form was incomplete.")


@bp.post("/<int:product_id>/<metal_code>/calibrate")
@staff_required
def save_calibration(product_id: int, metal_code: str):
    form = CalibrationForm()
    if not form.validate_on_submit():
        return _calibration_page(
            product_id, metal_code, form=form, error=_form_problem(form), status=400
        )
    try:
        with atomic():
            overlay = overlays.calibrate_overlay(
                product_id=product_id,
                metal_code=metal_code,
                band_left=form.band_left,
                band_right=form.band_right,
                width_mm=form.width_mm.data,
                version=form.version.data,
                by_user_id=current_user.id,
            )
            names = (overlay.product.name, overlay.metal.name)
    except (overlays.ProductNotFound, overlays.MetalNotOffered, overlays.OverlayNotFound):
        abort(404)
    except overlays.CalibrationRejected as exc:
        return _calibration_page(product_id, metal_code, form=form, error=exc, status=_status(exc))
    flash(f"Calibration saved: buyers can now try on the {names[0]} in {names[1]}.", "success")
    return redirect(url_for("catalog_overlays.show", product_id=product_id))


@bp.post("/<int:product_id>/<metal_code>/preview")
@limiter.limit(PREVIEW_RATE_LIMIT)
@staff_required
def preview(product_id: int, metal_code: str):
    """The overlay, with the calibration in the form (unsaved), on a face: a JPEG."""
    form = CalibrationForm()

    def refuse(message: str, status: int):
        if _wants_json():
            return _json_error(message, status)
        return _error_page(status, "No preview", message)

    if not form.validate_on_submit():
        return refuse(str(_form_problem(form)), 400)
    source = request.form.get("source", "reference")
    photo = form.photo.data.read() if form.photo.data else b""
    if source == "photo" and not photo:
        return refuse("Choose a photo of yourself (or take a camera frame) to preview on.", 400)
    try:
        proposed = overlays.proposed_calibration(
            product_id=product_id,
            metal_code=metal_code,
            band_left=form.band_left,
            band_right=form.band_right,
            width_mm=form.width_mm.data,
            version=form.version.data,
        )
        try:
            overlay = tryon.open_overlay(proposed.overlay.path)
        except (OSError, ValueError):
            raise overlays.OverlayNotFound(
                "The overlay's picture cannot be read just now; upload it again."
            ) from None
        rendered = tryon.render_on_photo(
            photo=photo if source == "photo" else tryon.reference_portrait(),
            overlay=overlay,
            spec=proposed.spec,
        )
    except (overlays.ProductNotFound, overlays.MetalNotOffered):
        abort(404)
    except tryon.TooBusy as exc:
        response = make_response(refuse(str(exc), 503))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except (overlays.OverlayError, tryon.TryonError) as exc:
        return refuse(str(exc), _status(exc))
    response = Response(rendered.jpeg, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = "inline; filename=overlay-preview.jpg"
    response.headers["X-Faces-Found"] = str(len(rendered.faces))
    return response
