"""Staff upload an overlay, drag its band's ends into place, preview it on a face and save it."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from app.accounts.models import Role
from tests.e2e.conftest import screenshot
from tests.factories import make_product
from tests.staff.builders import PASSWORD, make_fast_user
from tests.tryon.helpers import real_overlay

pytestmark = pytest.mark.e2e

# Copies of the screenshots for whoever runs this by hand (artifacts/screenshots has them too).
EXTRA_SHOTS = os.environ.get("DIADEM_OVERLAY_SHOTS")


def shot(page, name: str) -> None:
    path = screenshot(page, name)
    if EXTRA_SHOTS:
        Path(EXTRA_SHOTS).mkdir(parents=True, exist_ok=True)
        (Path(EXTRA_SHOTS) / path.name).write_bytes(path.read_bytes())


@pytest.fixture
def atelier(app, tmp_path, live_server):
    app.config["UPLOADS_ROOT"] = str(tmp_path / "uploads")
    with app.app_context():
        product = make_product("drawn-crown")
        make_fast_user(email="mira@example.org", name="Mira Goldsmith", role=Role.STAFF)
        product_id = product.id
    overlay = tmp_path / "drawn-crown-gold.png"
    overlay.write_bytes(real_overlay()[0])
    return live_server, product_id, overlay


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/account/login")
    page.fill("#email", "mira@example.org")
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/staff$"))  # staff land on their dashboard


def image_point(page, x: float, y: float) -> tuple[float, float]:
    """The screen point of picture pixel (x, y) on the calibration stage."""
    box = page.locator("#overlay-stage").bounding_box()
    width = int(page.locator("#overlay-stage").get_attribute("data-width"))
    height = int(page.locator("#overlay-stage").get_attribute("data-height"))
    return (
        box["x"] + (x + 0.5) / width * box["width"],
        box["y"] + (y + 0.5) / height * box["height"],
    )


def drag(page, handle: str, to: tuple[float, float]) -> None:
    box = page.locator(handle).bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(*to, steps=8)
    page.mouse.up()


def values(page) -> dict[str, float]:
    names = ("band_left_x", "band_left_y", "band_right_x", "band_right_y")
    return {name: float(page.input_value(f"#{name}")) for name in names}


def test_staff_drag_the_band_preview_it_and_save(app, atelier, browser):
    base, product_id, overlay = atelier
    _, spec = real_overlay()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    # The refused save below answers 400 on purpose; any other console error is a problem.
    expected = "the server responded with a status of 400"
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type == "error" and expected not in m.text else None,
    )
    try:
        sign_in(page, base)
        page.goto(f"{base}/staff/catalog/overlays/{product_id}")
        shot(page, "overlay-board-empty-1280")
        page.set_input_files("#overlay-yellow-gold", str(overlay))
        page.get_by_role("button", name=re.compile("^Upload the .*yellow gold overlay$")).click()
        page.wait_for_url(re.compile(r".*/yellow-gold/calibrate$"))
        assert "Not calibrated yet" in page.inner_text("main")

        # Drag both ends across the empty top of the picture: the inputs follow the handles.
        drag(page, "#handle-left", image_point(page, 40, 30))
        drag(page, "#handle-right", image_point(page, 860, 30))
        moved = values(page)
        assert moved["band_left_x"] == pytest.approx(40, abs=2)
        assert moved["band_left_y"] == pytest.approx(30, abs=2)
        assert moved["band_right_y"] == pytest.approx(30, abs=2)
        line = page.locator("#overlay-band-line")
        assert float(line.get_attribute("x1")) == moved["band_left_x"]

        # Saving that is refused: the band would cross transparency.
        page.get_by_role("button", name="Save calibration").click()
        page.wait_for_load_state()
        assert "see-through" in page.inner_text("#calibration-error")
        assert page.evaluate("document.activeElement.id") == "calibration-error"

        # Now onto the band's real ends.
        (lx, ly), (rx, ry) = spec["band_left"], spec["band_right"]
        drag(page, "#handle-left", image_point(page, lx, ly))
        drag(page, "#handle-right", image_point(page, rx + 3, ry))
        # Arrow keys nudge the focused handle a pixel at a time.
        page.focus("#handle-right")
        for _ in range(3):
            page.keyboard.press("ArrowLeft")
        placed = values(page)
        assert placed["band_left_x"] == pytest.approx(lx, abs=1.5)
        assert placed["band_left_y"] == pytest.approx(ly, abs=1.5)
        assert placed["band_right_x"] == pytest.approx(rx, abs=1.5)
        label = page.get_attribute("#handle-right", "aria-label") or ""
        assert f"x {placed['band_right_x']:g}," in label

        # Typing a number moves the handle too.
        page.fill("#band_right_y", f"{ry:.1f}")
        page.fill("#width_mm", "158")
        box = page.locator("#handle-right").bounding_box()
        expected = image_point(page, placed["band_right_x"], ry)
        assert box["y"] + box["height"] / 2 == pytest.approx(expected[1], abs=1.5)

        # Preview on the reference portrait, on the page, before saving.
        page.get_by_role("button", name="See it on the reference portrait").click()
        page.wait_for_selector("#preview-figure:not([hidden])")
        page.wait_for_function(
            "() => document.getElementById('preview-image').complete && "
            "document.getElementById('preview-image').naturalWidth > 0"
        )
        assert page.evaluate("document.getElementById('preview-image').naturalWidth") == 512
        assert "not saved yet" in page.inner_text("#preview-caption")
        page.locator("#preview-figure").scroll_into_view_if_needed()
        shot(page, "overlay-calibrate-1280")

        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(100)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # The handles still sit on the band ends at phone width.
        left = page.locator("#handle-left").bounding_box()
        point = image_point(page, placed["band_left_x"], placed["band_left_y"])
        assert left["x"] + left["width"] / 2 == pytest.approx(point[0], abs=1.5)
        shot(page, "overlay-calibrate-390")
        page.set_viewport_size({"width": 1280, "height": 900})

        page.get_by_role("button", name="Save calibration").click()
        page.wait_for_url(re.compile(rf".*/overlays/{product_id}$"))
        assert "Calibration saved" in page.inner_text("main")
        assert "Calibrated" in page.inner_text("#metal-yellow-gold")
        shot(page, "overlay-board-calibrated-1280")
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "overlay-board-calibrated-390")
    finally:
        context.close()
    assert problems == []

    from app.catalog.models import Overlay
    from app.extensions import db

    with app.app_context():
        saved = db.session.execute(db.select(Overlay)).scalar_one()
        assert saved.calibrated_at is not None
        assert saved.spec["width_mm"] == 158.0
        assert saved.spec["band_left"][0] == pytest.approx(lx, abs=1.5)
        assert saved.spec["band_right"][1] == pytest.approx(ry, abs=0.1)


def test_without_javascript_the_numbers_and_a_new_tab_preview_work(app, atelier, browser):
    base, product_id, overlay = atelier
    _, spec = real_overlay()
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, java_script_enabled=False
    )
    page = context.new_page()
    try:
        sign_in(page, base)
        page.goto(f"{base}/staff/catalog/overlays/{product_id}")
        page.set_input_files("#overlay-yellow-gold", str(overlay))
        page.get_by_role("button", name=re.compile("^Upload the .*yellow gold overlay$")).click()
        page.wait_for_url(re.compile(r".*/calibrate$"))
        for name, value in (
            ("band_left_x", spec["band_left"][0]),
            ("band_left_y", spec["band_left"][1]),
            ("band_right_x", spec["band_right"][0]),
            ("band_right_y", spec["band_right"][1]),
        ):
            page.fill(f"#{name}", str(value))
        with context.expect_page() as opened:
            page.get_by_role("button", name="See it on the reference portrait").click()
        preview = opened.value
        preview.wait_for_load_state()
        assert preview.evaluate("document.contentType") == "image/jpeg"
        preview.close()
        page.get_by_role("button", name="Save calibration").click()
        page.wait_for_url(re.compile(rf".*/overlays/{product_id}$"))
        assert "Calibrated" in page.inner_text("#metal-yellow-gold")
    finally:
        context.close()


@pytest.fixture
def camera_browser(playwright_instance, tmp_path):
    """A Chromium whose webcam shows the astronaut (see tests/e2e/test_tryon.py)."""
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.e2e.test_tryon import letterbox, write_y4m
    from tests.tryon.helpers import astronaut

    video = write_y4m(tmp_path / "astronaut.y4m", letterbox(astronaut()))
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    yield browser
    browser.close()


def test_staff_preview_on_a_camera_frame_that_is_never_stored(app, atelier, camera_browser):
    base, product_id, overlay = atelier
    context = camera_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, base)
        page.goto(f"{base}/staff/catalog/overlays/{product_id}")
        page.set_input_files("#overlay-yellow-gold", str(overlay))
        page.get_by_role("button", name=re.compile("^Upload the .*overlay$")).click()
        page.wait_for_url(re.compile(r".*/calibrate$"))
        page.get_by_role("button", name="Use my camera").click()
        page.wait_for_function("() => document.getElementById('camera-video').videoWidth > 0")
        page.get_by_role("button", name="See it on this frame").click()
        page.wait_for_selector("#preview-figure:not([hidden])", timeout=20_000)
        page.wait_for_function("() => document.getElementById('preview-image').naturalWidth > 0")
        size = page.evaluate(
            "[document.getElementById('preview-image').naturalWidth,"
            " document.getElementById('preview-image').naturalHeight]"
        )
        assert size == [640, 480]  # the camera's own frame, not the reference portrait
        assert "your picture" in page.inner_text("#preview-caption")
        page.get_by_role("button", name="Stop the camera").click()
        assert page.locator("#camera-video").is_hidden()
    finally:
        context.close()
    uploads = Path(app.config["UPLOADS_ROOT"])
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))
