"""The live try-on in a real Chromium whose webcam plays a video made from a photograph."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, screenshot
from tests.factories import make_product
from tests.helpers import make_user
from tests.tryon.helpers import (
    GREEN,
    MAGENTA,
    add_real_overlay,
    astronaut,
    astronaut_jpeg,
    coffee,
    coffee_jpeg,
    make_tryon_pieces,
)

pytestmark = pytest.mark.e2e

FRAME_W, FRAME_H = 640, 480


def letterbox(rgb: np.ndarray) -> np.ndarray:
    """Fit a picture into a 640x480 frame on a dark background."""
    scale = min(FRAME_W / rgb.shape[1], FRAME_H / rgb.shape[0])
    w, h = round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)
    fitted = np.asarray(Image.fromarray(rgb).resize((w, h), Image.Resampling.LANCZOS))
    frame = np.full((FRAME_H, FRAME_W, 3), 30, dtype=np.uint8)
    x, y = (FRAME_W - w) // 2, (FRAME_H - h) // 2
    frame[y : y + h, x : x + w] = fitted
    return frame


def write_y4m(path: Path, rgb: np.ndarray, frames: int = 4) -> Path:
    """Write a still picture as a 4:2:0 Y4M video (BT.601, limited range) for the fake camera."""
    return write_y4m_video(path, [rgb] * frames)


def _y4m_frame(rgb: np.ndarray) -> bytes:
    height, width = rgb.shape[:2]
    r, g, b = (rgb[:, :, i].astype(np.float64) for i in range(3))
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    cb = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    cr = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255

    def plane(values: np.ndarray) -> bytes:
        return np.clip(np.rint(values), 0, 255).astype(np.uint8).tobytes()

    def half(values: np.ndarray) -> np.ndarray:
        return values.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))

    return b"FRAME\n" + plane(y) + plane(half(cb)) + plane(half(cr))


def write_y4m_video(path: Path, frames: Sequence[np.ndarray]) -> Path:
    """Write RGB frames (all one size) as a 30 fps Y4M video; Chromium's fake camera loops it."""
    height, width = frames[0].shape[:2]
    header = f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode()
    with path.open("wb") as out:
        out.write(header)
        for rgb in frames:
            out.write(_y4m_frame(rgb))
    return path


@pytest.fixture
def tryon_server(app, live_server, tmp_path) -> str:
    app.config["UPLOADS_ROOT"] = str(tmp_path / "uploads")
    make_tryon_pieces(app)
    with app.app_context():
        make_product("drawn-crown")
    add_real_overlay(app, "drawn-crown")
    return live_server


# Counts camera requests (switching pieces must not ask again) and records each pose request:
# when it started, how long it took, how many were in flight, and the width of the frame it carried.
INSTRUMENT = """
window.__cameraRequests = 0;
const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = (c) => {
  window.__cameraRequests += 1;
  return getUserMedia(c);
};
window.__pose = { starts: [], durations: [], inFlight: 0, maxInFlight: 0, widths: [], streams: [] };
const fetch0 = window.fetch.bind(window);
window.fetch = async (url, options) => {
  if (!String(url).includes("/tryon/api/pose")) return fetch0(url, options);
  const p = window.__pose;
  const t0 = performance.now();
  p.starts.push(t0);
  p.streams.push(new URL(url, location.href).searchParams.get("stream"));
  p.inFlight += 1;
  p.maxInFlight = Math.max(p.maxInFlight, p.inFlight);
  const body = options && options.body;
  const frame = body instanceof Blob ? body : body && body.get && body.get("frame");
  if (frame) createImageBitmap(frame).then((b) => p.widths.push(b.width), () => p.widths.push(-1));
  try {
    const response = await fetch0(url, options);
    await response.clone().arrayBuffer();
    return response;
  } finally {
    p.inFlight -= 1;
    p.durations.push(performance.now() - t0);
  }
};
"""


def camera_page(playwright_instance, video: Path) -> Iterator[object]:
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
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        context.add_init_script(INSTRUMENT)
        yield context.new_page()
    finally:
        browser.close()


@pytest.fixture
def face_page(playwright_instance, tmp_path):
    video = write_y4m(tmp_path / "astronaut.y4m", letterbox(astronaut()))
    yield from camera_page(playwright_instance, video)


@pytest.fixture
def coffee_page(playwright_instance, tmp_path):
    video = write_y4m(tmp_path / "coffee.y4m", letterbox(coffee()))
    yield from camera_page(playwright_instance, video)


def canvas_pixels(page) -> np.ndarray:
    url = page.evaluate("() => document.getElementById('tryon-canvas').toDataURL('image/png')")
    png = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def colour_mask(rgb: np.ndarray, colour: tuple[int, int, int], tolerance: int = 40) -> np.ndarray:
    return (np.abs(rgb.astype(int) - colour) <= tolerance).all(axis=2)


def face_box_on_canvas() -> tuple[int, int, int, int]:
    """The astronaut's face in the mirrored 640x480 canvas: x0, y0, x1, y1."""
    from app.tryon.services import get_engine

    (face,) = get_engine().measure(letterbox(astronaut()))
    x, y, w, h = face.bbox
    return FRAME_W - (x + w), y, FRAME_W - x, y + h


