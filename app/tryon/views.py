"""Try-on pages and their JSON endpoints: live pose, full-size snapshots, photo mode, snapshots."""

from __future__ import annotations

import io
import re
import time
from functools import lru_cache
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from limits import RateLimitItem, parse_many
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, TooManyRequests

from app.common.input_guards import FORM_TYPES
from app.common.transactions import atomic
from app.common.uploads import send_upload
from app.extensions import csrf, limiter
from app.tryon import services, size_advice
from app.tryon.forms import DeleteSnapshotForm, PhotoForm, PoseForm, SnapshotForm

bp = Blueprint("tryon", __name__, url_prefix="/tryon")

# CSRF is checked in _guard_request instead of by CSRFProtect's app-wide hook: that hook reads
# the form, and the body limit (_limit_body) must be in force before anything reads the body.
csrf.exempt(bp)

API_ENDPOINTS = frozenset({"tryon.api_pose", "tryon.api_snapshot"})
PHOTO_BODY_LIMIT = services.MAX_PHOTO_BYTES + 512 * 1024  # the photo plus form fields
BODY_LIMITS = {
    "tryon.api_pose": services.MAX_FRAME_BYTES + 16 * 1024,
    "tryon.api_snapshot": PHOTO_BODY_LIMIT,
    "tryon.photo": PHOTO_BODY_LIMIT,
}
DEFAULT_POSE_RATE_LIMIT = "20 per second"
# Full-size photos cost far more than frames (a decode, a composite, a JPEG): one shared budget
# for the JSON snapshot and the form, per client.
DEFAULT_PHOTO_RATE_LIMIT = "10 per minute"
PHOTO_LIMIT_SCOPE = "tryon-photo"
# The page sends at most this many frames a second, each at most this wide.
POSE_FRAMES_PER_SECOND = 15
POSE_FRAME_WIDTH = 320

STATUS_CODES: dict[type[services.TryonError], int] = {
    services.PieceNotFound: 404,
    services.UnknownMetal: 400,
    services.SnapshotNotFound: 404,
    services.EmptyPhoto: 400,
    services.PhotoTooLarge: 413,
    services.TooManyPixels: 413,
    services.NotAnImage: 415,
    services.CorruptImage: 400,
    services.PhotoTooSmall: 400,
    services.FrameTooLarge: 413,
    services.FrameTooWide: 400,
    services.NoFaceFound: 422,
    services.TooBusy: 503,
}


