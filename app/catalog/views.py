from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    render_template,
    request,
)

from app.catalog import services, structured_data
from app.catalog.filters import SORTS, parse_filter
from app.common.caching import cached_page
from app.common.storage import media_storage

bp = Blueprint("catalog", __name__)


@bp.get("/shop")
@cached_page
def index():
    metals = services.all_metals()
    catalog_filter = parse_filter(request.args, metal_codes={m.code for m in metals})
    for notice in catalog_filter.notices:
        flash(notice, "warning")
    cards = services.list_products(catalog_filter)
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
    try:
        product = services.get_product(slug)  # a draft is not found; a retired piece is
    except services.ProductNotFound:
        abort(404)
    page = services.product_page(
        product, size_code=request.args.get("size"), metal_code=request.args.get("metal")
    )
    if page.problem:
        flash(page.problem, "warning")
    return render_template("catalog/product_show.html", **page.context()), (
        400 if page.problem else 200
    )


@bp.app_template_global()
def product_json_ld(product, priced, editions) -> dict:
    return structured_data.product_json_ld(product, priced, editions)


@bp.app_template_global()
def product_image_urls(product) -> list[str]:
    return structured_data.image_urls(product)


@bp.get("/shop/<slug>/price.json")
def price_json(slug: str):
    try:
        product = services.get_product(slug)
    except services.ProductNotFound:
        return jsonify(error=f"No piece called {slug[:80]!r}."), 404
    try:
        priced = services.price_product(
            product, size_code=request.args.get("size"), metal_code=request.args.get("metal")
        )
    except services.UnknownOption as exc:
        return jsonify(error=str(exc)), 400
    return jsonify(priced.breakdown.as_dict())


@bp.get("/media/products/<path:filename>")
def product_media(filename: str):
    # Only product artwork is public; a name that is not a plain key in that storage is a 404.
    return media_storage().serve(filename, private=False)
