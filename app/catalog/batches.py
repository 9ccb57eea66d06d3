"""Batches (edition runs) as the atelier manages them: open, document, close, and show in public.

A batch is one edition run of a studio design in one metal: 10, 25 or 50 numbered pieces, made
from one lot of material, with a sourcing statement saying what that lot was (the atelier
rotates materials between batches) and the documents that back it (assay reports, source
certificates, gem reports, bench photos, short videos). Its public page shows which numbers are
sold, never who bought them.

Closing a batch withholds its still-available pieces, so nothing more can be bought from it;
reserved and sold pieces keep their status (a buyer mid-checkout may still pay, and a paid order
must find its piece reserved). A piece of a closed batch that comes free later (a hold that
lapses or is released) is never claimed again (app.catalog.reservations) and shows as withheld
here. Lock order,
shared with checkout (app.catalog.reservations): *run row, then piece rows by id*. Checkout
claims pieces with ``SKIP LOCKED`` and never waits for a run row, so the two cannot deadlock,
and a piece is either reserved before the close reads it (and left alone) or withheld before
checkout sees it (and skipped).

Services never commit: the caller wraps each call in ``atomic()``.
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from PIL import Image, ImageOps
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.catalog import editions, waitlist
from app.catalog.models import (
    BatchDocument,
    BatchDocumentKind,
    EditionRun,
    Piece,
    PieceStatus,
    Product,
    ProductStatus,
    Tier,
)
from app.common.caching import catalogue_changed
from app.common.locks import lock_row
from app.common.storage import media_storage
from app.common.transactions import atomic, on_commit, on_rollback
from app.common.uploads import UploadError, sniff
from app.domain.clock import utcnow
from app.domain.editions import (
    EDITION_SIZES,
    EditionError,
    check_edition_size,
    format_piece_number,
)
from app.extensions import db

BATCH_CODE_MAX = 40
# Letters and digits, joined by single hyphens ("AUR-YG-2027"): safe in a URL and on a hangtag.
BATCH_CODE = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
SOURCING_MAX = 4000
TITLE_MAX = 160
DOCUMENT_FOLDER = "batches"

DOCUMENT_KINDS: dict[str, str] = {
    BatchDocumentKind.ASSAY.value: "Assay report",
    BatchDocumentKind.SOURCE.value: "Source certificate",
    BatchDocumentKind.GEM.value: "Gem report",
    BatchDocumentKind.PHOTO.value: "Bench photo",
    BatchDocumentKind.VIDEO.value: "Short video",
    BatchDocumentKind.OTHER.value: "Other",
}
# Browsers play MP4 and WebM in <video>; QuickTime only in Safari, so it is refused here.
DOCUMENT_TYPES = {
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/webp",
    "video/mp4",
    "video/webm",
}
_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


class BatchError(ValueError):
    """The batch change was refused; the message says why, for the person who asked."""


class BatchNotFound(BatchError):
    pass


# --- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PieceCounts:
    """How a batch's numbers stand: each piece is counted once."""

    sold: int = 0
    reserved: int = 0  # held by a checkout whose hold has not lapsed
    available: int = 0  # can be bought now (never, once the batch is closed)
    withheld: int = 0  # not for sale: withheld by the atelier or when the batch closed

    @property
    def total(self) -> int:
        return self.sold + self.reserved + self.available + self.withheld


def batch_state(run: EditionRun, counts: PieceCounts) -> str:
    """``closed``, ``sold-out`` (open, nothing left to buy) or ``open``."""
    if run.closed_at is not None:
        return "closed"
    if counts.available == 0:
        return "sold-out"
    return "open"


STATE_LABELS = {"open": "Open", "sold-out": "Sold out", "closed": "Closed"}


@dataclass(frozen=True)
class BatchRow:
    run: EditionRun
    counts: PieceCounts

    @property
    def state(self) -> str:
        return batch_state(self.run, self.counts)

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


def _piece_state(now: datetime):
    """SQL: a piece's public state, one of sold/reserved/withheld/free."""
    return case(
        (Piece.status == PieceStatus.SOLD.value, "sold"),
        (
            (Piece.status == PieceStatus.RESERVED.value) & (Piece.reserved_until >= now),
            "reserved",
        ),
        (Piece.status == PieceStatus.WITHHELD.value, "withheld"),
        else_="free",  # available, or a reservation that has lapsed
    )