def _status(exc: services.TryonError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return 400


def _memory_stream(*args: Any, **kwargs: Any) -> io.BytesIO:
    return io.BytesIO()


@bp.url_value_preprocessor
def _limit_body(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # A URL value preprocessor, because Flask runs these before every before_request hook, the
    # app's included: app.common.input_guards reads the form in one, and these limits must be
    # in force before anything reads the body.
    limit = BODY_LIMITS.get(endpoint or "")
    if limit is not None:
        request.max_content_length = limit
        # Refuse from the header alone; without one Werkzeug stops reading at the limit.
        if request.content_length is not None and request.content_length > limit:
            raise RequestEntityTooLarge()
        # Werkzeug spools file parts over 500 KB to a temporary file; frames and photos are
        # only ever held in memory.
        request._get_file_stream = _memory_stream  # type: ignore[method-assign]


@bp.before_request
def _guard_request() -> None:
    if request.endpoint != "tryon.api_pose" and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()


def _is_api() -> bool:
    return request.endpoint in API_ENDPOINTS


def _json_error(message: str, status: int):
    response = jsonify(error=message)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _too_large_message() -> str:
    if request.endpoint == "tryon.api_pose":
        return f"Live frames must be under {services.MAX_FRAME_BYTES // 1024} KB."
    return (
        f"That photo is over {services.MAX_PHOTO_BYTES // (1024 * 1024)} MB. Please choose a "
        "smaller one (most phone photos are 2 to 5 MB)."
    )


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    if _is_api():
        return _json_error(_too_large_message(), 413)
    if request.endpoint == "tryon.photo" and request.view_args:
        return _page_for_error(request.view_args["slug"], _too_large_message(), 413)
    return render_template(
        "errors/error.html", code=413, title="Too large", message=_too_large_message()
    ), 413


@bp.errorhandler(CSRFError)
def _csrf_failed(error: CSRFError):
    message = "This page has expired; reload it and try again."
    if _is_api():
        return _json_error(message, 400)
    if request.endpoint == "tryon.photo" and request.view_args:
        return _page_for_error(request.view_args["slug"], message, 400)
    return render_template(
        "errors/error.html", code=400, title="Form expired", message=message
    ), 400


@bp.errorhandler(TooManyRequests)
def _too_many(error: TooManyRequests):
    # The pose endpoint answers its own 429 (_pose_over_rate_limit): Flask-Limiter skips it.
    if _is_api():
        response = _json_error(TOO_MANY_PHOTOS, 429)
    elif request.endpoint == "tryon.photo" and request.view_args:
        response = make_response(_page_for_error(request.view_args["slug"], TOO_MANY_PHOTOS, 429))
    else:
        response = make_response(
            render_template(
                "errors/error.html", code=429, title="Slow down", message="Try again in a moment."
            ),
            429,
        )
    retry_after = _retry_after()
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.errorhandler(400)
def _bad_request(error: HTTPException):
    # Werkzeug's own 400s (a malformed body, say): JSON on the JSON endpoints.
    if _is_api():
        return _json_error("The request could not be read.", 400)
    return render_template(
        "errors/error.html", code=400, title="Bad request", message=error.description
    ), 400


@bp.errorhandler(500)
def _server_error(error: HTTPException):
    if _is_api():
        return _json_error("Something went wrong; please try again in a moment.", 500)
    return render_template(
        "errors/error.html",
        code=500,
        title="Something went wrong",
        message="Please try again in a moment.",
    ), 500


TOO_MANY_PHOTOS = "That is a lot of photos in a short time; please wait a minute and try again."


def _retry_after() -> int | None:
    # Seconds until the window of the limit that was hit resets (Flask-Limiter knows it).
    limit = limiter.current_limit
    if limit is None:
        return None
    return _seconds_until(limit.reset_at)


def _seconds_until(reset_at: int) -> int:
    """Retry-After for a window that resets at ``reset_at`` (epoch seconds): at least 1."""
    return max(1, reset_at - int(time.time()))


def pose_rate_limit() -> str:
    return current_app.config.get("TRYON_POSE_RATE_LIMIT", DEFAULT_POSE_RATE_LIMIT)


@lru_cache(maxsize=8)
def _parsed_limits(text: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(text))


# The pose endpoint counts its frames itself, one hit in the limiter's storage (Redis when
# configured, shared by every worker) against the same per-client key; Flask-Limiter's own
# before_request hook and decorator would resolve and filter its limits twice per frame, about
# a tenth of a millisecond of Python on every frame, for one hit. Flask-Limiter is told to skip
# this endpoint (the filter below), so it has no app-wide or default limit to apply to it either.
POSE_LIMIT_SCOPE = "tryon.api_pose"


@limiter.request_filter
def _pose_counts_its_own_frames() -> bool:
    return request.endpoint == POSE_LIMIT_SCOPE


def _pose_over_rate_limit():
    """The 429 answer when this client is over the pose rate limit, else None (one hit)."""
    if not limiter.enabled:
        return None
    # The key Flask-Limiter's decorator used: its prefix (if configured), the client, the view.
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX")
    key = (*((prefix,) if prefix else ()), get_remote_address(), POSE_LIMIT_SCOPE)
    for item in _parsed_limits(pose_rate_limit()):
        if not limiter.limiter.hit(item, *key):
            response = _json_error("Too many frames; slowing down.", 429)
            # Flask-Limiter's own reset_at for the window: its reset time, rounded up.
            reset_at = int(limiter.limiter.get_window_stats(item, *key).reset_time + 1)
            response.headers["Retry-After"] = str(_seconds_until(reset_at))
            return response
    return None


def photo_rate_limit() -> str:
    return current_app.config.get("TRYON_PHOTO_RATE_LIMIT", DEFAULT_PHOTO_RATE_LIMIT)


def _busy_json(exc: services.TooBusy):
    response = _json_error(str(exc), 503)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _first_error(form) -> str:
    for errors in form.errors.values():
        if errors:
            return str(errors[0])
    return "The request was incomplete."


# --- pages -----------------------------------------------------------------------------------


def _page_data(piece: services.TryonPiece) -> dict[str, Any]:
    """What tryon.js needs: every piece it can switch to, URLs and limits."""
    pieces = []
    for choice in services.tryon_catalogue():
        pieces.append(
            {
                "slug": choice.slug,
                "name": choice.name,
                "kind": choice.kind,
                "default_metal": choice.default_metal,
                "page_url": url_for("tryon.show", slug=choice.slug),
                "photo_url": url_for("tryon.photo", slug=choice.slug),
                "shop_url": url_for("catalog.show", slug=choice.slug),
                "metals": [
                    {
                        "code": m.code,
                        "name": m.name,
                        "overlay_url": url_for("catalog.product_media", filename=m.overlay_path),
                        "spec": m.spec,
                    }
                    for m in choice.metals
                ],
            }
        )
    return {
        "current": {"product": piece.slug, "metal": piece.metal_code},
        "pieces": pieces,
        "urls": {
            "pose": url_for("tryon.api_pose"),
            "snapshot": url_for("tryon.api_snapshot"),
            "fit_guide": url_for("main.fit_guide"),
        },
        "signed_in": current_user.is_authenticated,
        "sizes": size_advice.size_table(),
        "limits": {
            "max_photo_bytes": services.MAX_PHOTO_BYTES,
            "frame_width": POSE_FRAME_WIDTH,
            "frames_per_second": POSE_FRAMES_PER_SECOND,
        },
    }


def _render_page(
    piece: services.TryonPiece,
    *,
    form: PhotoForm | None = None,
    error: str | None = None,
    result: services.PhotoResult | None = None,
    saved: Any = None,
    status: int = 200,
):
    form = form or PhotoForm(formdata=None, metal=piece.metal_code)
    form.metal.data = piece.metal_code
    return (
        render_template(
            "tryon/tryon_show.html",
            piece=piece,
            form=form,
            error=error,
            result=result,
            saved=saved,
            page_data=_page_data(piece),
        ),
        status,
    )


def _page_for_error(slug: str, message: str, status: int):
    try:
        piece = services.get_piece(slug=slug)
    except services.PieceNotFound:
        # Called from error handlers, where abort() would become a 500: answer the error as is.
        page = render_template("errors/error.html", code=status, title="Try-on", message=message)
        return page, status
    return _render_page(piece, error=message, status=status)


@bp.get("/")
def choose():
    """The piece picker without JavaScript: go to the chosen piece's page."""
    slug = request.args.get("piece", "")[:80]
    metal = request.args.get("metal") or None
    try:
        piece = services.get_piece(slug=slug, metal_code=metal)
    except services.UnknownMetal:
        piece = services.get_piece(slug=slug)
    except services.PieceNotFound:
        abort(404)
    return redirect(url_for("tryon.show", slug=piece.slug, metal=piece.metal_code))


@bp.get("/<slug>")
def show(slug: str):
    status = 200
    try:
        piece = services.get_piece(slug=slug, metal_code=request.args.get("metal") or None)
    except services.UnknownMetal as exc:
        flash(str(exc), "warning")
        piece = services.get_piece(slug=slug)
        status = 400
    except services.PieceNotFound as exc:
        return render_template(
            "errors/error.html", code=404, title="Not found", message=str(exc)
        ), 404
    return _render_page(piece, status=status)


@bp.post("/<slug>/photo")
@limiter.shared_limit(photo_rate_limit, scope=PHOTO_LIMIT_SCOPE)
def photo(slug: str):
    """Photo mode without JavaScript: the page comes back with the picture (or the reason)."""
    form = PhotoForm()
    metal = form.metal.data or None
    try:
        piece = services.get_piece(slug=slug, metal_code=metal)
    except services.UnknownMetal as exc:
        return _page_for_error(slug, str(exc), 400)
    except services.PieceNotFound:
        abort(404)
    if not form.validate():
        return _render_page(piece, form=form, status=400)
    save = form.save.data and current_user.is_authenticated
    data = form.photo.data.read()
    saved = None
    try:
        if save:
            with atomic():
                saved = services.save_snapshot(
                    user_id=current_user.id, photo=data, slug=slug, metal_code=metal
                )
            result = saved.result
        else:
            result = services.try_on_photo(photo=data, slug=slug, metal_code=metal)
    except services.TooBusy as exc:
        response = make_response(_render_page(piece, form=form, error=str(exc), status=503))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except services.TryonError as exc:
        return _render_page(piece, form=form, error=str(exc), status=_status(exc))
    return _render_page(
        piece, form=form, result=result, saved=_snapshot_links(saved.snapshot) if saved else None
    )


# --- JSON endpoints --------------------------------------------------------------------------


# The page posts the frame itself as the body (its Blob's type) with the piece in the query
# string: no multipart to build or parse. A multipart form (frame, product, metal) still works.
FRAME_BODY_TYPES = frozenset({"image/jpeg", "image/webp", "image/png"})
MAX_PRODUCT_CHARS = 80
MAX_METAL_CHARS = 32
# The page names each camera stream (random, per start of the camera) so its face is tracked.
STREAM_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _pose_from_body() -> tuple[bytes, str, str | None] | str:
    """The frame, product and metal of a raw-body pose request, or what is wrong with it."""
    product = request.args.get("product", "")
    metal = request.args.get("metal") or None
    if not product:
        return "Say which piece to try on."
    if len(product) > MAX_PRODUCT_CHARS:
        return f"Field must be between 1 and {MAX_PRODUCT_CHARS} characters long."
    if metal is not None and len(metal) > MAX_METAL_CHARS:
        return f"Field cannot be longer than {MAX_METAL_CHARS} characters long."
    return request.get_data(cache=False), product, metal


def _pose_from_form() -> tuple[bytes, str, str | None] | str:
    form = PoseForm()
    if not form.validate():
        return _first_error(form)
    return form.frame.data.read(), form.product.data, form.metal.data or None


@bp.post("/api/pose")
def api_pose():
    """Place the piece on one small live frame; the answer is in that frame's pixels."""
    over_limit = _pose_over_rate_limit()
    if over_limit is not None:
        return over_limit
    if request.mimetype in FRAME_BODY_TYPES:
        parsed = _pose_from_body()
    elif request.mimetype in FORM_TYPES:
        parsed = _pose_from_form()
    else:
        return _json_error(
            "Send the frame as an image/jpeg or image/webp body (or a multipart form).", 415
        )
    if isinstance(parsed, str):
        return _json_error(parsed, 400)
    frame, slug, metal = parsed
    stream = request.args.get("stream")
    if stream is not None and not STREAM_ID.fullmatch(stream):
        return _json_error("The stream id must be 16 to 64 letters, digits, - or _.", 400)
    try:
        result = services.locate_piece(
            frame=frame,
            slug=slug,
            metal_code=metal,
            # Scoped to the client: a stream id sent from elsewhere is another stream.
            stream=f"{get_remote_address()} {stream}" if stream else None,
        )
    except services.TryonError as exc:
        return _json_error(str(exc), _status(exc))
    response = jsonify(result.to_json())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api/snapshot")
@limiter.shared_limit(photo_rate_limit, scope=PHOTO_LIMIT_SCOPE)
def api_snapshot():
    """Composite a camera frame or photo at full size; with save=1 keep it in the account."""
    form = SnapshotForm()
    if not form.validate():
        return _json_error(_first_error(form), 400)
    if form.save.data and not current_user.is_authenticated:
        return _json_error("Sign in to save pictures to your account.", 401)
    data = form.image.data.read()
    metal = form.metal.data or None
    try:
        if form.save.data:
            with atomic():
                saved = services.save_snapshot(
                    user_id=current_user.id, photo=data, slug=form.product.data, metal_code=metal
                )
            document = saved.result.to_json()
            document["snapshot"] = _snapshot_links(saved.snapshot)
        else:
            result = services.try_on_photo(photo=data, slug=form.product.data, metal_code=metal)
            document = result.to_json()
            document["snapshot"] = None
    except services.TooBusy as exc:
        return _busy_json(exc)
    except services.TryonError as exc:
        return _json_error(str(exc), _status(exc))
    response = jsonify(document)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- saved snapshots -------------------------------------------------------------------------


def _snapshot_links(snapshot) -> dict[str, Any]:
    booking = "booking.new_consultation"
    return {
        "id": snapshot.id,
        "image_url": url_for("tryon.snapshot_image", snapshot_id=snapshot.id),
        "list_url": url_for("tryon.snapshots"),
        "consultation_url": (
            url_for(booking, snapshot=snapshot.id)
            if booking in current_app.view_functions
            else None
        ),
    }


@bp.get("/snapshots")
@login_required
def snapshots():
    return render_template(
        "tryon/snapshot_list.html",
        snapshots=services.list_snapshots(user_id=current_user.id),
        delete_form=DeleteSnapshotForm(),
    )


@bp.get("/snapshots/<int:snapshot_id>/image")
@login_required
def snapshot_image(snapshot_id: int):
    try:
        snapshot = services.get_snapshot(snapshot_id=snapshot_id, user_id=current_user.id)
    except services.SnapshotNotFound:
        abort(404)
    return send_upload(snapshot.image_name, download_name=f"diadem-snapshot-{snapshot.id}.jpg")


@bp.post("/snapshots/<int:snapshot_id>/delete")
@login_required
def delete_snapshot(snapshot_id: int):
    form = DeleteSnapshotForm()
    if not form.validate():
        abort(400)
    try:
        with atomic():
            services.delete_snapshot(snapshot_id=snapshot_id, user_id=current_user.id)
    except services.SnapshotNotFound:
        abort(404)
    flash("Snapshot deleted.", "success")
    return redirect(url_for("tryon.snapshots"))
