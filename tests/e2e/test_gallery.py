"""Catalogue photos in real Chromium: staff upload and order them; buyers get a gallery that
follows the metal they pick, and on a phone the name, price and breakdown come first."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from app.catalog.models import Product
from app.extensions import db
from tests.e2e.conftest import SCREENSHOTS, screenshot
from tests.staff.builders import PASSWORD, make_fast_user

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def shop(app, seeded_with_art, artwork_dir: Path, tmp_path: Path) -> dict:
    """The demo shop on a copy of its artwork (photos are added and removed), and a staff login."""
    from app.accounts.models import Role

    shutil.copytree(artwork_dir / "products", tmp_path / "media" / "products")
    app.config["MEDIA_ROOT"] = str(tmp_path / "media")
    with app.app_context():
        make_fast_user(email="mira@example.org", name="Mira Goldsmith", role=Role.STAFF)
        product_id = db.session.execute(
            db.select(Product.id).where(Product.slug == "aurelia-crown")
        ).scalar_one()
    media = tmp_path / "media" / "products" / "aurelia-crown"
    photos = tmp_path / "photos"
    photos.mkdir()
    gold = Image.open(media / "catalog-yellow-gold.png").convert("RGB")
    silver = Image.open(media / "catalog-silver.png").convert("RGB")
    # A phone's close-up of the band: larger than the page needs, with its location in EXIF.
    exif = Image.Exif()
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (51.0, 30.0, 26.0), 3: "W", 4: (0.0, 7.0, 39.0)}
    detail = gold.crop((200, 300, 600, 600)).resize((2000, 1500), Image.Resampling.LANCZOS)
    files = {
        "gold": photos / "aurelia-gold.png",
        "detail": photos / "aurelia-band.jpg",
        "silver": photos / "aurelia-silver.webp",
    }
    gold.save(files["gold"])
    detail.save(files["detail"], quality=90, exif=exif)
    silver.save(files["silver"], quality=90)
    return {"product_id": product_id, "files": files}


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/account/login")
    page.fill("#email", "mira@example.org")
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/staff$"))  # staff land on their dashboard


def add_photo(page, path: Path, alt: str, metal: str) -> None:
    page.set_input_files("#photo", str(path))
    page.fill("#alt", alt)
    page.select_option("#metal", label=metal)
    page.get_by_role("button", name="Upload photo").click()
    page.wait_for_load_state()
    assert page.get_by_text(re.compile(r"Photo added \(\d+ × \d+ px, \d sizes\)")).is_visible()


def main_alt(page) -> str:
    return page.locator("[data-gallery-main]").get_attribute("alt")


def pressed(page) -> list[str]:
    return page.locator("[data-gallery-thumb]").evaluate_all(
        "list => list.map(b => b.getAttribute('aria-pressed'))"
    )


def thumb_metals(page) -> list[str]:
    return page.locator("[data-gallery-thumb]").evaluate_all(
        "list => list.map(b => b.dataset.metal)"
    )


def box(page, selector: str) -> dict:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, selector
    return found


def test_staff_upload_photos_and_the_gallery_follows_the_metal(shop, live_server, browser):
    base = live_server
    staff = browser.new_context(viewport={"width": 1280, "height": 900})
    page = staff.new_page()
    sign_in(page, base)
    page.goto(f"{base}/staff/catalog/artwork/{shop['product_id']}")
    # The demo's two drawn pictures (one size each) make way for photos.
    for _ in range(2):
        page.get_by_role("button", name="Delete picture 1").click()
        page.wait_for_load_state()
    assert page.get_by_role("heading", name="0 pictures").is_visible()
    add_photo(
        page,
        shop["files"]["gold"],
        "Aurelia Crown in yellow gold, from the front",
        "18k yellow gold",
    )
    add_photo(
        page,
        shop["files"]["detail"],
        "The jewelled band, close up",
        "Any metal (shown whichever is chosen)",
    )
    add_photo(
        page,
        shop["files"]["silver"],
        "Aurelia Crown in sterling silver, from the front",
        "Sterling silver",
    )
    page.get_by_role("button", name="Move down (picture 1)").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="Move up (picture 2)").click()  # and back
    page.wait_for_load_state()
    screenshot(page, "gallery-staff-photos")
    staff.close()

    buyer = browser.new_context(viewport={"width": 1280, "height": 900})
    page = buyer.new_page()
    page.goto(f"{base}/shop/aurelia-crown")
    main = page.locator("[data-gallery-main]")
    assert main_alt(page) == "Aurelia Crown in yellow gold, from the front"
    assert "480w" in main.get_attribute("srcset")
    page.wait_for_function("document.querySelector('[data-gallery-main]').naturalWidth > 0")
    assert "/photos/" in main.evaluate("img => img.currentSrc")
    assert thumb_metals(page) == ["yellow-gold", "", "silver"]
    assert pressed(page) == ["true", "false", "false"]
    assert page.locator("[data-gallery-thumbs]").is_visible()
    screenshot(page, "gallery-1280-gold")

    # A click on a thumbnail swaps the main picture.
    page.get_by_role("button", name="The jewelled band, close up").click()
    assert main_alt(page) == "The jewelled band, close up"
    assert pressed(page) == ["false", "true", "false"]
    # So does the keyboard: arrows move between thumbnails, Enter shows one.
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    assert main_alt(page) == "Aurelia Crown in sterling silver, from the front"
    assert pressed(page) == ["false", "false", "true"]

    # Choosing a metal brings its pictures first and shows the first of them.
    page.get_by_label("Metal").select_option("yellow-gold")
    page.get_by_label("Metal").select_option("silver")
    assert thumb_metals(page) == ["silver", "", "yellow-gold"]
    assert main_alt(page) == "Aurelia Crown in sterling silver, from the front"
    assert pressed(page) == ["true", "false", "false"]
    page.wait_for_function("document.querySelector('[data-gallery-main]').complete")
    screenshot(page, "gallery-1280-silver")

    # The shop's cards carry the sizes too.
    page.goto(f"{base}/shop")
    card = page.locator(".card img[alt='Aurelia Crown in yellow gold, from the front']")
    assert "240w" in card.get_attribute("srcset")
    buyer.close()

    phone = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = phone.new_page()
    page.goto(f"{base}/shop/aurelia-crown")
    page.wait_for_function("document.querySelector('[data-gallery-main]').complete")
    widths = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth,"
        " view: document.documentElement.clientWidth})"
    )
    assert widths["scroll"] <= widths["view"], widths  # no sideways scrolling
    name, gallery = box(page, "h1"), box(page, ".gallery")
    breakdown = box(page, "#breakdown")
    assert name["y"] + name["height"] <= PHONE["height"]  # the name above the fold...
    assert gallery["y"] >= breakdown["y"] + breakdown["height"]  # ...and the pictures after
    total = box(page, "#breakdown [data-total-minor]")
    assert total["y"] < gallery["y"]
    # One main picture and a strip of thumbnails in one row, not pictures stacked full width.
    thumbs = page.locator("[data-gallery-thumb]")
    tops = {round(thumbs.nth(i).bounding_box()["y"]) for i in range(thumbs.count())}
    assert len(tops) == 1
    assert box(page, "[data-gallery-thumb]")["width"] < 100
    main_box = box(page, "[data-gallery-main]")
    assert main_box["width"] <= PHONE["width"] and main_box["x"] >= 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "gallery-390-fold.png"))
    # The thumbnails load lazily: bring them into view before the full-page picture.
    page.locator("[data-gallery-thumbs]").scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-gallery-thumb] img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    screenshot(page, "gallery-390-full")
    phone.close()