def wait_for_placements(page, at_least: int) -> None:
    page.wait_for_function(
        f"() => Number(document.getElementById('tryon-app').dataset.placements || 0) >= {at_least}",
        timeout=20_000,
    )


def sign_in(page, base: str, app) -> None:
    make_user(app)
    page.goto(f"{base}/account/login")
    page.fill("#email", "buyer@example.com")
    page.fill("#password", "correct horse battery")
    page.click("main form button[type=submit]")
    page.wait_for_selector("text=Sign out")


def test_live_tryon_draws_the_piece_above_the_face(app, tryon_server, face_page):
    page = face_page
    sign_in(page, tryon_server, app)
    page.goto(f"{tryon_server}/tryon/test-crown?metal=yellow-gold")
    page.wait_for_selector("#tryon-app[data-ready]", state="attached")
    page.click("#tryon-start")
    wait_for_placements(page, 1)
    first = page.evaluate("() => document.getElementById('tryon-app').dataset.placements")
    wait_for_placements(page, int(first) + 4)  # a few more so the smoothing has settled

    rgb = canvas_pixels(page)
    assert rgb.shape == (FRAME_H, FRAME_W, 3)
    x0, y0, x1, y1 = face_box_on_canvas()
    gold = colour_mask(rgb, MAGENTA)
    assert gold[:y0, x0:x1].sum() > 800, "the crown shows above the face"
    assert gold[(y0 + y1) // 2 :, :].sum() == 0, "nothing of it over the lower half of the face"
    assert not colour_mask(letterbox(astronaut()), MAGENTA).any()  # the colour is the piece's
    assert page.locator("#tryon-message").is_hidden()
    assert page.locator("#tryon-size-details").is_visible()
    assert page.locator("#tryon-size-code").inner_text() in {"S", "M", "L"}
    # The range from the live frames combined, and the page says they are combined.
    low, high = (float(v) for v in page.locator("#tryon-range").inner_text().split("–"))
    assert low < float(page.locator("#tryon-circumference").inner_text()) < high
    assert "hold still and the range narrows" in page.locator("#tryon-frames").inner_text()
    assert page.locator("#tryon-size-summary-text").inner_text().startswith("Between ")
    assert page.locator("#tryon-size-measure a").get_attribute("href") == "/fit-guide"
    screenshot(page, "tryon-live-face")

    # Frames: at most 320 px wide, one at a time, at most 15 a second.
    pose = page.evaluate("() => window.__pose")
    assert pose["maxInFlight"] == 1
    assert pose["widths"] and max(pose["widths"]) <= 320 and min(pose["widths"]) > 0
    gaps = np.diff(pose["starts"])
    assert gaps.min() >= 1000 / 15 - 1
    # Every frame names the camera stream, one random id per start, so the shop tracks the face.
    (stream,) = set(pose["streams"])
    assert re.fullmatch(r"[0-9a-f]{32}", stream)

    # Switching metal and piece happens in place: no reload, no second camera request.
    page.evaluate("() => { window.__sameDocument = true; }")
    placed = int(page.evaluate("() => document.getElementById('tryon-app').dataset.placements"))
    page.select_option("#tryon-metal", "silver")
    page.wait_for_function(
        "() => document.getElementById('tryon-app').dataset.piece === 'test-crown:silver'"
    )
    wait_for_placements(page, placed + 4)
    rgb = canvas_pixels(page)
    silver = colour_mask(rgb, GREEN)
    assert silver[:y0, x0:x1].sum() > 800
    assert silver[(y0 + y1) // 2 :, :].sum() == 0
    assert colour_mask(rgb, MAGENTA).sum() == 0
    assert page.url.endswith("/tryon/test-crown?metal=silver")
    page.select_option("#tryon-piece", "other-crown")
    page.wait_for_function(
        "() => document.getElementById('tryon-app').dataset.piece === 'other-crown:silver'"
    )
    assert page.locator("#tryon-piece-name").inner_text() == "Other Crown"
    assert page.evaluate("() => window.__sameDocument === true && window.__cameraRequests === 1")

    # The catalog's own drawing of a crown, for people to look at.
    placed = int(page.evaluate("() => document.getElementById('tryon-app').dataset.placements"))
    page.select_option("#tryon-piece", "drawn-crown")
    wait_for_placements(page, placed + 4)
    drawn = canvas_pixels(page).astype(int)
    mirror = letterbox(astronaut())[:, ::-1].astype(int)
    assert (np.abs(drawn - mirror).max(axis=2) > 60)[:y0, x0:x1].sum() > 1000
    assert (np.abs(drawn - mirror).max(axis=2) > 60)[(y0 + y1) // 2 :, :].sum() < 50
    screenshot(page, "tryon-live-artwork")

    page.select_option("#tryon-piece", "test-crown")
    page.select_option("#tryon-metal", "yellow-gold")

    # Stopping and starting again still sends one frame at a time.
    page.click("#tryon-stop")
    assert page.locator("#tryon-start").is_visible() and page.locator("#tryon-stop").is_hidden()
    page.click("#tryon-start")
    placed = int(page.evaluate("() => document.getElementById('tryon-app').dataset.placements"))
    wait_for_placements(page, placed + 3)
    assert page.evaluate("() => window.__pose.maxInFlight") == 1
    streams = page.evaluate("() => window.__pose.streams")
    assert streams[-1] != stream and re.fullmatch(r"[0-9a-f]{32}", streams[-1])

    # Take a photo: the server composites the full-size frame; it can be downloaded.
    page.click("#tryon-shoot")
    page.wait_for_selector("#tryon-result", state="visible", timeout=20_000)
    page.wait_for_function("() => document.getElementById('tryon-result-image').complete")
    result = page.evaluate(
        """() => {
            const img = document.getElementById('tryon-result-image');
            const c = document.createElement('canvas');
            c.width = img.naturalWidth; c.height = img.naturalHeight;
            c.getContext('2d').drawImage(img, 0, 0);
            return c.toDataURL('image/png');
        }"""
    )
    photo = np.asarray(Image.open(io.BytesIO(base64.b64decode(result.split(",", 1)[1]))))
    assert photo.shape[:2] == (FRAME_H, FRAME_W)
    # The photo is what the mirror showed, with the piece placed by the server at full size.
    assert colour_mask(photo[:, :, :3], MAGENTA)[:y0, x0:x1].sum() > 800
    assert colour_mask(photo[:, :, :3], MAGENTA)[(y0 + y1) // 2 :, :].sum() == 0
    download = page.locator("#tryon-download")
    assert download.get_attribute("href").startswith("blob:")
    assert download.get_attribute("download") == "diadem-test-crown-yellow-gold.jpg"

    # Saving keeps it in the account, with a way to bring it to a consultation.
    page.click("#tryon-save")
    page.wait_for_selector("#tryon-saved", state="visible")
    assert page.locator("#tryon-save").is_hidden()
    with app.app_context():
        from app.tryon.services import list_snapshots

        (saved,) = list_snapshots(user_id=1)
    if "booking.new_consultation" in app.view_functions:
        book = page.locator("#tryon-book").get_attribute("href")
        assert book.endswith(f"?snapshot={saved.id}")
    screenshot(page, "tryon-snapshot")
    page.click("#tryon-saved-list")
    page.wait_for_selector(f"#snapshot-{saved.id} img")
    assert (
        page.evaluate(f"() => document.querySelector('#snapshot-{saved.id} img').naturalWidth")
        == FRAME_W
    )
    screenshot(page, "tryon-snapshots")


def test_live_tryon_without_a_face_says_so_calmly(tryon_server, coffee_page):
    page = coffee_page
    page.goto(f"{tryon_server}/tryon/test-crown")
    page.wait_for_selector("#tryon-app[data-ready]", state="attached")
    page.click("#tryon-start")
    page.wait_for_selector("#tryon-app[data-no-face]", state="attached", timeout=20_000)
    message = page.locator("#tryon-message")
    assert message.is_visible()
    assert "can’t see a face" in message.inner_text()
    rgb = canvas_pixels(page)
    assert not colour_mask(rgb, MAGENTA).any(), "no stray crown"
    assert rgb.std() > 10, "the camera picture itself is shown"
    assert page.locator("#tryon-size-details").is_hidden()
    screenshot(page, "tryon-live-no-face")

    # Photo mode on the same page: a clear message for a photo without a face, then a result.
    page.set_input_files(
        "#tryon-photo-form input[type=file]",
        files=[{"name": "coffee.jpg", "mimeType": "image/jpeg", "buffer": coffee_jpeg()}],
    )
    page.click("#tryon-photo-submit")
    page.wait_for_selector("#tryon-photo-error", state="visible")
    assert "could not find a face" in page.locator("#tryon-photo-error").inner_text()
    page.set_input_files(
        "#tryon-photo-form input[type=file]",
        files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": astronaut_jpeg()}],
    )
    page.click("#tryon-photo-submit")
    page.wait_for_selector("#tryon-result", state="visible")
    assert page.locator("#tryon-photo-error").is_hidden()
    assert page.locator("#tryon-size-details").is_visible()
    size = page.locator("#tryon-size-code").inner_text()
    assert page.locator("#tryon-size-link").get_attribute("href") == (
        f"/shop/test-crown?size={size}&metal=yellow-gold"
    )
    page.locator("#tryon-result").scroll_into_view_if_needed()
    screenshot(page, "tryon-photo-mode")


def test_product_page_try_on_link_follows_the_metal(tryon_server, page):
    page.goto(f"{tryon_server}/shop/test-crown")
    link = page.locator("#tryon-link")
    assert link.get_attribute("href") == "/tryon/test-crown?metal=yellow-gold"
    page.select_option("#metal", "silver")
    page.wait_for_function(
        "() => document.getElementById('tryon-link').getAttribute('href').endsWith('silver')"
    )
    link.click()
    page.wait_for_selector("#tryon-app[data-ready]", state="attached")
    assert page.locator("#tryon-metal").input_value() == "silver"
