"""A buyer browses in real Chromium: home, filter, product, change size, breakdown adds up."""

from __future__ import annotations

import re

from tests.e2e.conftest import screenshot


def amounts_on_page(page) -> tuple[list[int], int]:
    cells = page.locator("#breakdown [data-amount-minor]")
    lines = [int(cells.nth(i).get_attribute("data-amount-minor")) for i in range(cells.count())]
    total = int(page.locator("#breakdown [data-total-minor]").get_attribute("data-total-minor"))
    return lines, total


def money_text_to_minor(text: str) -> int:
    return int(re.sub(r"[^0-9]", "", text))


def test_browse_filter_and_price_a_piece(seeded_with_art, live_server, page):
    page.goto(live_server + "/")
    assert page.get_by_role("heading", name=re.compile("Crowns and tiaras")).is_visible()
    screenshot(page, "catalog-home")

    page.get_by_role("link", name="Shop the collection").click()
    page.get_by_label("Tiaras").check()
    page.get_by_label("Limited editions").check()
    page.get_by_role("button", name="Show pieces").click()
    page.wait_for_url(re.compile(r"kind=tiara"))
    titles = page.locator(".card h3").all_inner_texts()
    assert titles and "Seraphine Tiara" in titles and "Aurelia Crown" not in titles
    screenshot(page, "catalog-filtered")

    page.get_by_role("link", name="Seraphine Tiara").click()
    page.wait_for_url(re.compile(r"/shop/seraphine-tiara"))
    assert page.get_by_text(re.compile(r"Edition of 25 · \d+ available")).is_visible()
    before_lines, before_total = amounts_on_page(page)
    assert sum(before_lines) == before_total

    with page.expect_response(re.compile(r"price\.json")):
        page.get_by_label("Size").select_option("L")
    page.wait_for_function(
        "t => document.querySelector('#breakdown [data-total-minor]').dataset.totalMinor != t",
        arg=str(before_total),
    )
    lines, total = amounts_on_page(page)
    assert total > before_total
    assert sum(lines) == total
    shown = page.locator("#breakdown [data-total-minor]").inner_text()
    assert money_text_to_minor(shown) == total
    assert "Fit adjustment: size L" in page.locator("#breakdown").inner_text()
    screenshot(page, "product-size-l")
