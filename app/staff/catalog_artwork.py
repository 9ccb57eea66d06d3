"""Staff pages for catalogue photos: upload, order and remove a product's pictures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm

from app.accounts.access import staff_required
from app.accounts.permissions import Permission, permission_required
from app.catalog import artwork_uploads
from app.common.transactions import atomic
from app.common.uploads import MAX_IMAGE_PIXELS, MAX_UPLOAD_BYTES, UploadError
from app.staff import catalog_artwork_forms as forms

if TYPE_CHECKING:
    from app.catalog.models import Product

bp = Blueprint("catalog_artwork", __name__, url_prefix="/staff/catalog/artwork")

REFUSED = (artwork_uploads.ArtworkError, UploadError)


def _product_or_404(product_id: int) -> Product:
    try:
        return artwork_uploads.product_for_artwork(product_id)
    except artwork_uploads.ProductMissing:
        abort(404)


def _edit_form(image, codes: dict[int, str]) -> forms.PhotoEditForm:
    return forms.PhotoEditForm(
        formdata=None,
        prefix=f"photo-{image.id}",
        data={"alt": image.alt, "metal": codes.get(image.metal_id, "")},
    )


def _page(
    product: Product,
    *,
    upload_form: forms.PhotoUploadForm | None = None,
    edit_forms: dict | None = None,
    status: int = 200,
):
    metals = artwork_uploads.all_metals_by_id()
    codes = {metal_id: m.code for metal_id, m in metals.items()}
    upload_form = upload_form or forms.PhotoUploadForm(formdata=None)
    upload_form.metal.choices = forms.metal_choices(product.metals)
    edits = {}
    for image in product.images:
        form = (edit_forms or {}).get(image.id) or _edit_form(image, codes)
        form.metal.choices = forms.metal_choices(product.metals)
        edits[image.id] = form
    return (
        render_template(
            "staff/catalog/artwork_show.html",
            product=product,
            upload_form=upload_form,
            edit_forms=edits,
            metal_names={metal_id: m.name for metal_id, m in metals.items()},
            offered_metal_ids={m.id for m in product.metals},
            max_megabytes=MAX_UPLOAD_BYTES // (1024 * 1024),
            max_megapixels=MAX_IMAGE_PIXELS // 1_000_000,
            min_side=artwork_uploads.MIN_SIDE,
            widths=artwork_uploads.VARIANT_WIDTHS,
            sizing={i.id for i in product.images if artwork_uploads.missing_widths(i)},
        ),
        status,
    )


def _back(product_id: int, image_id: int | None = None):
    anchor = f"photo-{image_id}" if image_id else None
    return redirect(url_for("catalog_artwork.show", product_id=product_id, _anchor=anchor))


@bp.get("/")
@staff_required
def index():
    return render_template(
        "staff/catalog/artwork_index.html", rows=artwork_uploads.products_with_photo_counts()
    )


@bp.get("/<int:product_id>")
@staff_required
def show(product_id: int):
    return _page(_product_or_404(product_id))


@bp.post("/<int:product_id>")
@staff_required
@permission_required(Permission.WORKSHOP)
def upload(product_id: int):
    product = _product_or_404(product_id)
    form = forms.PhotoUploadForm()
    form.metal.choices = forms.metal_choices(product.metals)
    if not form.validate_on_submit():
        return _page(product, upload_form=form, status=400)
    try:
        with atomic():
            image = artwork_uploads.add_photo(
                product_id=product.id,
                data=form.photo.data.read(),
                alt=form.alt.data or "",
                metal_code=form.metal.data or None,
            )
    except REFUSED as exc:
        flash(f"The photo was not added: {exc}", "warning")
        return _page(_product_or_404(product_id), upload_form=form, status=400)
    # Without a worker the sizes were made right after the commit; with one they follow.
    sizes = (
        "the smaller sizes follow shortly"
        if artwork_uploads.missing_widths(image)
        else f"{len(image.variants or [])} sizes"
    )
    flash(f"Photo added ({image.width} × {image.height} px, {sizes}).", "success")
    return _back(product.id, image.id)


@bp.post("/<int:product_id>/sizes")
@staff_required
@permission_required(Permission.WORKSHOP)
def make_sizes(product_id: int):
    """Queue the smaller sizes of every picture still lacking them (after a failed job)."""
    product = _product_or_404(product_id)
    if not FlaskForm().validate_on_submit():  # the CSRF token only
        abort(400)
    with atomic():
        queued = artwork_uploads.queue_missing_variants_after_commit(product.id)
    flash(
        f"Making the smaller sizes of {queued} picture(s)." if queued else "Every size exists.",
        "success",
    )
    return _back(product.id)


@bp.post("/<int:product_id>/<int:image_id>")
@staff_required
@permission_required(Permission.WORKSHOP)
def update(product_id: int, image_id: int):
    product = _product_or_404(product_id)
    if not any(image.id == image_id for image in product.images):
        abort(404)
    form = forms.PhotoEditForm(prefix=f"photo-{image_id}")
    form.metal.choices = forms.metal_choices(product.metals)
    if not form.validate_on_submit():
        return _page(product, edit_forms={image_id: form}, status=400)
    try:
        with atomic():
            artwork_uploads.update_photo(
                product_id=product.id,
                image_id=image_id,
                alt=form.alt.data or "",
                metal_code=form.metal.data or None,
            )
    except artwork_uploads.PhotoMissing:
        abort(404)
    except REFUSED as exc:
        flash(str(exc), "warning")
        return _page(_product_or_404(product_id), edit_forms={image_id: form}, status=400)
    flash("Picture updated.", "success")
    return _back(product.id, image_id)


@bp.post("/<int:product_id>/<int:image_id>/move")
@staff_required
@permission_required(Permission.WORKSHOP)
def move(product_id: int, image_id: int):
    form = forms.PhotoMoveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with atomic():
            artwork_uploads.move_photo(
                product_id=product_id, image_id=image_id, move=form.move.data
            )
    except (artwork_uploads.ProductMissing, artwork_uploads.PhotoMissing):
        abort(404)
    return _back(product_id, image_id)


@bp.post("/<int:product_id>/<int:image_id>/delete")
@staff_required
@permission_required(Permission.WORKSHOP)
def delete(product_id: int, image_id: int):
    form = forms.PhotoDeleteForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with atomic():
            artwork_uploads.delete_photo(product_id=product_id, image_id=image_id)
    except (artwork_uploads.ProductMissing, artwork_uploads.PhotoMissing):
        abort(404)
    flash("Picture removed.", "success")
    return _back(product_id)
