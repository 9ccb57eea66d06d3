"""Issued documents: each PDF rendered once, when the money it speaks of arrives, and kept.

An order's first payment issues its **invoice**; a commission's balance, once paid, issues a
**balance receipt** (the invoice stays as issued: it showed the balance then outstanding, and
the receipt records that it was paid, with nothing left outstanding).

Paying enqueues :func:`issue_document` after the commit (``jobs.run_soon``: an RQ worker with
Redis, this process without). It renders the PDF, stores it in the private uploads storage
under a name carrying its checksum and records an :class:`InvoiceFile` row, one per order and
kind at most (a unique constraint, taken under the order's row lock). An issued document is
never replaced: a later issue finds the row and stops, so every download is the same document,
byte for byte. The run that records a balance receipt also queues its email, with the PDF
attached, in the same transaction (and under a dedupe key): the buyer gets it once.

The download (:func:`document_pdf`) serves the stored file. If the job has not run yet, or
failed, the download issues the document itself; if storage cannot be reached it still answers
with a freshly rendered PDF (the same bytes, since rendering is deterministic for an unchanged
order) rather than an error. While nothing is paid the invoice is a pro-forma, rendered on each
request and never stored: it changes as the order does.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask_mail import Attachment
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.checkout import invoices
from app.checkout.models import Order
from app.checkout.services.notifications import notify
from app.common import jobs
from app.common.locks import lock_row
from app.common.storage import StorageError, uploads_storage
from app.common.transactions import atomic, on_commit, on_rollback
from app.domain.clock import utcnow
from app.extensions import db, one_of

log = logging.getLogger(__name__)

PDF = "application/pdf"
INVOICE = "invoice"
BALANCE_RECEIPT = "balance_receipt"


@dataclass(frozen=True)
class DocumentKind:
    """What one kind of issued document is made of."""

    render: Callable[[Order], bytes]
    is_due: Callable[[Order], bool]  # whether the order has earned it yet
    key_part: str  # in the stored file's name, after the order id
    filename: str  # the download's name; {number} is the order's


# Looked up in ``invoices`` when called, not at import: invoices imports checkout's services,
# whose settlement imports this module, so either may be imported first.
KINDS = {
    INVOICE: DocumentKind(
        render=lambda order: invoices.render_invoice_pdf(order),
        is_due=lambda order: order.paid_minor > 0,
        key_part="",
        filename="diadem-invoice-{number}.pdf",
    ),
    BALANCE_RECEIPT: DocumentKind(
        render=lambda order: invoices.render_balance_receipt_pdf(order),
        is_due=lambda order: invoices.balance_settled(order),
        key_part="receipt-",
        filename="diadem-balance-receipt-{number}.pdf",
    ),
}


class InvoiceFile(db.Model):
    """The stored PDF of an order's issued document (one of each kind, never replaced)."""

    __tablename__ = "invoice_files"
    __table_args__ = (
        UniqueConstraint("order_id", "kind"),
        CheckConstraint(one_of("kind", tuple(KINDS)), name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    kind: Mapped[str] = mapped_column(String(20), default=INVOICE, server_default=INVOICE)
    storage_key: Mapped[str] = mapped_column(String(255))  # in uploads_storage()
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


def issue_after_commit(order_id: int, kind: str = INVOICE) -> None:
    """Have the document issued once the current transaction (which took the money) commits."""
    on_commit(lambda: jobs.run_soon(issue_document, order_id=order_id, kind=kind))


def stored_document(order_id: int, kind: str) -> InvoiceFile | None:
    return db.session.execute(
        select(InvoiceFile).where(InvoiceFile.order_id == order_id, InvoiceFile.kind == kind)
    ).scalar_one_or_none()


def stored_invoice(order_id: int) -> InvoiceFile | None:
    return stored_document(order_id, INVOICE)


def is_due(order: Order, kind: str) -> bool:
    """Whether ``order`` has earned a ``kind`` document (a paid order its invoice, and so on)."""
    return KINDS[kind].is_due(order)


def issue_document(*, order_id: int, kind: str = INVOICE) -> str | None:
    """The job: store the order's ``kind`` document unless it is stored already; return its key.

    Returns None while the order has not earned it (a pro-forma is not issued). Safe to run
    twice or concurrently: the second run finds the first's row. Raises StorageError if the
    file cannot be stored (nothing is recorded then; the download or a later run tries again).
    """
    try:
        with atomic():
            row = _issue(order_id, kind)
            return None if row is None else row.storage_key
    except IntegrityError:  # another process issued it between our check and insert (SQLite)
        row = stored_document(order_id, kind)
        return None if row is None else row.storage_key


def issue_invoice(*, order_id: int) -> str | None:
    return issue_document(order_id=order_id, kind=INVOICE)


def _issue(order_id: int, kind: str) -> InvoiceFile | None:
    order = lock_row(Order, order_id)  # concurrent issuers of one order take turns
    if order is None:
        return None
    existing = stored_document(order_id, kind)
    if existing is not None or not is_due(order, kind):
        return existing
    document = KINDS[kind]
    data = document.render(order)
    digest = hashlib.sha256(data).hexdigest()
    key = f"invoices/{order.id}-{document.key_part}{digest[:24]}.pdf"
    storage = uploads_storage()
    if not storage.exists(key):
        storage.put(key, data, content_type=PDF)
        # Only a file this run wrote is taken back: an identical one may be another's.
        on_rollback(lambda: storage.delete(key))
    row = InvoiceFile(
        order_id=order.id, kind=kind, storage_key=key, sha256=digest, size_bytes=len(data)
    )
    db.session.add(row)
    db.session.flush()
    if kind == BALANCE_RECEIPT:
        _mail_receipt(order, data)
    return row


def _mail_receipt(order: Order, data: bytes) -> None:
    """Queue the receipt's email with the PDF attached (rolled back with the row, if it is)."""
    balance = invoices.balance_payment(order)
    notify(
        order,
        "balance_receipt",
        balance_minor=balance.amount_minor if balance is not None else 0,
        attachments=[
            Attachment(
                filename=KINDS[BALANCE_RECEIPT].filename.format(number=order.number),
                content_type=PDF,
                data=data,
            )
        ],
        dedupe_key=f"balance-receipt:{order.id}",
    )


def download_name(order: Order, kind: str) -> str:
    return KINDS[kind].filename.format(number=order.number)


def document_pdf(order: Order, kind: str = INVOICE) -> bytes | None:
    """The PDF to send for ``order`` (already checked viewable): stored, issued now, or fresh.

    None for a receipt the order has not earned. Never raises for storage trouble: the
    reader gets a rendered PDF and the log gets the error.
    """
    document = KINDS[kind]
    if not document.is_due(order):
        return document.render(order) if kind == INVOICE else None  # the pro-forma
    order_id = order.id
    try:
        row = stored_document(order_id, kind)
        # Issued here if the job has not run yet (or failed): the download never waits on it.
        key = row.storage_key if row is not None else issue_document(order_id=order_id, kind=kind)
        if key is not None:
            return uploads_storage().read(key)
    except StorageError:
        log.exception("%s for order %s could not be stored or read; rendering it", kind, order_id)
    return document.render(db.session.get(Order, order_id) or order)
