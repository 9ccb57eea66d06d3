"""Staff pages for products: create, edit, preview, publish and retire.

The rules are catalog.products_admin's; these views parse the form, call one service in a
transaction and map its errors to the page. The preview renders the shop's own product
template, drafts included, with a banner; its options and price answer here, since the
public addresses are 404 for a draft.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for

from app.accounts.access import staff_required
from app.catalog import products_admin as admin
from app.catalog import services as catalog
from app.common.transactions import atomic
from app.staff.catalog_product_forms import ProductForm, form_data, new_form_data

bp = Blueprint("catalog_products", __name__, url_prefix="/staff/catalog/products")


def _form_page(form: ProductForm, *, product=None, status: int = 200):
    return (
        render_template(
            "staff/catalog/products_form.html",
            form=form,
            product=product,
            problems=form.problems() if request.method == "POST" else [],
        ),
        status,
    )


def _prepared(form: ProductForm, *, spare_stones: int = 1) -> ProductForm:
    form.prepare(catalog.all_metals(), catalog.all_sizes(), spare_stones=spare_stones)
    return form


@bp.get("")
@staff_required
def index():
    return render_template("staff/catalog/products_list.html", rows=admin.product_rows())


@bp.get("/new")
@staff_required
def new():
    form = ProductForm(formdata=None, data=new_form_data(catalog.all_metals()))
    return _form_page(_prepared(form, spare_stones=2))


@bp.post("")
@staff_required
def create():
    form = _prepared(ProductForm())
    if form.add_stone.data:
        form.add_stone_rows()
        return _form_page(form)
    if not form.validate_on_submit():
        return _form_page(form, status=400)
    details, metal_rows = form.details()
    try:
        with atomic():
            product = admin.create_product(details=details)
    except admin.ProductError as exc:
        form.show_problems(exc.problems, metal_rows=metal_rows)
        if not exc.problems:
            flash(str(exc), "warning")
        return _form_page(form, status=400)
    flash(f"{product.name} is saved as a draft. Preview it, then publish it.", "success")
    return redirect(url_for("catalog_products.edit", product_id=product.id), 303)


@bp.get("/<int:product_id>/edit")
@staff_required
def edit(product_id: int):
    product = _product_or_404(product_id)
    data = form_data(admin.details_of(product), catalog.all_metals())
    return _form_page(_prepared(ProductForm(formdata=None, data=data)), product=product)


@bp.post("/<int:product_id>")
@staff_required
def update(product_id: int):
    product = _product_or_404(product_id)
    form = _prepared(ProductForm())
    if form.add_stone.data:
        form.add_stone_rows()
        return _form_page(form, product=product)
    if not form.validate_on_submit():
        return _form_page(form, product=product, status=400)
    details, metal_rows = form.details()
    try:
        with atomic():
            product = admin.update_product(product_id=product_id, details=details)
    except admin.ProductNotFound:
        abort(404)
    except admin.ProductError as exc:
        form.show_problems(exc.problems, metal_rows=metal_rows)
        if not exc.problems:
            flash(str(exc), "warning")
        return _form_page(form, product=_product_or_404(product_id), status=400)
    flash(f"{product.name} is saved and repriced.", "success")
    return redirect(url_for("catalog_products.edit", product_id=product_id), 303)


@bp.get("/<int:product_id>/preview")
@staff_required
def preview(product_id: int):
    try:
        product = admin.product_for_preview(product_id)
    except admin.ProductNotFound:
        abort(404)
    page = catalog.product_page(
        product, size_code=request.args.get("size"), metal_code=request.args.get("metal")
    )
    if page.problem:
        flash(page.problem, "warning")
    return render_template(
        "catalog/product_show.html",
        **page.context(),
        preview=True,
        edit_url=url_for("catalog_products.edit", product_id=product_id),
        options_url=url_for("catalog_products.preview", product_id=product_id),
        price_url=url_for("catalog_products.preview_price", product_id=product_id),
    ), (400 if page.problem else 200)


@bp.get("/<int:product_id>/preview/price.json")
@staff_required
def preview_price(product_id: int):
    try:
        product = admin.product_for_preview(product_id)
    except admin.ProductNotFound:
        return jsonify(error="There is no such product."), 404
    try:
        priced = catalog.price_product(
            product, size_code=request.args.get("size"), metal_code=request.args.get("metal")
        )
    except catalog.UnknownOption as exc:
        return jsonify(error=str(exc)), 400
    return jsonify(priced.breakdown.as_dict())


@bp.post("/<int:product_id>/publish")
@staff_required
def publish(product_id: int):
    try:
        with atomic():
            changed = admin.publish_product(product_id=product_id)
    except admin.ProductNotFound:
        abort(404)
    except admin.ProductError as exc:
        return _refused(str(exc))
    flash(f"{changed.product.name} is published: it is in the shop now.", "success")
    if changed.note:
        flash(changed.note, "warning")
    return redirect(url_for("catalog_products.index"), 303)


@bp.post("/<int:product_id>/retire")
@staff_required
def retire(product_id: int):
    try:
        with atomic():
            changed = admin.retire_product(product_id=product_id)
    except admin.ProductNotFound:
        abort(404)
    except admin.ProductError as exc:
        return _refused(str(exc))
    flash(
        f"{changed.product.name} is retired: no longer offered; its page stays for owners "
        "and old links.",
        "success",
    )
    return redirect(url_for("catalog_products.index"), 303)


def _refused(message: str):
    flash(message, "warning")
    return render_template("staff/catalog/products_list.html", rows=admin.product_rows()), 409


def _product_or_404(product_id: int):
    try:
        return admin.get_product(product_id)
    except admin.ProductNotFound:
        abort(404)
