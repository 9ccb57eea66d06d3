"""Staff pages for batches (edition runs): open, document and close a batch."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from app.accounts.access import staff_required
from app.catalog import batches, waitlist
from app.common.input_guards import parse_id
from app.common.transactions import atomic
from app.common.uploads import MAX_UPLOAD_BYTES, MAX_VIDEO_BYTES
from app.staff import catalog_batch_forms as forms

bp = Blueprint("catalog_batches", __name__, url_prefix="/staff/catalog/batches")
# One guard for every route of the blueprint: guests go to sign in, customers get 403.
bp.before_request(staff_required(lambda: None))

# A document may be a short video (up to MAX_VIDEO_BYTES), more than the app-wide request limit.
DOCUMENT_ENDPOINT = "catalog_batches.add_document"
DOCUMENT_REQUEST_BYTES = MAX_VIDEO_BYTES + 1024 * 1024


@bp.url_value_preprocessor
def _document_upload_limit(endpoint: str | None, values: dict | None) -> None:
    # Runs before every before_request function (the CSRF check reads the body), and only
    # signed-in staff get the larger limit.
    if endpoint == DOCUMENT_ENDPOINT and current_user.is_authenticated and current_user.is_staff:
        request.max_content_length = DOCUMENT_REQUEST_BYTES


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    mb = 1024 * 1024
    run_id = (request.view_args or {}).get("run_id")
    if request.endpoint == DOCUMENT_ENDPOINT and run_id and current_user.is_authenticated:
        flash(
            f"That file is too large: documents and photos up to {MAX_UPLOAD_BYTES // mb} MB, "
            f"videos up to {MAX_VIDEO_BYTES // mb} MB.",
            "warning",
        )
        return redirect(url_for("catalog_batches.show", run_id=run_id, _anchor="documents"))
    return render_template(
        "errors/error.html", code=413, title="Too large", message="That upload is too large."
    ), 413


def _flash_errors(form) -> None:
    for name, errors in form.errors.items():
        label = getattr(getattr(form, name, None), "label", None)
        for error in errors:
            flash(f"{label.text}: {error}" if label else str(error), "warning")


def _run_or_404(run_id: int):
    try:
        return batches.get_batch(run_id)
    except batches.BatchNotFound:
        abort(404)


# --- the list and opening a batch ----------------------------------------------------------------


@bp.get("")
def index():
    product_id = parse_id(request.args.get("product"))  # junk or past the id range: all
    return render_template(
        "staff/catalog/batches_list.html",
        rows=batches.list_batches(product_id=product_id),
        product_id=product_id,
    )


def _new_page(form: forms.OpenBatchForm, status: int = 200):
    return render_template("staff/catalog/batches_new.html", form=form), status


@bp.get("/new")
def new():
    form = forms.OpenBatchForm(formdata=None)
    products = batches.studio_products()
    form.edition.choices = forms.OpenBatchForm.edition_choices(products)
    wanted = parse_id(request.args.get("product"))
    chosen = next((p for p in products if p.id == wanted and p.metals), None)
    if chosen is not None:
        form.edition.data = forms.OpenBatchForm.edition_value(chosen.id, chosen.metals[0].code)
    form.released_on.data = batches.studio_today()
    return _new_page(form)


@bp.post("/new")
def create():
    form = forms.OpenBatchForm()
    form.edition.choices = forms.OpenBatchForm.edition_choices(batches.studio_products())
    edition = form.parsed_edition()
    if not form.validate_on_submit() or edition is None:
        _flash_errors(form)
        return _new_page(form, 400)
    product_id, metal_code = edition
    try:
        with atomic():
            run = batches.open_batch(
                product_id=product_id,
                metal_code=metal_code,
                batch_code=form.batch_code.data,
                size=int(form.size.data),
                sourcing_statement=form.sourcing_statement.data,
                released_on=form.released_on.data,
            )
            run_id, code, size = run.id, run.batch_code, run.size
            emailed = waitlist.notified_for_batch(run_id)
    except batches.BatchError as exc:
        flash(str(exc), "warning")
        return _new_page(form, 400)
    told = ""
    if emailed:
        told = (
            f" We emailed the {emailed} address{'es' if emailed != 1 else ''} on its waiting list."
        )
    flash(f"Batch {code} is open: pieces 1 to {size} are for sale.{told}", "success")
    return redirect(url_for("catalog_batches.show", run_id=run_id))


# --- one batch -----------------------------------------------------------------------------------


def _show_page(
    run,
    *,
    sourcing_form: forms.SourcingForm | None = None,
    document_form: forms.DocumentForm | None = None,
    close_form: forms.CloseBatchForm | None = None,
    status: int = 200,
):
    if sourcing_form is None:
        sourcing_form = forms.SourcingForm(formdata=None)
        sourcing_form.sourcing_statement.data = run.sourcing_statement
    counts = batches.batch_counts(run)
    return (
        render_template(
            "staff/catalog/batches_show.html",
            run=run,
            counts=counts,
            state=batches.batch_state(run, counts),
            state_labels=batches.STATE_LABELS,
            kinds=batches.DOCUMENT_KINDS,
            sourcing_form=sourcing_form,
            document_form=document_form or forms.DocumentForm(formdata=None),
            close_form=close_form or forms.CloseBatchForm(formdata=None),
            remove_form=forms.RemoveDocumentForm(formdata=None),
        ),
        status,
    )


@bp.get("/<int:run_id>")
def show(run_id: int):
    return _show_page(_run_or_404(run_id))


@bp.post("/<int:run_id>/sourcing")
def set_sourcing(run_id: int):
    run = _run_or_404(run_id)
    form = forms.SourcingForm()
    if not form.validate_on_submit():
        _flash_errors(form)
        return _show_page(run, sourcing_form=form, status=400)
    try:
        with atomic():
            batches.set_sourcing_statement(
                run_id=run_id, sourcing_statement=form.sourcing_statement.data
            )
    except batches.BatchError as exc:
        flash(str(exc), "warning")
        return _show_page(_run_or_404(run_id), sourcing_form=form, status=400)
    flash("Sourcing statement saved.", "success")
    return redirect(url_for("catalog_batches.show", run_id=run_id))


@bp.post("/<int:run_id>/documents")
def add_document(run_id: int):
    run = _run_or_404(run_id)
    form = forms.DocumentForm()
    if not form.validate_on_submit():
        _flash_errors(form)
        return _show_page(run, document_form=form, status=400)
    try:
        with atomic():
            document = batches.add_document(
                run_id=run_id,
                kind=form.kind.data,
                title=form.title.data,
                data=form.file.data.read(),
                by_user_id=current_user.id,
            )
            title = document.title
    except batches.BatchError as exc:
        flash(str(exc), "warning")
        return _show_page(_run_or_404(run_id), document_form=form, status=400)
    flash(f"“{title}” is published with the batch.", "success")
    return redirect(url_for("catalog_batches.show", run_id=run_id, _anchor="documents"))


@bp.post("/<int:run_id>/documents/<int:document_id>/remove")
def remove_document(run_id: int, document_id: int):
    form = forms.RemoveDocumentForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with atomic():
            title = batches.remove_document(run_id=run_id, document_id=document_id)
    except batches.BatchNotFound:
        abort(404)
    flash(f"“{title}” was removed.", "success")
    return redirect(url_for("catalog_batches.show", run_id=run_id, _anchor="documents"))


@bp.post("/<int:run_id>/close")
def close(run_id: int):
    run = _run_or_404(run_id)
    form = forms.CloseBatchForm()
    if not form.validate_on_submit():
        _flash_errors(form)
        return _show_page(run, close_form=form, status=400)
    try:
        with atomic():
            closed = batches.close_batch(run_id=run_id)
            code, withheld = closed.run.batch_code, closed.withheld
    except batches.BatchError as exc:
        flash(str(exc), "warning")
        return _show_page(_run_or_404(run_id), close_form=form, status=400)
    flash(
        f"Batch {code} is closed; {withheld} available piece(s) withheld. "
        "Reserved and sold pieces are unchanged.",
        "success",
    )
    return redirect(url_for("catalog_batches.show", run_id=run_id))
