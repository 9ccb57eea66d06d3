"""Staff create a product, preview it as buyers will see it, publish it and retire another, in
a real browser: the form's problems, the preview's live price in the offered sizes only, and a
retired piece's page without buttons."""

from __future__ import annotations

import re

import pytest

from app.accounts.models import Role
from tests.e2e.conftest import screenshot
from tests.staff.builders import make_fast_user

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"


@pytest.fixture
def staff_user(seeded_with_art):
    with seeded_with_art.app_context():
        make_fast_user(email="mira@example.org", name="Mira Goldsmith", role=Role.STAFF)


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/account/login")
    page.fill("#email", "mira@example.org")
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/staff$"))  # staff land on their dashboard


def total_minor(page) -> int:
    return int(page.locator("#breakdown [data-total-minor]").get_attribute("data-total-minor"))


def test_staff_draft_preview_publish_and_retire(staff_user, live_server, page):
    sign_in(page, live_server)
    page.goto(f"{live_server}/staff/catalog/products")
    assert page.locator('tr[data-product="aurelia-crown"][data-status="published"]').is_visible()
    page.get_by_role("link", name="New product").click()

    page.get_by_label("Name", exact=True).fill("Celeste Tiara")
    page.get_by_label("Slug").fill("Celeste Tiara")
    page.get_by_label("Tiara", exact=True).check()
    page.get_by_label("Summary").fill("A band of stars for an evening wedding.")
    page.get_by_label("Story").fill("Drawn from the winter sky over the atelier.")
    page.get_by_label("Metal weight (grams)").fill("95")
    page.get_by_label("Platinum 950", exact=True).check()
    page.get_by_label("Grams of Platinum 950").fill("150")
    page.get_by_label("S — Petite (52–54.5 cm)").check()
    page.get_by_label("L — Generous (57–60 cm)").check()
    page.get_by_label("Stone 1 kind").fill("diamond")
    page.get_by_label("Stone 1 count").fill("12")
    page.get_by_label("Stone 1 unit price").fill("420")
    page.get_by_label("Stone 1 treatment").fill("none")
    page.get_by_label("Bench time: hours").fill("18")
    page.get_by_label("Labour rate per hour").fill("95")
    page.get_by_label("Provenance and certification").fill("180")
    page.get_by_label("Packaging").fill("45")
    page.get_by_label("Shipping", exact=True).fill("65")
    page.get_by_label("Insurance (% of the goods)").fill("1.5")
    with page.expect_navigation():  # the answer's page, not the one the click left
        page.get_by_role("button", name="Save").first.click()

    summary = page.locator(".error-summary")
    assert summary.is_visible()
    assert "Slug may use only lowercase letters" in summary.inner_text()
    screenshot(page, "catalog-products-problems")
    page.get_by_label("Slug").fill("celeste-tiara")
    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(re.compile(r"/staff/catalog/products/\d+/edit$"))
    assert page.get_by_text("saved as a draft").is_visible()
    screenshot(page, "catalog-products-edit")

    with page.expect_navigation():
        page.get_by_role("link", name="Preview", exact=True).click()
    assert page.get_by_text("Preview — not published").is_visible()
    assert page.locator("#size option").all_inner_texts()[0].startswith("S —")
    assert [o.get_attribute("value") for o in page.locator("#size option").all()] == ["S", "L"]
    assert page.locator(".actions[inert]").count() == 1
    before = total_minor(page)
    with page.expect_response(re.compile(r"/preview/price\.json")):
        page.get_by_label("Metal").select_option("platinum")
    page.wait_for_function(
        "t => document.querySelector('#breakdown [data-total-minor]').dataset.totalMinor != t",
        arg=str(before),
    )
    assert "150 g" in page.locator("#breakdown").inner_text()  # platinum's own grams
    assert page.locator("#price-error").is_hidden()
    screenshot(page, "catalog-products-preview")

    page.goto(f"{live_server}/staff/catalog/products")
    row = page.locator('tr[data-product="celeste-tiara"]')
    with page.expect_navigation():
        row.get_by_role("button", name=re.compile("Publish")).click()
    assert page.locator('tr[data-product="celeste-tiara"][data-status="published"]').is_visible()
    assert page.locator('tr[data-product="celeste-tiara"] [data-awaits-edition]').is_visible()
    with page.expect_navigation():
        page.locator('tr[data-product="aurelia-crown"]').get_by_role(
            "button", name=re.compile("Retire")
        ).click()
    assert page.locator('tr[data-product="aurelia-crown"][data-status="retired"]').is_visible()
    screenshot(page, "catalog-products-list")

    page.goto(f"{live_server}/shop/aurelia-crown")
    assert page.get_by_text("Aurelia Crown is no longer offered.").is_visible()
    assert page.locator("#add-to-cart").count() == 0
    assert page.get_by_role("link", name="Try it on").count() == 0
    screenshot(page, "catalog-products-retired")
    page.goto(f"{live_server}/shop")
    titles = page.locator(".card h3").all_inner_texts()
    assert "Celeste Tiara" in titles and "Aurelia Crown" not in titles
