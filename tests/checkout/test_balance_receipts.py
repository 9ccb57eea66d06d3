"""A commission paid by deposit then balance gets two documents: the invoice issued at the
deposit (which showed the balance outstanding, and stays as issued) and a balance receipt
issued when the balance arrives, with nothing outstanding. The receipt is issued and mailed
once however often the webhook arrives, and only the buyer and staff can download it."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.checkout import invoice_files, services
from app.checkout.invoice_files import BALANCE_RECEIPT, INVOICE, InvoiceFile
from app.checkout.models import Order
from app.common.mail import read_outbox
from app.common.outbox import OutboxMessage
from app.common.storage import uploads_storage
from app.common.transactions import atomic
from app.domain.money import Money
from app.extensions import db
from tests.checkout.conftest import WEBHOOK_SECRET
from tests.checkout.support import item, place
from tests.checkout.test_concurrency import race_app  # noqa: F401  (fixture)
from tests.checkout.test_webhook_states import fake_stripe  # noqa: F401  (fixture)
from tests.helpers import login, make_user, race

RECEIPT_SUBJECT = "Your receipt for the balance"


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@dataclass(frozen=True)
class Intent:
    """A card payment's PaymentIntent as Stripe's events describe it."""

    id: str
    amount_minor: int
    currency: str
    order_number: str

    @classmethod
    def of(cls, payment) -> Intent:
        return cls(
            payment.provider_id, payment.amount_minor, payment.currency, payment.order.number
        )


def signed_succeeded(event_id: str, intent: Intent) -> tuple[bytes, dict[str, str]]:
    """A payment_intent.succeeded delivery for ``intent``, signed as Stripe signs it."""
    payload = json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "payment_intent.succeeded",
            "data": {
                "object": {
                    "id": intent.id,
                    "object": "payment_intent",
                    "status": "succeeded",
                    "amount": intent.amount_minor,
                    "currency": intent.currency.lower(),
                    "metadata": {"order_number": intent.order_number},
                }
            },
        }
    ).encode()
    stamp = int(time.time())
    signature = hmac.new(
        WEBHOOK_SECRET.encode(), str(stamp).encode() + b"." + payload, hashlib.sha256
    ).hexdigest()
    return payload, {"Stripe-Signature": f"t={stamp},v1={signature}"}


def deliver(client, delivery: tuple[bytes, dict[str, str]]) -> str:
    payload, headers = delivery
    response = client.post(
        "/stripe/webhook", data=payload, headers=headers, content_type="application/json"
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["outcome"]


def documents(app, order_id: int) -> dict[str, bytes]:
    with app.app_context():
        rows = db.session.execute(
            select(InvoiceFile).where(InvoiceFile.order_id == order_id)
        ).scalars()
        return {row.kind: uploads_storage().read(row.storage_key) for row in rows}


def queued_receipts(app) -> int:
    """Receipt mails in the outbox, sent or not (a lost job leaves them unsent)."""
    with app.app_context():
        rows = db.session.execute(
            select(OutboxMessage).where(OutboxMessage.template == "balance_receipt")
        ).scalars()
        return len(list(rows))


def receipt_mails(app) -> list:
    return [
        m for m in read_outbox(app.config["MAIL_OUTBOX_DIR"]) if RECEIPT_SUBJECT in m["Subject"]
    ]


@pytest.fixture
def commission(app, shop, fake_stripe):  # noqa: F811
    """A commission paid by card deposit (a signed webhook) with its balance requested and
    a card payment for it opened: (order number, order id, the balance's intent)."""
    app.config["STRIPE_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    client = app.test_client()
    with app.app_context():
        order = place(item(shop.custom_id), method="stripe", email="bea@example.com")
        number, order_id = order.number, order.id
        deposit = signed_succeeded("evt_deposit", Intent.of(order.payments[-1]))
    assert deliver(client, deposit) == "paid"
    with app.app_context():
        with atomic():
            services.request_balance(order_id=order_id, by_user_id=None)
        with atomic():
            balance = services.start_balance_payment(order_id=order_id, payment_method="stripe")
        db.session.expire_all()
        balance = db.session.get(Order, order_id).payments[-1]
        assert balance.kind == "balance" and balance.provider_id  # the intent is open
        return number, order_id, Intent.of(balance)


def test_deposit_then_balance_gives_an_invoice_and_a_receipt_with_nothing_outstanding(
    app, client, commission
):
    number, order_id, intent = commission
    balance = signed_succeeded("evt_balance", intent)
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order.status == "deposit_paid" and order.outstanding_minor > 0
        owed = f"Outstanding {Money(order.outstanding_minor, order.currency).format()}"
        nothing = f"Outstanding {Money(0, order.currency).format()}"
    invoice = documents(app, order_id)[INVOICE]
    assert owed in pdf_text(invoice)
    with client.session_transaction() as session:
        services.remember_guest_order(session, number=number)
    assert client.get(f"/account/orders/{number}/balance-receipt.pdf").status_code == 404

    assert deliver(client, balance) == "paid"
    assert deliver(client, balance) == "duplicate"  # the same event, delivered again

    issued = documents(app, order_id)
    assert set(issued) == {INVOICE, BALANCE_RECEIPT}
    assert issued[INVOICE] == invoice  # the invoice stays as issued
    text = pdf_text(issued[BALANCE_RECEIPT])
    assert f"Balance receipt {number}" in text and nothing in text and owed not in text
    assert "Deposit paid" in text and "Balance paid" in text
    with app.app_context():
        assert db.session.get(Order, order_id).outstanding_minor == 0

    (mail,) = receipt_mails(app)
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_filename() == f"diadem-balance-receipt-{number}.pdf"
    assert attachment.get_content() == issued[BALANCE_RECEIPT]

    page = client.get(f"/account/orders/{number}").get_data(as_text=True)
    assert f"/account/orders/{number}/balance-receipt.pdf" in page
    download = client.get(f"/account/orders/{number}/balance-receipt.pdf")
    assert download.status_code == 200 and download.data == issued[BALANCE_RECEIPT]
    assert f"diadem-balance-receipt-{number}.pdf" in download.headers["Content-Disposition"]


def test_only_the_buyer_and_staff_can_download_the_receipt(app, client, commission):
    number, order_id, intent = commission
    balance = signed_succeeded("evt_balance", intent)
    assert deliver(client, balance) == "paid"
    receipt = documents(app, order_id)[BALANCE_RECEIPT]
    url = f"/account/orders/{number}/balance-receipt.pdf"

    make_user(app, email="other@example.com")
    stranger = app.test_client()
    login(stranger, "other@example.com")
    assert stranger.get(url).status_code == 404
    assert app.test_client().get(url).status_code == 404  # a guest without the order's link
    staff_url = f"/staff/orders/{number}/payments/balance-receipt.pdf"
    assert stranger.get(staff_url).status_code == 403

    make_user(app, email="staff@example.com", role="staff")
    staff = app.test_client()
    login(staff, "staff@example.com")
    assert "balance-receipt.pdf" in staff.get(f"/staff/orders/{number}/payments").text
    assert staff.get(staff_url).data == receipt
    assert (
        staff.get(f"/staff/orders/{number}/payments/invoice.pdf").data
        == (documents(app, order_id)[INVOICE])
    )
    assert staff.get("/staff/orders/DIA-NONE00/payments/balance-receipt.pdf").status_code == 404


def test_a_lost_job_is_made_up_by_the_download_and_still_mails_once(
    app, client, commission, monkeypatch
):
    number, order_id, intent = commission
    balance = signed_succeeded("evt_balance", intent)
    monkeypatch.setattr(invoice_files.jobs, "run_soon", lambda fn, **kwargs: None)
    assert deliver(client, balance) == "paid"
    assert BALANCE_RECEIPT not in documents(app, order_id)
    with client.session_transaction() as session:
        services.remember_guest_order(session, number=number)
    first = client.get(f"/account/orders/{number}/balance-receipt.pdf").data
    assert client.get(f"/account/orders/{number}/balance-receipt.pdf").data == first
    assert documents(app, order_id)[BALANCE_RECEIPT] == first
    assert queued_receipts(app) == 1


def test_a_bank_transfer_balance_gets_its_receipt_too(app, shop):
    with app.app_context():
        order = place(item(shop.custom_id))
        with atomic():
            services.mark_paid(order_id=order.id, reference="deposit")
        with atomic():
            services.request_balance(order_id=order.id, by_user_id=None)
        with atomic():
            services.mark_paid(order_id=order.id, reference="balance")
        order_id = order.id
    text = pdf_text(documents(app, order_id)[BALANCE_RECEIPT])
    assert "by bank transfer" in text and "Outstanding $0.00" in text
    assert len(receipt_mails(app)) == 1


RACERS = 8  # race_app has a connection for each


@pytest.fixture
def racing(app, race_app):  # noqa: F811
    """A second app on the same database (a connection for every racer), sharing this test's
    storage, outbox and webhook secret."""
    keys = ("MAIL_OUTBOX_DIR", "UPLOADS_ROOT")
    race_app.config.update({key: app.config[key] for key in keys})
    race_app.config["STRIPE_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    return race_app


def test_the_balance_webhook_arriving_at_once_issues_one_receipt(app, racing, commission):
    number, order_id, intent = commission
    balance = signed_succeeded("evt_balance", intent)
    again = signed_succeeded("evt_balance_resent", intent)
    deliveries = [balance, balance, again, again]

    def post(i: int) -> str:
        return deliver(racing.test_client(), deliveries[i])

    outcomes = race(len(deliveries), post)
    assert sorted(outcomes) == ["already paid", "duplicate", "duplicate", "paid"]
    assert set(documents(app, order_id)) == {INVOICE, BALANCE_RECEIPT}
    assert len(receipt_mails(app)) == 1


def test_racing_issuers_record_one_receipt_and_queue_one_mail(
    app, racing, client, commission, monkeypatch
):
    number, order_id, intent = commission
    balance = signed_succeeded("evt_balance", intent)
    monkeypatch.setattr(invoice_files.jobs, "run_soon", lambda fn, **kwargs: None)
    assert deliver(client, balance) == "paid"  # the job is lost: no receipt yet

    def issue(i: int) -> str | None:
        return invoice_files.issue_document(order_id=order_id, kind=BALANCE_RECEIPT)

    keys = race(RACERS, issue, app=racing)
    with app.app_context():
        (row,) = db.session.execute(
            select(InvoiceFile).where(InvoiceFile.kind == BALANCE_RECEIPT)
        ).scalars()
    assert keys == [row.storage_key] * RACERS
    assert queued_receipts(app) == 1


def test_the_invoice_module_can_be_imported_first():
    """invoices -> services -> settlement -> invoice_files -> invoices is a cycle, so
    invoice_files may not use invoices' names at import time (one fresh interpreter, ~3 s CPU:
    the app's own imports)."""
    done = subprocess.run(
        [sys.executable, "-c", "import app.checkout.invoices"], capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
