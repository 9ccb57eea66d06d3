"""Accessibility beyond axe-core's sweep (tests/e2e/test_every_page.py): checkout by bank
transfer and booking a consultation with the keyboard alone (Tab, Enter, Space, arrows and
typing; the mouse is never used), and the live try-on's status read out to screen readers."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta

import pytest

from tests.booking.test_views import confirm_link
from tests.e2e.conftest import screenshot
from tests.e2e.test_tryon import coffee_page, tryon_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DIADEM_TEST_DATABASE_URL")),
    reason="keyboard operation and live regions do not depend on the database: run once, on "
    "SQLite (checkout and booking on PostgreSQL are covered by their own tests)",
)
MAX_TABS = 120


def tab_to(page, selector: str) -> None:
    """Press Tab until the focused element matches ``selector`` (as a keyboard user would)."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def type_into(page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def focus_is_visible(page) -> bool:
    """The focused element draws a focus ring (an outline or a box shadow)."""
    return page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
                   return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
                          || s.boxShadow !== 'none'; }"""
    )


def test_checkout_by_bank_transfer_with_the_keyboard_only(seeded, live_server, page):
    page.goto(live_server + "/shop/aurelia-crown")
    tab_to(page, "form[action$='/cart/items'] button[type=submit]")
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/cart$"))

    tab_to(page, "a[href$='/checkout']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/checkout$"))
    type_into(page, "#email", "kim.keys@example.com")
    type_into(page, "#name", "Kim Keys")
    type_into(page, "#address_line1", "3 Tab Terrace")
    type_into(page, "#city", "York")
    type_into(page, "#postal_code", "YO1 7HH")
    tab_to(page, "#country")
    page.keyboard.type("United Kingdom")  # a focused select picks the option typed
    assert page.locator("#country").input_value() == "GB"
    tab_to(page, "input[name=payment_method][value=manual]")
    assert page.get_by_label("Bank transfer").is_checked()
    tab_to(page, "input[name=accept_policy]")
    page.keyboard.press("Space")
    assert page.get_by_label("I accept the returns and repairs policy").is_checked()
    tab_to(page, "form button[type=submit]")
    assert focus_is_visible(page)
    screenshot(page, "keyboard-checkout")
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/account/orders/DIA-[A-Z0-9]{6}$"))
    assert page.locator("[data-order-status]").inner_text() == "Awaiting payment"
    assert "IBAN" in page.locator(".bank-details").inner_text()


def test_book_a_consultation_with_the_keyboard_only(seeded, live_server, page):
    page.goto(live_server + "/consultations/new")
    type_into(page, "#name", "Kim Keys")
    type_into(page, "#email", "kim.keys@example.com")
    tab_to(page, "#event_kind")
    page.keyboard.type("Wedding")
    event = date.today() + timedelta(days=150)
    tab_to(page, "#event_date")
    page.keyboard.type(event.strftime("%m%d%Y"))  # Chromium's en-US date field: mm/dd/yyyy
    assert page.locator("#event_date").input_value() == event.isoformat()
    tab_to(page, "input[name=mode]")
    page.keyboard.press("ArrowDown")  # radios move with the arrows: studio -> video
    assert page.locator("input[name=mode]:checked").get_attribute("value") == "video"
    tab_to(page, "input[name=slot]")
    page.keyboard.press("Space")
    slot = page.locator("input[name=slot]:checked")
    assert slot.count() == 1
    tab_to(page, "button[name=submit]")
    assert focus_is_visible(page)
    screenshot(page, "keyboard-booking")
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/consultations/manage/"))
    page.goto(live_server + confirm_link(seeded, to="kim.keys@example.com"))
    tab_to(page, "main form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/consultations/manage/"))
    assert "Your consultation is booked" in page.locator("main").inner_text()


def test_live_tryon_status_is_read_out(tryon_server, coffee_page):  # noqa: F811
    """The words over the mirror reach screen readers through one polite live region."""
    page = coffee_page
    page.goto(f"{tryon_server}/tryon/test-crown")
    page.wait_for_selector("#tryon-app[data-ready]", state="attached")
    status = page.locator("#tryon-status[role=status][aria-live=polite]")
    assert page.locator("#tryon-message").get_attribute("aria-hidden") == "true"
    tab_to(page, "#tryon-start")
    page.keyboard.press("Enter")
    page.wait_for_selector("#tryon-app[data-no-face]", state="attached", timeout=20_000)
    assert "can’t see a face" in status.inner_text()
