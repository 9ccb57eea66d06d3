"""Issued invoices (issue 16 item 3): stored once when the order is paid, the same file on
every download, issued by the download if the job has not run, and never a 500."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.checkout import invoice_files, invoices, services
from app.checkout.invoice_files import InvoiceFile
from app.common.storage import LocalStorage, StorageError, uploads_storage
from app.common.transactions import atomic
from app.extensions import db
from tests.checkout.support import add_to_cart, checkout, order_number


def _paid_order(app, client, shop) -> tuple[str, int]:
    add_to_cart(client, shop.crown_id)
    number = order_number(checkout(client))
    with app.app_context():
        order_id = services.get_order_by_number(number).id
        with atomic():
            services.mark_paid(order_id=order_id, reference="BACS")
    return number, order_id


def _rows(app) -> list[InvoiceFile]:
    with app.app_context():
        return list(db.session.execute(db.select(InvoiceFile)).scalars())


def _download(client, number: str) -> bytes:
    response = client.get(f"/account/orders/{number}/invoice.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    return response.data


@pytest.fixture
def no_jobs(monkeypatch):
    """The issuing job is lost (never run), as when Redis drops it."""
    monkeypatch.setattr(invoice_files.jobs, "run_soon", lambda fn, **kwargs: None)


def test_paying_issues_the_invoice_once_and_every_download_is_that_file(app, client, shop):
    number, order_id = _paid_order(app, client, shop)
    (row,) = _rows(app)  # in-process: issued right after the payment's commit
    with app.app_context():
        stored = uploads_storage().read(row.storage_key)
    assert row.order_id == order_id and stored.startswith(b"%PDF")
    assert row.sha256 == hashlib.sha256(stored).hexdigest() and row.size_bytes == len(stored)
    assert _download(client, number) == stored

    with app.app_context():
        with atomic():
            services.mark_shipped(
                order_id=order_id, carrier="Royal Mail", tracking_number="RM1", by_user_id=None
            )
        # Issuing again finds the issued invoice: the shipment does not rewrite it.
        assert invoice_files.issue_invoice(order_id=order_id) == row.storage_key
        order = services.get_order_by_number(number)
        assert hashlib.sha256(invoices.render_invoice_pdf(order)).hexdigest() != row.sha256
    assert _download(client, number) == stored
    assert len(_rows(app)) == 1
    assert [p.name for p in (Path(app.config["UPLOADS_ROOT"]) / "invoices").iterdir()] == [
        row.storage_key.split("/")[-1]
    ]


def test_a_download_issues_the_invoice_when_the_job_never_ran(app, client, shop, no_jobs):
    number, _ = _paid_order(app, client, shop)
    assert _rows(app) == []
    first = _download(client, number)
    (row,) = _rows(app)
    assert row.sha256 == hashlib.sha256(first).hexdigest()
    assert _download(client, number) == first and len(_rows(app)) == 1


def test_with_storage_down_the_buyer_still_gets_the_same_invoice(
    app, client, shop, no_jobs, monkeypatch
):
    number, _ = _paid_order(app, client, shop)

    def refuse(self, key, data, *, content_type):
        raise StorageError("disk full")

    with monkeypatch.context() as broken:
        broken.setattr(LocalStorage, "put", refuse)
        fallback = _download(client, number)
        assert _rows(app) == []  # nothing recorded for a file that was not stored
    stored = _download(client, number)  # storage back: issued now, byte for byte the same
    assert stored == fallback and len(_rows(app)) == 1


def test_a_pro_forma_is_rendered_on_request_and_never_stored(app, client, shop):
    add_to_cart(client, shop.crown_id)
    number = order_number(checkout(client))
    assert _download(client, number).startswith(b"%PDF")
    with app.app_context():
        order_id = services.get_order_by_number(number).id
        assert invoice_files.issue_invoice(order_id=order_id) is None
    assert _rows(app) == []
