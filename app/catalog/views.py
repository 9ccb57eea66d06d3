from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from app.catalog import forms, gallery, read_model, services, structured_data, waitlist
from app.catalog.filters import SORTS, parse_filter
from app.common.caching import cached_page
from app.common.storage import media_storage
from app.common.transactions import atomic
from app.common.urls import template_url_for
from app.extensions import limiter

bp = Blueprint("catalog", __name__)


@bp.get("/shop")
@cached_page
def index():
    metals = services.metal_choices()
    catalog_filter = parse_filter(request.args, metal_codes={m.code for m in metals})
    for notice in catalog_filter.notices:
        flash(notice, "warning")
    # Kept per catalogue generation as plain values; only the free pieces are asked for.
    cards = read_model.catalog_cards(catalog_filter)
    return render_template(
        "catalog/product_list.html",
        cards=cards,
        f=catalog_filter,
        metals=metals,
        sorts=SORTS,
    )


@bp.get("/shop/<slug>")
@cached_page
def show(slug: str):
    # The page's values and its free numbers come from the read model (kept per catalogue
    # generation): no ORM object is loaded and no price computed per request.
    model = read_model.page_model(slug)
    if model is None:  # a draft is not found; a retired piece is
        abort(404)
    page = read_model.product_page(
        model, size_code=request.args.get("size"), metal_code=request.args.get("metal")
    )
    if page.problem:
        flash(page.problem, "warning")
    return render_template("catalog/product_show.html", **page.context()), (
        400 if page.problem else 200
    )


@bp.post("/shop/<slug>/waiting-list")
@limiter.limit("5 per hour")
def join_waitlist(slug: str):
    try:
        product = services.get_product(slug)
    except services.ProductNotFound:
        abort(404)
    form = forms.WaitlistForm()
    if form.validate_on_submit():
        try:
            with atomic():
                waitlist.join_waitlist(
                    product_id=product.id,
                    email=form.email.data,
                    user_id=current_user.id if current_user.is_authenticated else None,
                )
        except waitlist.WaitlistError as exc:
            form.email.errors.append(str(exc))
        else:
            # The same answer whether or not the address was already waiting.
            flash(
                f"Thank you: we will write to {form.email.data.strip()} when the next batch of "
                f"{product.name} opens.",
                "success",
            )
            return redirect(url_for("catalog.show", slug=product.slug), 303)
    page = services.product_page(product)
    return render_template("catalog/product_show.html", waitlist_form=form, **page.context()), 400


@bp.route("/waiting-list/leave/<token>", methods=["GET", "POST"])
def leave_waitlist(token: str):
    """The link in every waiting-list email: a page with one button (a scanner removes nobody)."""
    try:
        leaving = waitlist.read_leave_token(token)
    except waitlist.WaitlistError as exc:
        return render_template("catalog/waitlist_leave.html", problem=str(exc)), 400
    form = forms.LeaveWaitlistForm()
    if form.validate_on_submit():
        with atomic():
            waitlist.leave_waitlist(token=token)
        return render_template("catalog/waitlist_leave.html", leaving=leaving, left=True)
    status = 400 if form.is_submitted() else 200
    return render_template("catalog/waitlist_leave.html", leaving=leaving, form=form), status


@bp.app_template_global()
def waiting_for_next_batch(product_id: int) -> int:
    """How many addresses wait for a design's next batch (staff's product page)."""
    return waitlist.waiting_count(product_id)


@bp.app_template_global()
def product_json_ld(product, priced, editions) -> dict:
    return structured_data.product_json_ld(product, priced, editions)


@bp.app_template_global()
def product_image_urls(product) -> list[str]:
    return structured_data.image_urls(product)


def _media_link(path: str) -> str:
    return template_url_for("catalog.product_media", filename=path)


@bp.app_template_global()
def product_gallery(product, chosen_metal_code: str | None) -> gallery.Gallery:
    return gallery.build(product, chosen_metal_code, _media_link)


@bp.get("/shop/<slug>/price.json")
def price_json(slug: str):
    model = read_model.page_model(slug)  # every offered option is priced in it already
    if model is None:
        return jsonify(error=f"No piece called {slug[:80]!r}."), 404
    try:
        priced = model.resolve(
            size_code=request.args.get("size"), metal_code=request.args.get("metal")
        )
    except services.UnknownOption as exc:
        return jsonify(error=str(exc)), 400
    return jsonify(priced.breakdown.as_dict())


@bp.get("/media/products/<path:filename>")
def product_media(filename: str):
    # Only product artwork is public; a name that is not a plain key in that storage is a 404.
    return media_storage().serve(filename, private=False)