def _counts(runs: Iterable[EditionRun], now: datetime) -> dict[int, PieceCounts]:
    by_id = {run.id: run for run in runs}
    if not by_id:
        return {}
    state = _piece_state(now)
    tallies: dict[int, dict[str, int]] = {run_id: {} for run_id in by_id}
    for run_id, name, count in db.session.execute(
        select(Piece.run_id, state, func.count())
        .where(Piece.run_id.in_(by_id))
        .group_by(Piece.run_id, state)
    ):
        tallies[run_id][name] = count
    counts = {}
    for run_id, tally in tallies.items():
        free = tally.get("free", 0)
        closed = by_id[run_id].closed_at is not None
        counts[run_id] = PieceCounts(
            sold=tally.get("sold", 0),
            reserved=tally.get("reserved", 0),
            available=0 if closed else free,
            withheld=tally.get("withheld", 0) + (free if closed else 0),
        )
    return counts


def list_batches(*, product_id: int | None = None) -> list[BatchRow]:
    """Every batch (or one product's), open ones first, with how its numbers stand."""
    stmt = (
        select(EditionRun)
        .join(EditionRun.product)
        .options(joinedload(EditionRun.product), joinedload(EditionRun.metal))
        .order_by(EditionRun.closed_at.is_not(None), Product.name, EditionRun.id)
    )
    if product_id is not None:
        stmt = stmt.where(EditionRun.product_id == product_id)
    runs = list(db.session.execute(stmt).scalars())
    counts = _counts(runs, utcnow())
    return [BatchRow(run=run, counts=counts[run.id]) for run in runs]


def get_batch(run_id: int) -> EditionRun:
    """The batch with this id, or BatchNotFound."""
    run = db.session.get(EditionRun, run_id)
    if run is None:
        raise BatchNotFound("No such batch.")
    return run


def batch_counts(run: EditionRun) -> PieceCounts:
    return _counts([run], utcnow())[run.id]


def studio_products() -> list[Product]:
    """Products a batch can be opened for: studio designs still offered, with their metals."""
    return list(
        db.session.execute(
            select(Product)
            .where(
                Product.tier == Tier.STUDIO.value,
                Product.status != ProductStatus.RETIRED.value,
            )
            .options(joinedload(Product.metals))
            .order_by(Product.name)
        )
        .unique()
        .scalars()
    )


def studio_today() -> date:
    """Today on the studio's calendar (STUDIO_TIMEZONE): the default release date."""
    zone = ZoneInfo(current_app.config.get("STUDIO_TIMEZONE") or "Europe/London")
    return datetime.now(zone).date()


# --- the public page -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NumberCell:
    number: int
    label: str  # "07/25"
    state: str  # sold, reserved, available, withheld


NUMBER_LABELS = {
    "sold": "sold",
    "reserved": "reserved",
    "available": "available",
    "withheld": "not offered",
}


@dataclass(frozen=True)
class BatchPage:
    """What the public batch page shows. Pieces only: no order, buyer or address is read."""

    run: EditionRun
    numbers: list[NumberCell]
    documents: list[BatchDocument]

    @property
    def counts(self) -> PieceCounts:
        tally = {state: 0 for state in NUMBER_LABELS}
        for cell in self.numbers:
            tally[cell.state] += 1
        return PieceCounts(**tally)

    @property
    def state(self) -> str:
        return batch_state(self.run, self.counts)

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


def find_batch(batch_code: str, *, include_drafts: bool = False) -> EditionRun:
    """The batch with this code (as printed, any case), or BatchNotFound.

    A draft product's batches are not public yet: only staff (include_drafts) see them.
    """
    code = (batch_code or "").strip()
    if not code or len(code) > BATCH_CODE_MAX or not BATCH_CODE.fullmatch(code):
        raise BatchNotFound("No batch has that code.")
    runs = list(
        db.session.execute(
            select(EditionRun)
            .where(func.upper(EditionRun.batch_code) == code.upper())
            .options(joinedload(EditionRun.product), joinedload(EditionRun.metal))
        ).scalars()
    )
    # Codes are unique as written; an exact match wins over one differing only in case.
    run = next((r for r in runs if r.batch_code == code), runs[0] if runs else None)
    if run is None or (run.product.status == ProductStatus.DRAFT.value and not include_drafts):
        raise BatchNotFound("No batch has that code.")
    return run


def batch_page(batch_code: str, *, include_drafts: bool = False) -> BatchPage:
    """The batch's public page: its numbers (sold, reserved, available) and documents."""
    run = find_batch(batch_code, include_drafts=include_drafts)
    now = utcnow()
    closed = run.closed_at is not None
    numbers = []
    for number, size, state in db.session.execute(
        select(Piece.number, Piece.edition_size, _piece_state(now))
        .where(Piece.run_id == run.id)
        .order_by(Piece.number)
    ):
        if state == "free":
            state = "withheld" if closed else "available"
        numbers.append(
            NumberCell(number=number, label=format_piece_number(number, size), state=state)
        )
    return BatchPage(run=run, numbers=numbers, documents=list(run.documents))


