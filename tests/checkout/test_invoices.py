"""Invoices fit for a bank transfer (issue 15 item 7): the seller from configuration, the bank
details and reference while a transfer is awaited, and wording that follows the order's state."""

from __future__ import annotations

from app.checkout import invoices, services
from app.common.transactions import atomic
from tests.checkout.support import add_to_cart, checkout, order_number

SELLER = {
    "legal_name": "Diadem Atelier Ltd",
    "address": "14 Hatton Garden, London EC1N 8AT",
    "company_number": "09876543",
    "vat_number": "GB123456789",
    "email": "accounts@diadem.example",
}


def test_a_pro_forma_asks_for_the_transfer_and_names_the_seller(app, client, shop):
    app.config["SELLER"] = SELLER
    app.config["BANK_TRANSFER_DETAILS"] = {"IBAN": "GB29 NWBK 6016 1331 9268 19"}
    add_to_cart(client, shop.crown_id)
    number = order_number(checkout(client))
    page = client.get(f"/account/orders/{number}/invoice").get_data(as_text=True)

    assert f"Pro-forma invoice {number}" in page
    assert "GB29 NWBK 6016 1331 9268 19" in page
    with app.app_context():
        order = services.get_order_by_number(number)
        reference = invoices.pending_bank_payment(order).reference
    assert reference and f'class="reference">{reference}<' in page
    for part in ("Company no. 09876543", "VAT no. GB123456789", "14 Hatton Garden"):
        assert part in page
    assert "Ships insured for" in page and "Shipped insured" not in page


def test_once_paid_and_shipped_the_invoice_says_so_and_asks_for_nothing(app, client, shop):
    add_to_cart(client, shop.crown_id)
    number = order_number(checkout(client))
    with app.app_context():
        order_id = services.get_order_by_number(number).id
        with atomic():
            services.mark_paid(order_id=order_id, reference="BACS")
        with atomic():
            services.mark_shipped(
                order_id=order_id, carrier="Royal Mail", tracking_number="RM1", by_user_id=None
            )
    page = client.get(f"/account/orders/{number}/invoice").get_data(as_text=True)
    assert f"Invoice {number}" in page
    assert "Pay by bank transfer" not in page
    assert "Shipped insured for" in page and "(Royal Mail)" in page
    pdf = client.get(f"/account/orders/{number}/invoice.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_without_configured_numbers_the_seller_prints_no_placeholders(app):
    with app.app_context():
        lines = invoices.seller_lines()
    assert lines[0] == "Diadem Atelier Ltd"
    assert not any("Company no." in line or "VAT no." in line for line in lines)


def test_launch_check_warns_while_placeholders_remain(app):
    runner = app.test_cli_runner()
    warned = runner.invoke(args=["launch-check", "--strict"])
    assert warned.exit_code == 1
    assert "bank details are the example placeholder" in warned.output
    assert "company number or vat number" in warned.output

    app.config["SELLER"] = SELLER
    app.config["BANK_TRANSFER_DETAILS"] = {"IBAN": "GB29 NWBK 6016 1331 9268 19"}
    settled = runner.invoke(args=["launch-check", "--strict"])
    assert settled.exit_code == 0 and "WARNING" not in settled.output
