"""Undoing something asks first: removing a cart line shows a confirmation; dismissing it keeps
the line, accepting removes it."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e


def test_removing_a_cart_line_asks_first(seeded, live_server, page):
    page.goto(live_server + "/shop/aurelia-crown")
    page.get_by_label("Pieces").fill("1")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(re.compile(r"/cart$"))
    remove = page.get_by_role("button", name=re.compile("^Remove"))
    asked: list[str] = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    remove.click()
    page.wait_for_timeout(300)
    assert asked == ["Remove Aurelia Crown from your cart?"]
    assert page.locator(".cart-line").count() == 1

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        remove.click()
    assert page.locator(".cart-line").count() == 0
