"""A guest buys a numbered studio piece by bank transfer in real Chromium, end to end."""

from __future__ import annotations

import re

from app.checkout import services
from app.common.mail import read_outbox
from app.common.transactions import atomic
from tests.e2e.conftest import screenshot

LINK = re.compile(r"(http://\S+/account/orders/DIA-[A-Z0-9]{6}\?t=\S+)")


def test_guest_buys_a_studio_piece_by_bank_transfer(seeded, live_server, page, browser):
    app = seeded
    page.goto(live_server + "/shop/aurelia-crown")
    page.get_by_label("Size").select_option("L")
    page.get_by_label("Metal").select_option("silver")
    # checkout.js carries the chosen options into the add-to-cart form.
    choice = page.locator("[data-cart-choice]")
    choice.filter(has_text="size L · Sterling silver").wait_for()
    assert page.locator("[data-cart-metal]").input_value() == "silver"
    page.get_by_label("Pieces").fill("1")
    screenshot(page, "checkout-product")
    page.get_by_role("button", name="Add to cart").click()

    page.wait_for_url(re.compile(r"/cart$"))
    line = page.locator(".cart-line")
    assert line.count() == 1
    assert "Sterling silver · size L" in line.inner_text()
    unit = int(line.locator("[data-total-minor]").get_attribute("data-total-minor"))
    screenshot(page, "checkout-cart")
    page.get_by_role("link", name="Checkout").click()

    page.wait_for_url(re.compile(r"/checkout$"))
    page.get_by_label("Email").fill("guest.buyer@example.com")
    page.get_by_label("Full name").fill("Gwen Guest")
    page.get_by_label("Address", exact=True).fill("12 Coronet Street")
    page.get_by_label("Town or city").fill("Edinburgh")
    page.get_by_label("Postcode").fill("EH1 1AA")
    page.get_by_label("Country").select_option("GB")
    assert page.get_by_label("Bank transfer").is_checked()
    page.get_by_label("I accept the returns and repairs policy").check()
    screenshot(page, "checkout-form")
    page.get_by_role("button", name=re.compile(r"^Place order")).click()

    page.wait_for_url(re.compile(r"/account/orders/DIA-[A-Z0-9]{6}$"))
    number = page.url.rsplit("/", 1)[1]
    assert page.locator("[data-order-status]").inner_text() == "Awaiting payment"
    # Silver pieces 01, 02 and 04 were sold in the demo: the lowest free number is 03.
    assert "No. 03/50" in page.locator(".order-lines").inner_text()
    bank = page.locator(".bank-details")
    assert number in bank.inner_text() and "IBAN" in bank.inner_text()
    assert int(page.locator("[data-order-total]").get_attribute("data-order-total")) == unit
    screenshot(page, "checkout-order-placed")

    # The atelier sees the transfer arrive and marks the order paid (a staff request).
    with app.test_request_context(base_url=live_server), atomic():
        services.mark_paid(order_id=services.get_order_by_number(number).id, reference="BACS")
    page.reload()
    assert page.locator("[data-order-status]").inner_text() == "Paid"
    screenshot(page, "checkout-order-paid")
    page.get_by_role("link", name="View invoice").click()
    assert f"Invoice {number}" in page.locator("h1").inner_text()
    assert page.get_by_role("button", name="Print").is_visible()
    screenshot(page, "checkout-invoice")

    # The emailed signed link opens the order in another browser, without an account.
    placed, paid = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    link = LINK.search(placed.get_body(("plain",)).get_content()).group(1)
    assert paid["Subject"] == f"Payment received for Diadem order {number}"
    other = browser.new_context()
    try:
        elsewhere = other.new_page()
        elsewhere.goto(link)
        assert elsewhere.url.endswith(f"/account/orders/{number}")
        assert "No. 03/50" in elsewhere.locator(".order-lines").inner_text()
    finally:
        other.close()


CONFIRM = re.compile(r"(http://\S+/account/orders/DIA-[A-Z0-9]{6}/confirm-email\?t=\S+)")


def test_a_guest_cannot_hoard_and_confirms_the_address_on_a_phone(seeded, live_server, browser):
    """The audit's hoarder, in a browser: the cart says why; the short hold waits for the link."""
    app = seeded
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = phone.new_page()
        page.goto(live_server + "/shop/aurelia-crown")
        page.get_by_label("Metal").select_option("silver")
        page.get_by_label("Pieces").fill("3")
        page.get_by_role("button", name="Add to cart").click()
        page.wait_for_url(re.compile(r"/cart$"))
        notice = page.get_by_text("one buyer may reserve at most 2 pieces of Aurelia")
        notice.wait_for()
        screenshot(page, "holds-cart-limit-390")

        page.goto(live_server + "/shop/aurelia-crown")
        page.get_by_label("Metal").select_option("silver")
        page.get_by_label("Pieces").fill("2")
        page.get_by_role("button", name="Add to cart").click()
        page.wait_for_url(re.compile(r"/cart$"))
        page.get_by_role("link", name="Checkout").click()
        page.get_by_label("Email").fill("hoarder@example.com")
        page.get_by_label("Full name").fill("Hal Hoarder")
        page.get_by_label("Address", exact=True).fill("1 Vault Road")
        page.get_by_label("Town or city").fill("Leeds")
        page.get_by_label("Postcode").fill("LS1 1AA")
        page.get_by_label("Country").select_option("GB")
        page.get_by_label("I accept the returns and repairs policy").check()
        page.get_by_role("button", name=re.compile(r"^Place order")).click()
        page.wait_for_url(re.compile(r"/account/orders/DIA-[A-Z0-9]{6}$"))
        assert "Please confirm your address" in page.locator("[data-confirm-email]").inner_text()
        screenshot(page, "holds-order-unconfirmed-390")

        # A third piece from the same browser under another address is refused in the cart.
        page.goto(live_server + "/shop/aurelia-crown")
        page.get_by_label("Metal").select_option("silver")
        page.get_by_role("button", name="Add to cart").click()
        page.get_by_text("You already hold 2").wait_for()

        [placed] = read_outbox(app.config["MAIL_OUTBOX_DIR"])
        link = CONFIRM.search(placed.get_body(("plain",)).get_content()).group(1)
        page.goto(link)
        screenshot(page, "holds-confirm-390")
        page.get_by_role("button", name="Confirm my address").click()
        page.get_by_text("your address is confirmed").wait_for()
        screenshot(page, "holds-confirmed-390")
    finally:
        phone.close()
