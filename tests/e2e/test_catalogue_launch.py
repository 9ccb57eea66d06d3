"""Issue 12's whole journey in real Chromium: an admin launches a new tiara (details, photos,
try-on overlay calibrated on its band, a batch of 10) and publishes it; a buyer finds it in the
shop with its delivery window, tries it on with a webcam (a fake one playing a real portrait)
and buys piece 01/10."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from app.accounts.models import Role
from tests.e2e.conftest import screenshot
from tests.e2e.test_tryon import camera_page, letterbox, wait_for_placements, write_y4m
from tests.staff.builders import PASSWORD, make_fast_user
from tests.tryon.helpers import astronaut, real_overlay

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def atelier(app, seeded_with_art, artwork_dir: Path, tmp_path: Path, live_server) -> dict:
    """The demo shop on a copy of its artwork, an admin, and the files the admin will upload."""
    shutil.copytree(artwork_dir / "products", tmp_path / "media" / "products")
    app.config["MEDIA_ROOT"] = str(tmp_path / "media")
    app.config["UPLOADS_ROOT"] = str(tmp_path / "uploads")
    with app.app_context():
        make_fast_user(email="ada@example.org", name="Ada Admin", role=Role.ADMIN)
    files = tmp_path / "files"
    files.mkdir()
    # A studio photo of the piece: the demo's drawing of another tiara, saved as a JPEG.
    drawn = artwork_dir / "products" / "seraphine-tiara"
    source = next(iter(sorted(drawn.glob("catalog-*.png"))))
    Image.open(source).convert("RGB").save(files / "celeste-front.jpg", quality=90)
    overlay, spec = real_overlay()
    (files / "celeste-overlay.png").write_bytes(overlay)
    return {"base": live_server, "files": files, "spec": spec}


@pytest.fixture
def camera(playwright_instance, tmp_path):
    video = write_y4m(tmp_path / "astronaut.y4m", letterbox(astronaut()))
    yield from camera_page(playwright_instance, video)


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/account/login")
    page.fill("#email", "ada@example.org")
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/staff$"))  # staff land on their dashboard


def create_tiara(page, base: str) -> int:
    page.goto(f"{base}/staff/catalog/products")
    page.get_by_role("link", name="New product").click()
    page.get_by_label("Name", exact=True).fill("Celeste Tiara")
    page.get_by_label("Slug").fill("celeste-tiara")
    page.get_by_label("Tiara", exact=True).check()
    page.check("input[name=tier][value=studio]")
    page.get_by_label("Summary").fill("A band of stars for an evening wedding.")
    page.get_by_label("Story").fill("Drawn from the winter sky over the atelier.")
    page.get_by_label("Metal weight (grams)").fill("95")
    page.get_by_label("Sterling silver", exact=True).check()
    page.get_by_label("Default metal").select_option("silver")
    page.get_by_label("Stone 1 kind").fill("diamond")
    page.get_by_label("Stone 1 count").fill("9")
    page.get_by_label("Stone 1 unit price").fill("420")
    page.get_by_label("Bench time: hours").fill("14")
    page.get_by_label("Labour rate per hour").fill("95")
    page.get_by_label("Provenance and certification").fill("180")
    page.get_by_label("Packaging").fill("45")
    page.get_by_label("Shipping", exact=True).fill("65")
    page.get_by_label("Insurance (% of the goods)").fill("1.5")
    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(re.compile(r"/staff/catalog/products/\d+/edit$"))
    return int(re.search(r"/products/(\d+)/edit$", page.url).group(1))


def add_photo(page, base: str, product_id: int, path: Path) -> None:
    page.goto(f"{base}/staff/catalog/artwork/{product_id}")
    page.set_input_files("#photo", str(path))
    page.fill("#alt", "Celeste Tiara in sterling silver, from the front")
    page.select_option("#metal", label="Sterling silver")
    page.get_by_role("button", name="Upload photo").click()
    page.wait_for_load_state()
    assert page.get_by_text(re.compile(r"Photo added \(\d+ × \d+ px, \d sizes\)")).is_visible()


def calibrate_overlay(page, base: str, product_id: int, path: Path, spec: dict) -> None:
    page.goto(f"{base}/staff/catalog/overlays/{product_id}")
    page.set_input_files("#overlay-silver", str(path))
    page.get_by_role("button", name=re.compile("^Upload the .*silver overlay$")).click()
    page.wait_for_url(re.compile(r".*/silver/calibrate$"))
    (lx, ly), (rx, ry) = spec["band_left"], spec["band_right"]
    for name, value in (
        ("band_left_x", lx),
        ("band_left_y", ly),
        ("band_right_x", rx),
        ("band_right_y", ry),
        ("width_mm", 150),
    ):
        page.fill(f"#{name}", f"{value:.1f}")
    page.get_by_role("button", name="Save calibration").click()
    page.wait_for_url(re.compile(rf".*/overlays/{product_id}$"))
    assert "Calibration saved" in page.inner_text("main")


def open_batch(page, base: str, product_id: int) -> None:
    page.goto(f"{base}/staff/catalog/batches/new")
    page.get_by_label("Design and metal").select_option(f"{product_id}:silver")
    page.get_by_label("Batch code").fill("CEL-AG-2027")
    page.get_by_label("Edition size").select_option("10")
    page.get_by_label("Sourcing statement").fill(
        "Recycled sterling silver from our own workshop offcuts; lab-grown diamonds."
    )
    page.get_by_role("button", name="Open the batch").click()
    page.wait_for_load_state()
    assert "CEL-AG-2027" in page.inner_text("main")


def publish(page, base: str) -> None:
    page.goto(f"{base}/staff/catalog/products")
    row = page.locator('tr[data-product="celeste-tiara"]')
    row.get_by_role("button", name=re.compile("Publish")).click()
    page.wait_for_load_state()
    assert page.locator('tr[data-product="celeste-tiara"][data-status="published"]').is_visible()


def test_an_admin_launches_a_tiara_and_a_buyer_tries_it_on_and_buys_01_of_10(atelier, camera):
    base, files = atelier["base"], atelier["files"]
    page = camera
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))

    sign_in(page, base)
    product_id = create_tiara(page, base)
    # A draft is not in the shop yet.
    assert page.request.get(f"{base}/shop/celeste-tiara").status == 404
    add_photo(page, base, product_id, files / "celeste-front.jpg")
    calibrate_overlay(page, base, product_id, files / "celeste-overlay.png", atelier["spec"])
    open_batch(page, base, product_id)
    publish(page, base)
    screenshot(page, "launch-1-published")
    page.context.clear_cookies()  # the buyer is a guest in this browser

    page.goto(f"{base}/shop")
    page.get_by_role("link", name=re.compile("Celeste Tiara")).first.click()
    page.wait_for_url(re.compile(r"/shop/celeste-tiara"))
    info = page.inner_text(".product-info")
    assert "Edition of 10 · 10 available" in info
    assert "01/10" in page.locator(".numbers").first.inner_text()
    window = page.locator(".delivery-window")
    assert re.search(r"Ships within \d+ (working )?days", window.inner_text())
    assert page.get_by_role("link", name="Batch CEL-AG-2027: sourcing and documents").is_visible()
    gallery = page.locator("[data-gallery-main]")
    assert gallery.get_attribute("alt") == "Celeste Tiara in sterling silver, from the front"
    screenshot(page, "launch-2-product-1280")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "launch-2-product-390")
    page.set_viewport_size({"width": 1280, "height": 1000})

    # The try-on: the fake webcam plays the astronaut's portrait; the tiara sits on her head.
    page.get_by_role("link", name="Try it on").click()
    page.wait_for_url(re.compile(r"/tryon/celeste-tiara"))
    page.wait_for_selector("#tryon-app[data-ready]", state="attached")
    page.click("#tryon-start")
    wait_for_placements(page, 3)
    assert page.locator("#tryon-message").is_hidden()
    screenshot(page, "launch-3-tryon")

    page.goto(f"{base}/shop/celeste-tiara")
    page.get_by_label("Pieces").fill("1")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(re.compile(r"/cart$"))
    page.get_by_role("link", name="Checkout").click()
    page.wait_for_url(re.compile(r"/checkout$"))
    page.get_by_label("Email").fill("celeste.buyer@example.com")
    page.get_by_label("Full name").fill("Stella Buyer")
    page.get_by_label("Address", exact=True).fill("7 Orion Row")
    page.get_by_label("Town or city").fill("Bath")
    page.get_by_label("Postcode").fill("BA1 1AA")
    page.get_by_label("Country").select_option("GB")
    page.get_by_label("I accept the returns and repairs policy").check()
    page.get_by_role("button", name=re.compile(r"^Place order")).click()
    page.wait_for_url(re.compile(r"/account/orders/DIA-[A-Z0-9]{6}$"))
    assert "No. 01/10" in page.locator(".order-lines").inner_text()
    screenshot(page, "launch-4-order")

    # The batch page shows 01 as taken, and never who took it.
    page.goto(f"{base}/batches/CEL-AG-2027")
    batch = page.inner_text("main")
    assert "Recycled sterling silver" in batch
    assert "Stella" not in batch and "celeste.buyer" not in batch
    assert problems == []
