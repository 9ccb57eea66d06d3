"""Public batch pages: a batch's sourcing, documents and which numbers are sold."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user

from app.catalog import batches
from app.common.caching import cached_page
from app.common.storage import media_storage

bp = Blueprint("batches", __name__, url_prefix="/batches")


def _staff() -> bool:
    # Staff may look at a draft design's batches before it is published.
    return bool(current_user.is_authenticated and current_user.is_staff)


@bp.get("/<batch_code>")
@cached_page
def show(batch_code: str):
    try:
        page = batches.batch_page(batch_code, include_drafts=_staff())
    except batches.BatchNotFound:
        abort(404)
    if page.run.batch_code != batch_code:
        # Typed off a hangtag in another case: send them to the batch's own address.
        return redirect(url_for("batches.show", batch_code=page.run.batch_code), 301)
    return render_template(
        "catalog/batch_show.html",
        page=page,
        run=page.run,
        kinds=batches.DOCUMENT_KINDS,
        number_labels=batches.NUMBER_LABELS,
    )


@bp.get("/<batch_code>/documents/<int:document_id>")
def document(batch_code: str, document_id: int):
    try:
        doc = batches.public_document(
            batch_code=batch_code, document_id=document_id, include_drafts=_staff()
        )
    except batches.BatchNotFound:
        abort(404)
    # Public like product artwork: the atelier published it with the batch.
    return media_storage().serve(doc.path, download_name=batches.download_name(doc), private=False)
