"""How far the live piece trails a moving head, measured in Chromium with a moving fake camera.

The camera plays a video of the astronaut photograph sliding sinusoidally left and right (one
period of 60 frames at 30 fps, looped). Each frame carries its index as a six-bit bar code in
the corner, so a sampler in the page knows which video frame the canvas shows while it finds
the drawn piece (pure magenta) there. The piece's lag is the frame delay that best lines its
path up with the face's; it is measured with prediction switched on and off every tenth of a
second in the same run (so both see the same server answers), and the figures are written to
artifacts/tryon-lag.json (the samples beside them).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_tryon import (
    FRAME_H,
    FRAME_W,
    camera_page,
    letterbox,
    write_y4m_video,
)
from tests.tryon.helpers import astronaut, make_tryon_pieces

pytestmark = pytest.mark.e2e

PERIOD = 60  # frames: a 2 s sway
AMPLITUDE = 40.0  # px each way: up to 4.2 px a frame, a brisk head movement
BITS, BLOCK = 6, 12  # the frame index, as 12 px squares along the top-left corner
SAMPLE_SECONDS = 6.0
HOLD_FRAMES = 6  # animation frames (a tenth of a second) in each mode before switching


def shift(n: float) -> float:
    """The face's horizontal offset in video frame n, in pixels."""
    return AMPLITUDE * math.sin(2 * math.pi * n / PERIOD)


@pytest.fixture(scope="session")
def moving_head_video(tmp_path_factory) -> Path:
    base = letterbox(astronaut())
    frames = []
    for n in range(PERIOD):
        moved = cv2.warpAffine(
            base,
            np.float32([[1, 0, shift(n)], [0, 1, 0]]),
            (FRAME_W, FRAME_H),
            flags=cv2.INTER_LINEAR,
            borderValue=(30, 30, 30),
        )
        for bit in range(BITS):
            on = (n >> bit) & 1
            moved[:BLOCK, bit * BLOCK : (bit + 1) * BLOCK] = 255 if on else 0
        frames.append(moved)
    return write_y4m_video(tmp_path_factory.mktemp("moving") / "moving-head.y4m", frames)


@pytest.fixture
def moving_page(playwright_instance, moving_head_video):
    yield from camera_page(playwright_instance, moving_head_video)


# Runs in the page on every animation frame, after the page's own drawing: which video frame the
# (mirrored) canvas shows and the centre of the magenta piece drawn on it. Every `hold` frames it
# switches prediction on or off, so both modes see the same answers (and the same stalls of a
# busy machine); prediction changes only the drawing, never the filter, so a switch is instant.
SAMPLER = """({bits, block, hold}) => {
  const canvas = document.getElementById("tryon-canvas");
  const ctx = canvas.getContext("2d");
  const root = document.getElementById("tryon-app");
  window.__lag = [];
  let frame = 0;
  const loop = () => {
    if (window.__lagStop) return;
    // The piece sits above the face: the upper half holds it and the bar code, and reading
    // less keeps the sampler from starving the page it measures.
    const W = canvas.width, H = canvas.height >> 1;
    const px = ctx.getImageData(0, 0, W, H).data;
    let n = 0;
    for (let b = 0; b < bits; b += 1) {
      const x = W - 1 - (b * block + block / 2);
      if (px[((block / 2) * W + x) * 4] > 128) n |= 1 << b;
    }
    let sum = 0, count = 0;
    for (let y = block; y < H; y += 3) {
      for (let x = 0; x < W; x += 3) {
        const i = (y * W + x) * 4;
        if (px[i] > 215 && px[i + 1] < 40 && px[i + 2] > 215) { sum += x; count += 1; }
      }
    }
    const predict = root.dataset.predict !== "off";
    // The first frame after a switch may have been drawn either way: not counted.
    const settled = frame % hold !== 0;
    const x = count > 20 ? sum / count : null;
    window.__lag.push({ t: performance.now(), n, x, predict, settled });
    frame += 1;
    if (frame % hold === 0) root.dataset.predict = predict ? "off" : "on";
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
}"""


