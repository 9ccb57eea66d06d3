"""Issued invoices: the PDF rendered once, when the order is first paid, and kept.

Paying an order enqueues :func:`issue_invoice` after the commit (``jobs.run_soon``: an RQ
worker with Redis, this process without). It renders the PDF, stores it in the private
uploads storage under a name carrying its checksum and records an :class:`InvoiceFile` row, one
per order at most (a unique constraint, taken under the order's row lock). An issued invoice
is never replaced: a later issue finds the row and stops, so every download of one order's
invoice is the same document, byte for byte.

The download (:func:`invoice_pdf`) serves the stored file. If the job has not run yet, or
failed, the download issues the invoice itself; if storage cannot be reached it still answers
with a freshly rendered PDF (the same bytes, since rendering is deterministic for an unchanged
order) rather than an error. While nothing is paid the PDF is a pro-forma, rendered on each
request and never stored: it changes as the order does.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.checkout import invoices
from app.checkout.models import Order
from app.common import jobs
from app.common.locks import lock_row
from app.common.storage import StorageError, uploads_storage
from app.common.transactions import atomic, on_commit, on_rollback
from app.domain.clock import utcnow
from app.extensions import db

log = logging.getLogger(__name__)

PDF = "application/pdf"


class InvoiceFile(db.Model):
    """The stored PDF of an order's issued invoice (one per order, never replaced)."""

    __tablename__ = "invoice_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    storage_key: Mapped[str] = mapped_column(String(255))  # in uploads_storage()
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


def issue_after_commit(order_id: int) -> None:
    """Have the invoice issued once the current transaction (which paid the order) commits."""
    on_commit(lambda: jobs.run_soon(issue_invoice, order_id=order_id))


def stored_invoice(order_id: int) -> InvoiceFile | None:
    return db.session.execute(
        select(InvoiceFile).where(InvoiceFile.order_id == order_id)
    ).scalar_one_or_none()


def issue_invoice(*, order_id: int) -> str | None:
    """The job: store the order's invoice unless it is stored already; return its key.

    Returns None while nothing is paid (a pro-forma is not issued). Safe to run twice or
    concurrently: the second run finds the first's row. Raises StorageError if the file
    cannot be stored (nothing is recorded then; the download or a later run tries again).
    """
    try:
        with atomic():
            row = _issue(order_id)
            return None if row is None else row.storage_key
    except IntegrityError:  # another process issued it between our check and insert (SQLite)
        row = stored_invoice(order_id)
        return None if row is None else row.storage_key


def _issue(order_id: int) -> InvoiceFile | None:
    order = lock_row(Order, order_id)  # concurrent issuers of one order take turns
    if order is None:
        return None
    existing = stored_invoice(order_id)
    if existing is not None or order.paid_minor <= 0:
        return existing
    data = invoices.render_invoice_pdf(order)
    digest = hashlib.sha256(data).hexdigest()
    key = f"invoices/{order.id}-{digest[:24]}.pdf"
    storage = uploads_storage()
    if not storage.exists(key):
        storage.put(key, data, content_type=PDF)
        # Only a file this run wrote is taken back: an identical one may be another's.
        on_rollback(lambda: storage.delete(key))
    row = InvoiceFile(order_id=order.id, storage_key=key, sha256=digest, size_bytes=len(data))
    db.session.add(row)
    db.session.flush()
    return row


def invoice_pdf(order: Order) -> bytes:
    """The PDF to send for ``order`` (already checked viewable): stored, issued now, or fresh.

    Never raises for storage trouble: the buyer gets a rendered PDF and the log gets the error.
    """
    if order.paid_minor <= 0:
        return invoices.render_invoice_pdf(order)
    order_id = order.id
    try:
        row = stored_invoice(order_id)
        # Issued here if the job has not run yet (or failed): the download never waits on it.
        key = row.storage_key if row is not None else issue_invoice(order_id=order_id)
        if key is not None:
            return uploads_storage().read(key)
    except StorageError:
        log.exception("Invoice for order %s could not be stored or read; rendering it", order_id)
    return invoices.render_invoice_pdf(db.session.get(Order, order_id) or order)