def public_document(
    *, batch_code: str, document_id: int, include_drafts: bool = False
) -> BatchDocument:
    """A document of a public batch, or BatchNotFound."""
    run = find_batch(batch_code, include_drafts=include_drafts)
    document = db.session.get(BatchDocument, document_id)
    if document is None or document.run_id != run.id:
        raise BatchNotFound("No such document.")
    return document


def download_name(document: BatchDocument) -> str:
    """A file name for the browser: the title in plain characters, with the stored extension."""
    extension = document.path.rsplit(".", 1)[-1] if "." in document.path else "bin"
    stem = re.sub(r"[^A-Za-z0-9 _-]+", "", document.title).strip().replace(" ", "-")
    return f"{stem[:80] or 'document'}.{extension}"


# --- opening, editing and closing ----------------------------------------------------------------


def check_batch_code(batch_code: str) -> str:
    """Return the code stripped if it is letters, digits and single hyphens; BatchError if not."""
    code = (batch_code or "").strip()
    if not code:
        raise BatchError("Give the batch a code, e.g. AUR-YG-2027.")
    if len(code) > BATCH_CODE_MAX:
        raise BatchError(f"A batch code is at most {BATCH_CODE_MAX} characters.")
    if not BATCH_CODE.fullmatch(code):
        raise BatchError(
            "A batch code is letters and digits joined by single hyphens, e.g. AUR-YG-2027."
        )
    return code


def _statement(text: str) -> str:
    statement = (text or "").strip()
    if not statement:
        raise BatchError(
            "Say what this batch is made of and where it came from (the sourcing statement)."
        )
    if len(statement) > SOURCING_MAX:
        raise BatchError(f"The sourcing statement is at most {SOURCING_MAX} characters.")
    return statement


def _code_taken(code: str) -> EditionRun | None:
    return db.session.execute(
        select(EditionRun).where(func.upper(EditionRun.batch_code) == code.upper())
    ).scalar_one_or_none()


def open_batch(
    *,
    product_id: int,
    metal_code: str,
    batch_code: str,
    size: int,
    sourcing_statement: str,
    released_on: date | None = None,
) -> EditionRun:
    """Open a batch of a studio design in one of its metals, with its pieces numbered 1..size."""
    code = check_batch_code(batch_code)
    statement = _statement(sourcing_statement)
    try:
        check_edition_size(size)
    except EditionError as exc:
        raise BatchError(
            f"A batch runs to {', '.join(str(s) for s in EDITION_SIZES)} pieces, not {size}."
        ) from exc
    # The product row is locked so its tier, status and metals cannot change under the opening.
    product = lock_row(Product, product_id)
    if product is None:
        raise BatchNotFound("No such product.")
    if product.tier != Tier.STUDIO.value:
        raise BatchError(
            f"{product.name} is made to order; only limited-edition (studio) designs "
            "are made in numbered batches."
        )
    if product.status == ProductStatus.RETIRED.value:
        raise BatchError(f"{product.name} is retired; it gets no new batches.")
    metal = next((m for m in product.metals if m.code == metal_code), None)
    if metal is None:
        offered = ", ".join(m.name for m in product.metals) or "no metal yet"
        raise BatchError(f"{product.name} is not offered in that metal (offered: {offered}).")
    taken = _code_taken(code)
    if taken is not None:
        raise BatchError(f"Batch code {taken.batch_code} is already used; choose another.")
    try:
        with atomic():  # a savepoint: a code taken meanwhile fails only this
            run = editions.release_edition(
                product=product,
                metal=metal,
                batch_code=code,
                size=size,
                released_on=released_on or studio_today(),
                sourcing_statement=statement,
            )
    except IntegrityError as exc:
        raise BatchError(
            f"Batch code {code} was just used by someone else; choose another."
        ) from exc
    waitlist.notify_waiting(run=run)  # in this transaction: the mail exists if the batch does
    catalogue_changed()
    return run


def set_sourcing_statement(*, run_id: int, sourcing_statement: str) -> EditionRun:
    """Replace the batch's sourcing statement."""
    statement = _statement(sourcing_statement)
    run = lock_row(EditionRun, run_id)
    if run is None:
        raise BatchNotFound("No such batch.")
    run.sourcing_statement = statement
    catalogue_changed()
    return run


@dataclass(frozen=True)
class ClosedBatch:
    run: EditionRun
    withheld: int  # pieces that were still available and are now withheld