def lag_in_frames(samples: list[dict]) -> tuple[float, float]:
    """Best frame delay k in x = c + g * sin(2 pi (n - k) / P), and the fit's residual (px)."""
    n = np.array([s["n"] for s in samples], dtype=float)
    x = np.array([s["x"] for s in samples], dtype=float)
    best = (math.inf, 0.0)
    for k in np.arange(-10.0, 30.0, 0.05):
        design = np.column_stack((np.ones_like(n), np.sin(2 * np.pi * (n - k) / PERIOD)))
        coef, *_ = np.linalg.lstsq(design, x, rcond=None)
        residual = float(np.sqrt(np.mean((design @ coef - x) ** 2)))
        # The canvas is a mirror: the piece must move against the video's shift.
        if coef[1] < 0 and residual < best[0]:
            best = (residual, float(k))
    return best[1], best[0]


def collect(page) -> tuple[list[dict], list[dict]]:
    """Sample for SAMPLE_SECONDS, switching prediction on and off; return (on, off) samples."""
    page.evaluate(SAMPLER, {"bits": BITS, "block": BLOCK, "hold": HOLD_FRAMES})
    page.wait_for_timeout(SAMPLE_SECONDS * 1000)
    page.evaluate("() => { window.__lagStop = true; }")
    samples = [
        s for s in page.evaluate("() => window.__lag") if s["x"] is not None and s["settled"]
    ]
    return [s for s in samples if s["predict"]], [s for s in samples if not s["predict"]]


def test_the_piece_follows_a_moving_head_within_a_frame(tryon_lag_server, moving_page):
    page = moving_page
    page.goto(f"{tryon_lag_server}/tryon/test-crown?metal=yellow-gold")
    page.wait_for_selector("#tryon-app[data-ready]", state="attached")
    page.click("#tryon-start")
    page.wait_for_function(
        "() => Number(document.getElementById('tryon-app').dataset.placements || 0) >= 3",
        timeout=20_000,
    )
    predicted, plain = collect(page)
    placements = int(page.evaluate("() => document.getElementById('tryon-app').dataset.placements"))
    round_trips = page.evaluate("() => window.__pose.durations.slice(3)")
    cycles = np.diff(page.evaluate("() => window.__pose.starts.slice(3)"))

    assert len(predicted) > 60 and len(plain) > 60, "the piece was drawn on most frames"
    assert len({s["n"] for s in predicted}) > 30, "the video played through its frames"
    lag_with, fit_with = lag_in_frames(predicted)
    lag_without, fit_without = lag_in_frames(plain)
    figures = {
        "lag_frames_with_prediction": round(lag_with, 2),
        "lag_frames_without_prediction": round(lag_without, 2),
        "fit_residual_px_with": round(fit_with, 1),
        "fit_residual_px_without": round(fit_without, 1),
        "samples_with": len(predicted),
        "samples_without": len(plain),
        "server_answers": placements,
        "round_trip_ms_median": round(float(np.median(round_trips)), 1),
        "answer_cycle_ms_median": round(float(np.median(cycles)), 1),
    }
    SCREENSHOTS.parent.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS.parent / "tryon-lag.json").write_text(json.dumps(figures, indent=2))
    (SCREENSHOTS.parent / "tryon-lag-samples.json").write_text(
        json.dumps({"with": predicted, "without": plain, "round_trips_ms": round_trips})
    )
    print("try-on lag:", figures)
    # Both modes saw the same answers: prediction must beat holding the last one.
    assert lag_with < lag_without, figures
    # The target, one frame at 30 fps, assumes an idle machine answering on loopback at the
    # page's full rate (15 a second); a busier one (the answer cycle is kept with the figures)
    # records its figures without judging them against it.
    if figures["answer_cycle_ms_median"] <= 1000 / 15 * 1.15:
        assert lag_with <= 1.0, figures


@pytest.fixture
def tryon_lag_server(app, live_server, tmp_path) -> str:
    app.config["UPLOADS_ROOT"] = str(tmp_path / "uploads")
    make_tryon_pieces(app)
    return live_server
