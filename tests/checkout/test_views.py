"""Checkout pages: cart, checkout, order pages and their access rules, invoices, staff actions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.catalog.models import Product
from app.catalog.services import price_product
from app.checkout import invoices, services
from app.common.mail import read_outbox
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.domain.pricing import deposit_split
from app.extensions import db
from tests.checkout.support import add_to_cart, checkout, item, order_number, place
from tests.helpers import csrf_token, login, make_user


def text(response) -> str:
    return response.get_data(as_text=True)


def test_product_page_offers_the_cart_form(client, shop):
    page = text(client.get("/shop/test-crown?size=L"))
    assert 'action="/cart/items"' in page
    assert 'name="size" value="L"' in page and "data-free='{\"yellow-gold\": 3}'" in page
    assert "Start the commission (40% deposit)" in text(client.get("/shop/test-bespoke"))


def test_a_sold_out_edition_has_no_cart_button(app, client):
    from tests.factories import make_product

    with app.app_context():
        make_product("gone-crown", sold=10)
    page = text(client.get("/shop/gone-crown"))
    assert "Every numbered piece of Gone Crown is sold." in page
    assert 'action="/cart/items"' not in page


def test_guest_cart_shows_breakdowns_and_totals_and_ignores_posted_prices(app, client, shop):
    add_to_cart(
        client,
        shop.tiara_id,
        size="L",
        quantity=2,
        extra={"price": "1", "total_minor": "1", "amount_minor": "1"},
    )
    page = text(add_to_cart(client, shop.custom_id))
    with app.app_context():
        tiara = price_product(db.session.get(Product, shop.tiara_id), size_code="L").breakdown
        custom = price_product(db.session.get(Product, shop.custom_id)).breakdown
    assert f'data-total-minor="{tiara.total.minor}"' in page
    assert f'data-line-total-minor="{2 * tiara.total.minor}"' in page
    assert f'data-cart-total-minor="{2 * tiara.total.minor + custom.total.minor}"' in page
    deposit = deposit_split(custom.total, 40)[0]
    assert f'data-due-now-minor="{2 * tiara.total.minor + deposit.minor}"' in page
    assert "Deposit now" in page

    response = checkout(client, price="1", total_minor="1", deposit_minor="1")
    assert response.status_code == 302
    with app.app_context():
        order = services.get_order_by_number(order_number(response))
        assert order.total_minor == 2 * tiara.total.minor + custom.total.minor
        assert order.payments[0].amount_minor == 2 * tiara.total.minor + deposit.minor


def test_absurd_quantities_get_a_clear_message(client, shop):
    cases = [
        ("0", "Choose between 1 and 5"),
        ("-2", "Choose between 1 and 5"),
        ("999999999999", "Choose between 1 and 5"),
        ("two", "Not a valid integer"),
    ]
    for quantity, message in cases:
        page = text(add_to_cart(client, shop.tiara_id, quantity=quantity))
        assert message in page and "Your cart is empty" in page


def test_unknown_products_and_sold_out_pieces_get_clear_messages(client, shop):
    assert "no longer in the shop" in text(add_to_cart(client, 987654))
    assert "not made in" in text(add_to_cart(client, shop.crown_id, metal="silver"))


def test_asking_for_more_than_is_left_puts_what_is_left_in_the_cart(app, client, shop):
    app.config["EDITION_HOLD_LIMIT"] = 5
    page = text(add_to_cart(client, shop.crown_id, quantity=4))
    assert "Only 3 numbered pieces of Test Crown in 18k yellow gold are left: we added 3." in page
    assert 'value="3"' in page and "Your cart is empty" not in page


def test_cart_lines_can_be_changed_and_removed(client, shop):
    add_to_cart(client, shop.tiara_id)
    key = f"{shop.tiara_id}:yellow-gold:M"
    token = csrf_token(client, "/cart")
    page = text(
        client.post(
            "/cart/items/update",
            data={"csrf_token": token, "key": key, "quantity": "2"},
            follow_redirects=True,
        )
    )
    assert 'value="2"' in page
    page = text(
        client.post(
            "/cart/items/remove", data={"csrf_token": token, "key": key}, follow_redirects=True
        )
    )
    assert "Your cart is empty" in page


def test_guest_checkout_with_bank_transfer(app, client, shop):
    add_to_cart(client, shop.crown_id)
    form = text(client.get("/checkout"))
    assert "declared value" in form and "signature required on delivery" in form
    assert "/policies/returns" in form
    response = checkout(client)
    assert response.status_code == 302
    number = order_number(response)
    page = text(client.get(response.headers["Location"]))
    assert "Awaiting payment" in page and "No. 08/10" in page
    assert "Pay by bank transfer" in page and f'<strong class="reference">{number}</strong>' in page
    assert "Your cart is empty" in text(client.get("/cart"))
    [message] = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    assert message["To"] == "bea@example.com"
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert f"Reference: {number}" in plain and number in html
    assert "/account/orders/" in plain and "?t=" in plain  # a signed link for the guest


def test_checkout_requires_the_policy_and_valid_details(client, shop):
    add_to_cart(client, shop.crown_id)
    response = checkout(client, accept_policy=None, country="", email="nope")
    page = text(response)
    assert response.status_code == 400
    assert "Please accept the returns and repairs policy." in page
    assert "Choose a country." in page and "Invalid email address." in page


def test_an_event_before_the_ship_date_needs_confirmation(client, shop):
    add_to_cart(client, shop.custom_id)
    soon = (utcnow().date() + timedelta(days=10)).isoformat()
    response = checkout(client, event_date=soon)
    page = text(response)
    assert response.status_code == 200
    assert "The piece may not arrive in time." in page and "accept_late" in page
    response = checkout(client, event_date=soon, accept_late="y")
    assert response.status_code == 302
    past = (utcnow().date() - timedelta(days=1)).isoformat()
    add_to_cart(client, shop.custom_id)
    assert "That date has passed." in text(checkout(client, event_date=past))


def test_pieces_sold_between_cart_and_checkout_give_a_sold_out_message(app, client, shop):
    add_to_cart(client, shop.crown_id, quantity=2)
    with app.app_context():
        place(item(shop.crown_id, quantity=2))
    response = checkout(client)
    assert response.status_code == 302 and response.headers["Location"] == "/cart"
    assert "still free" in text(client.get("/cart"))


def test_orders_are_private(app, client, shop):
    owner = make_user(app, email="owner@example.com")
    make_user(app, email="other@example.com")
    login(client, email="owner@example.com")
    add_to_cart(client, shop.tiara_id)
    number = order_number(checkout(client))
    assert client.get(f"/account/orders/{number}").status_code == 200
    assert number in text(client.get("/account/orders"))
    assert client.get(f"/account/orders/{number}/invoice.pdf").status_code == 200

    other = app.test_client()
    assert other.get(f"/account/orders/{number}").status_code == 404  # guest
    login(other, email="other@example.com")
    for path in ("", "/invoice", "/invoice.pdf", "/pay", "/status.json"):
        assert other.get(f"/account/orders/{number}{path}").status_code == 404
    assert other.get("/account/orders/DIA-NOSUCH").status_code == 404
    # A signed guest link does not open an account holder's order either.
    with app.test_request_context():
        token = services.order_link_token(number)
    assert other.get(f"/account/orders/{number}?t={token}").status_code == 404
    with app.app_context():
        assert services.get_order_by_number(number).user_id == owner


def test_guests_see_their_order_only_through_the_signed_link(app, client, shop):
    add_to_cart(client, shop.tiara_id)
    number = order_number(checkout(client))
    with app.test_request_context():
        token = services.order_link_token(number)
        other_token = services.order_link_token("DIA-AAAAAA")
    stranger = app.test_client()
    assert stranger.get(f"/account/orders/{number}").status_code == 404
    assert stranger.get(f"/account/orders/{number}?t={other_token}").status_code == 404
    assert stranger.get(f"/account/orders/{number}?t={token}x").status_code == 404
    response = stranger.get(f"/account/orders/{number}?t={token}")
    assert response.status_code == 302 and response.headers["Location"].endswith(number)
    assert stranger.get(f"/account/orders/{number}").status_code == 200


def test_a_guest_cart_is_kept_when_signing_in(app, client, shop):
    make_user(app)
    add_to_cart(client, shop.tiara_id, quantity=2)
    login(client)
    page = text(client.get("/cart"))
    assert f'data-cart-line="{shop.tiara_id}:yellow-gold:M"' in page and 'value="2"' in page
    with client.session_transaction() as session:
        assert "cart" not in session


def test_invoice_page_and_pdf(app, client, shop):
    add_to_cart(client, shop.crown_id)
    number = order_number(checkout(client))
    page = text(client.get(f"/account/orders/{number}/invoice"))
    assert f"Pro-forma invoice {number}" in page and "No. 08/10" in page
    with app.app_context(), atomic():
        services.mark_paid(order_id=services.get_order_by_number(number).id)
    assert f"Invoice {number}" in text(client.get(f"/account/orders/{number}/invoice"))
    pdf = client.get(f"/account/orders/{number}/invoice.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF") and len(pdf.data) > 2000
    assert f"diadem-invoice-{number}.pdf" in pdf.headers["Content-Disposition"]


def test_the_order_page_leaves_room_for_production_details(app, client, shop, tmp_path):
    add_to_cart(client, shop.tiara_id)
    number = order_number(checkout(client))
    assert 'data-order-status="awaiting_payment"' in text(client.get(f"/account/orders/{number}"))


def test_webhook_rejects_a_bad_signature(app, client):
    app.config["STRIPE_WEBHOOK_SECRET"] = "whsec_test"
    response = client.post(
        "/stripe/webhook", data=b'{"id": "evt_1"}', headers={"Stripe-Signature": "t=1,v1=deadbeef"}
    )
    assert response.status_code == 400
    assert client.post("/stripe/webhook", data=b"{}").status_code == 400


# --- staff ----------------------------------------------------------------------------------


@pytest.fixture
def staff_client(app):
    make_user(app, email="staff@example.com", role="staff")
    staff = app.test_client()
    login(staff, email="staff@example.com")
    return staff


@pytest.fixture
def admin_client(app):
    make_user(app, email="owner@example.com", role="admin")
    admin = app.test_client()
    login(admin, email="owner@example.com")
    return admin


def test_moving_money_is_for_admins_only(app, staff_client, shop):
    """The permission table: plain staff see payments and ask for balances, nothing more."""
    with app.app_context():
        order = place(item(shop.tiara_id))
        number, line_id = order.number, order.lines[0].id
    base = f"/staff/orders/{number}/payments"
    page = text(staff_client.get(base))
    assert "mark_paid" not in page and "/mark-paid" not in page and "/cancel" not in page
    token = csrf_token(staff_client, base)
    for path in ("/mark-paid", "/1/refund", "/cancel", f"/lines/{line_id}/revise"):
        data = {"csrf_token": token, "reason": "x", "reference": "x", "amount": "1"}
        assert staff_client.post(base + path, data=data).status_code == 403, path
    assert staff_client.get(f"{base}/lines/{line_id}/revise").status_code == 403
    with app.app_context():
        assert services.get_order_by_number(number).status == "awaiting_payment"


def test_staff_payment_pages_need_staff(app, client, shop):
    with app.app_context():
        number = place(item(shop.tiara_id)).number
    assert client.get("/staff/payments").status_code == 302  # guest: to sign in
    make_user(app)
    login(client)
    assert client.get("/staff/payments").status_code == 403
    assert client.get(f"/staff/orders/{number}/payments").status_code == 403
    response = client.post(f"/staff/orders/{number}/payments/mark-paid", data={})
    assert response.status_code in (400, 403)


def test_staff_mark_paid_refund_and_cancel(app, admin_client, shop):
    with app.app_context():
        order = place(item(shop.tiara_id))
        number, total = order.number, order.total_minor
    listing = text(admin_client.get("/staff/payments"))
    assert number in listing
    base = f"/staff/orders/{number}/payments"
    token = csrf_token(admin_client, base)
    page = text(
        admin_client.post(
            f"{base}/mark-paid",
            data={"csrf_token": token, "reference": "HSBC 991"},
            follow_redirects=True,
        )
    )
    assert f"Order {number} is marked paid." in page and "HSBC 991" in page
    with app.app_context():
        payment_id = services.get_order_by_number(number).payments[0].id
    page = text(
        admin_client.post(
            f"{base}/{payment_id}/refund",
            data={"csrf_token": token, "amount": "abc", "reason": "x"},
            follow_redirects=True,
        )
    )
    assert "is not an amount of money" in page
    page = text(
        admin_client.post(
            f"{base}/{payment_id}/refund",
            data={"csrf_token": token, "amount": "100.50", "reason": "Goodwill"},
            follow_redirects=True,
        )
    )
    assert "The refund is recorded." in page
    with app.app_context():
        order = services.get_order_by_number(number)
        assert order.refunded_minor == 10_050 and order.status == "paid"
    admin_client.post(
        f"{base}/{payment_id}/refund", data={"csrf_token": token, "reason": "Returned"}
    )
    page = text(
        admin_client.post(
            f"{base}/cancel",
            data={"csrf_token": token, "reason": "Returned unworn"},
            follow_redirects=True,
        )
    )
    assert f"Order {number} is cancelled." in page
    with app.app_context():
        order = services.get_order_by_number(number)
        assert order.status == "cancelled" and order.refunded_minor == total


def test_staff_revise_a_commission_and_request_the_balance(app, client, admin_client, shop):
    add_to_cart(client, shop.custom_id)
    number = order_number(checkout(client))
    with app.app_context():
        order = services.get_order_by_number(number)
        with atomic():
            services.mark_paid(order_id=order.id)
        line = order.lines[0]
        line_id, amounts = line.id, [x.amount.minor for x in line.frozen_breakdown().lines]
    base = f"/staff/orders/{number}/payments"
    form = text(admin_client.get(f"{base}/lines/{line_id}/revise"))
    assert (
        'name="amounts-0"' in form and f'value="{amounts[0] // 100}.{amounts[0] % 100:02d}"' in form  # noqa: E501
    )
    token = csrf_token(admin_client, base)
    data = {
        "csrf_token": token,
        "extra_label": "Extra pearls",
        "extra_amount": "1200",
        "note": "Two more pearls",
    }
    data.update({f"amounts-{i}": f"{a // 100}.{a % 100:02d}" for i, a in enumerate(amounts)})
    response = admin_client.post(f"{base}/lines/{line_id}/revise", data=data)
    assert response.status_code == 302
    page = text(
        admin_client.post(
            f"{base}/request-balance", data={"csrf_token": token}, follow_redirects=True
        )
    )
    assert "not accepted the revised price" in page

    page = text(client.get(f"/account/orders/{number}"))
    assert "Revised price for Test Bespoke (version 2)" in page and "Extra pearls" in page
    with app.app_context():
        revision_id = services.get_order_by_number(number).lines[0].pending_revision.id
    buyer_token = csrf_token(client, f"/account/orders/{number}")
    page = text(
        client.post(
            f"/account/orders/{number}/revisions/{revision_id}/accept",
            data={"csrf_token": buyer_token},
            follow_redirects=True,
        )
    )
    assert "the revised price is accepted" in page
    admin_client.post(f"{base}/request-balance", data={"csrf_token": token})
    page = text(client.get(f"/account/orders/{number}"))
    with app.app_context():
        order = services.get_order_by_number(number)
        balance = order.outstanding_minor
        assert balance == sum(amounts) + 120_000 - order.deposit_minor
        assert order.balance_requested_at is not None
    assert "Balance due:" in page
    message = read_outbox(app.config["MAIL_OUTBOX_DIR"])[-1]
    assert message["Subject"] == f"The balance for your Diadem commission {number}"
    page = text(
        client.post(
            f"/account/orders/{number}/balance",
            data={"csrf_token": buyer_token, "payment_method": "manual"},
            follow_redirects=True,
        )
    )
    assert f"{number}-BAL" in page
    admin_client.post(f"{base}/mark-paid", data={"csrf_token": token, "reference": "bal"})
    with app.app_context():
        order = services.get_order_by_number(number)
        assert order.status == "paid" and order.outstanding_minor == 0
        with atomic():
            services.mark_shipped(
                order_id=order.id, carrier="Royal Mail", tracking_number="RM1", by_user_id=None
            )
    page = text(client.get(f"/account/orders/{number}"))
    assert "Royal Mail" in page and "RM1" in page


def test_a_draft_commission_is_completed_by_its_buyer(app, client, shop):
    user_id = make_user(app)
    with app.app_context(), atomic():
        number = services.create_custom_order_draft(
            user_id=user_id,
            email="buyer@example.com",
            name="Bea",
            product_id=shop.custom_id,
            metal_code="yellow-gold",
            size_code="M",
            notes="",
        ).number
    login(client)
    page = text(client.get(f"/account/orders/{number}"))
    assert "Complete your order and pay the deposit" in page
    token = csrf_token(client, f"/account/orders/{number}/complete")
    data = {
        "csrf_token": token,
        "email": "buyer@example.com",
        "name": "Bea",
        "address_line1": "2 Tiara Row",
        "city": "Bath",
        "postal_code": "BA1 1AA",
        "country": "GB",
        "payment_method": "manual",
        "accept_policy": "y",
    }
    response = client.post(f"/account/orders/{number}/complete", data=data)
    assert response.status_code == 302
    page = text(client.get(f"/account/orders/{number}"))
    assert "Awaiting payment" in page and "Pay by bank transfer" in page


def test_a_draft_keeps_its_event_date_through_completion(app, client, shop):
    event = utcnow().date() + timedelta(days=400)
    user_id = make_user(app)
    with app.app_context(), atomic():
        number = services.create_custom_order_draft(
            user_id=user_id,
            email="buyer@example.com",
            name="Bea",
            product_id=shop.custom_id,
            metal_code="yellow-gold",
            size_code="M",
            event_date=event,
        ).number
        assert services.get_order_by_number(number).event_date == event
    login(client)
    url = f"/account/orders/{number}/complete"
    form = client.get(url).get_data(as_text=True)
    assert f'value="{event.isoformat()}"' in form  # prefilled, so completing does not drop it
    data = {
        "csrf_token": csrf_token(client, url),
        "email": "buyer@example.com",
        "name": "Bea",
        "address_line1": "2 Tiara Row",
        "city": "Bath",
        "postal_code": "BA1 1AA",
        "country": "GB",
        "event_date": event.isoformat(),
        "payment_method": "manual",
        "accept_policy": "y",
    }
    assert client.post(url, data=data).status_code == 302
    with app.app_context():
        assert services.get_order_by_number(number).event_date == event


def test_a_payments_internal_note_stays_with_staff(app, admin_client, client, shop, monkeypatch):
    """The audit found staff notes on a payment shown to the buyer; only the buyer's note is."""
    # Spying from the start: the invoice PDF is drawn when the payment issues it.
    printed: list[str] = []  # the PDF's text is compressed: read the rows as they are drawn
    row = invoices._InvoicePDF.row
    monkeypatch.setattr(
        invoices._InvoicePDF,
        "row",
        lambda self, label, value, **kw: printed.append(label) or row(self, label, value, **kw),
    )
    add_to_cart(client, shop.tiara_id)
    number = order_number(checkout(client))
    base = f"/staff/orders/{number}/payments"
    admin_client.post(
        f"{base}/mark-paid",
        data={
            "csrf_token": csrf_token(admin_client, base),
            "reference": "HSBC 991, name on the transfer differs",
            "customer_note": "Received with thanks",
        },
    )
    staff_page = text(admin_client.get(base))
    assert "HSBC 991, name on the transfer differs" in staff_page
    assert "Received with thanks" in staff_page
    for path in (f"/account/orders/{number}", f"/account/orders/{number}/invoice"):
        page = text(client.get(path))
        assert "Received with thanks" in page, path
        assert "HSBC 991" not in page and "name on the transfer" not in page, path
    assert client.get(f"/account/orders/{number}/invoice.pdf").status_code == 200
    payment_rows = [label for label in printed if "Bank transfer" in label]
    assert payment_rows and "Received with thanks" in payment_rows[0]
    assert not any("HSBC" in label for label in printed)