def close_batch(*, run_id: int, now: datetime | None = None) -> ClosedBatch:
    """Close the batch: withhold its available pieces; reserved and sold ones are untouched.

    The run row is locked first (two closes, or a close and an edit, take turns), then every
    piece of the run in id order, so a piece that checkout is reserving at this instant is read
    only once its reservation has committed, and then left alone.
    """
    run = lock_row(EditionRun, run_id)
    if run is None:
        raise BatchNotFound("No such batch.")
    if run.closed_at is not None:
        raise BatchError(f"Batch {run.batch_code} is already closed.")
    pieces = db.session.execute(
        select(Piece)
        .where(Piece.run_id == run.id)
        .order_by(Piece.id)
        # FOR NO KEY UPDATE: no key changes, so rows that merely reference a piece (an order
        # line being inserted) do not hold the close up.
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalars()
    withheld = 0
    for piece in pieces:
        # Only a piece nobody holds: a reservation, even a lapsed one, still sits on an order
        # that may yet be paid, and a paid order must find its piece reserved, not withheld.
        if piece.status == PieceStatus.AVAILABLE.value:
            piece.status = PieceStatus.WITHHELD.value
            piece.reserved_until = None
            withheld += 1
    run.closed_at = now or utcnow()
    db.session.flush()
    catalogue_changed()
    return ClosedBatch(run=run, withheld=withheld)


# --- documents -----------------------------------------------------------------------------------


def _without_metadata(data: bytes, content_type: str) -> bytes:
    """Re-encode an image upright and without its metadata (EXIF and XMP: camera, GPS, time).

    The pixels are rotated as the EXIF orientation says first, since the tag that told browsers
    to turn the picture goes with the rest.
    """
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        icc_profile = image.info.get("icc_profile")
        transparency = image.info.get("transparency")
        upright = ImageOps.exif_transpose(image) or image
    upright.info = {} if transparency is None else {"transparency": transparency}
    params: dict[str, object] = {}
    if icc_profile:
        params["icc_profile"] = icc_profile  # colour, not metadata about anyone
    fmt = _PILLOW_FORMATS[content_type]
    if fmt == "JPEG":
        params.update(quality=92, optimize=True)
    elif fmt == "WEBP":
        params.update(quality=90)
    out = io.BytesIO()
    upright.save(out, format=fmt, **params)
    return out.getvalue()


def _document_kind(kind: str) -> str:
    if kind not in DOCUMENT_KINDS:
        raise BatchError(
            f"Choose what kind of document this is ({', '.join(DOCUMENT_KINDS.values())})."
        )
    return kind


def add_document(
    *, run_id: int, kind: str, title: str, data: bytes, by_user_id: int | None
) -> BatchDocument:
    """Publish a document with the batch: a PDF, a JPEG/PNG/WebP photo or an MP4/WebM video.

    Checked by content, not by name; photos lose their EXIF. The file goes to the public media
    storage and is deleted again if the transaction rolls back.
    """
    kind = _document_kind(kind)
    title = (title or "").strip()
    if not title:
        raise BatchError("Give the document a title, e.g. “Assay report, Birmingham”.")
    if len(title) > TITLE_MAX:
        raise BatchError(f"A title is at most {TITLE_MAX} characters.")
    try:
        content_type, extension = sniff(data, allow_pdf=True, allow_video=True)
    except UploadError as exc:
        raise BatchError(
            f"{exc} A batch document is a PDF, a JPEG, PNG or WebP photo, or an MP4 or WebM video."
        ) from exc
    if content_type not in DOCUMENT_TYPES:
        raise BatchError(
            "That video is QuickTime (MOV), which most browsers cannot play; "
            "export it as MP4 or WebM."
        )
    if kind == BatchDocumentKind.PHOTO.value and not content_type.startswith("image/"):
        raise BatchError("A bench photo must be a JPEG, PNG or WebP image.")
    if kind == BatchDocumentKind.VIDEO.value and not content_type.startswith("video/"):
        raise BatchError("A short video must be an MP4 or WebM file.")
    run = db.session.get(EditionRun, run_id)
    if run is None:
        raise BatchNotFound("No such batch.")
    if content_type in _PILLOW_FORMATS:
        data = _without_metadata(data, content_type)
    key = f"{DOCUMENT_FOLDER}/{secrets.token_urlsafe(18)}{extension}"
    media = media_storage()
    on_rollback(lambda: media.delete(key))  # first: outside atomic() nothing is stored
    media.put(key, data, content_type=content_type)
    document = BatchDocument(
        run_id=run.id,
        kind=kind,
        title=title,
        path=key,
        content_type=content_type,
        size_bytes=len(data),
        uploaded_by_id=by_user_id,
    )
    db.session.add(document)
    db.session.flush()
    catalogue_changed()
    return document


def remove_document(*, run_id: int, document_id: int) -> str:
    """Delete a batch document; its file goes once the deletion has committed. Return its title."""
    document = db.session.get(BatchDocument, document_id)
    if document is None or document.run_id != run_id:
        raise BatchNotFound("No such document.")
    key, title = document.path, document.title
    db.session.delete(document)
    db.session.flush()
    media = media_storage()
    on_commit(lambda: media.delete(key))
    catalogue_changed()
    return title
