"""How far the live piece trails a moving head, measured in Chromium with a moving fake camera.

The camera plays a video of the astronaut photograph sliding sinusoidally left and right (one
period of 60 frames at 30 fps, looped). Each frame carries its index as a six-bit bar code in
the corner. The page announces every mirror it draws (the diadem:mirror event, with the camera
frame's time and whether the piece was predicted); a sampler reads that very canvas: which video
frame it shows and where the drawn piece (pure magenta) is. The piece's lag is the frame delay
that best lines its path up with the face's; it is measured with prediction switched on and off
every sixth drawn frame in the same run (so both see the same server answers). Sampling runs
until both modes have enough frames, however slowly a busy machine draws them.

A busy machine also stalls Chromium's fake camera: it then delivers the file's next frame late,
stamped with the late time, so the head in the video stands still while the clock runs on, which
no real camera does (its head keeps moving; frames are dropped instead) and no prediction from
frame times can follow. So the lag is judged on the frames where the camera kept pace with its
own clock (each of the last few steps in frame index matches the step in frame time) and the
server was answering (the newest answer's frame is at most MAX_ANSWER_AGE old: a busy machine
can hold answers back for most of a second, and no prediction bridges that); the lag over all
frames is reported too. The figures go to artifacts/tryon-lag.json (the samples beside them).
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
SAMPLES = 120  # drawn frames with the piece found, in each mode
MAX_SECONDS = 20.0  # ...or as many as this long gives
HOLD_FRAMES = 6  # drawn frames (a fifth of a second) in each mode before switching
STEADY_STEPS = 8  # drawn frames before a sample whose index and time steps must agree...
STEADY_SLACK = 0.010  # ...within this many seconds each
MAX_ANSWER_AGE = 0.2  # seconds: three answer cycles at 15 a second


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


# Runs in the page each time it draws the mirror, straight after the drawing: which video frame
# the (mirrored) canvas shows and the centre of the magenta piece drawn on it, with the mode the
# page drew it in. Every `hold` drawings it switches prediction on or off, so both modes see the
# same answers (and the same stalls of a busy machine); prediction changes only the drawing,
# never the filter, so a switch takes effect at the next drawing.
SAMPLER = """({bits, block, hold}) => {
  const canvas = document.getElementById("tryon-canvas");
  const ctx = canvas.getContext("2d");
  const root = document.getElementById("tryon-app");
  window.__lag = [];
  window.__lagCount = { on: 0, off: 0 };
  window.__lagStart = performance.now();
  let drawn = 0;
  const sample = (event) => {
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
    const { time, predicted, age } = event.detail;
    const x = count > 20 ? sum / count : null;
    window.__lag.push({ t: performance.now(), time, n, x, predict: predicted, age });
    if (x !== null) window.__lagCount[predicted ? "on" : "off"] += 1;
    drawn += 1;
    if (drawn % hold === 0) root.dataset.predict = root.dataset.predict === "off" ? "on" : "off";
  };
  root.addEventListener("diadem:mirror", sample);
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


def collect(page) -> tuple[list[dict], list[dict], list[dict]]:
    """Sample until both modes have SAMPLES frames (or MAX_SECONDS); return (on, off, all)."""
    page.evaluate(SAMPLER, {"bits": BITS, "block": BLOCK, "hold": HOLD_FRAMES})
    page.wait_for_function(
        """([wanted, seconds]) => {
          const c = window.__lagCount;
          return (c.on >= wanted && c.off >= wanted)
            || performance.now() - window.__lagStart > seconds * 1000;
        }""",
        arg=[SAMPLES, MAX_SECONDS],
        timeout=(MAX_SECONDS + 10) * 1000,
        polling=250,
    )
    page.evaluate("() => { window.__lagStop = true; }")
    drawn = page.evaluate("() => window.__lag")
    samples = [s for s in drawn if s["x"] is not None]
    return [s for s in samples if s["predict"]], [s for s in samples if not s["predict"]], drawn


def rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def kept_time(drawn: list[dict], j: int) -> bool:
    """Whether the video's frame index moved as far as its time from drawn frame j - 1 to j."""
    seconds = drawn[j]["time"] - drawn[j - 1]["time"]
    frames = (drawn[j]["n"] - drawn[j - 1]["n"]) % PERIOD
    return abs(seconds - frames / 30) <= STEADY_SLACK


def mark_steady(drawn: list[dict]) -> None:
    """Mark the drawn frames with a fresh answer whose last STEADY_STEPS steps kept time."""
    for i, sample in enumerate(drawn):
        fed = sample["age"] is not None and sample["age"] <= MAX_ANSWER_AGE
        sample["steady"] = (
            fed
            and i >= STEADY_STEPS
            and all(kept_time(drawn, j) for j in range(i - STEADY_STEPS + 1, i + 1))
        )


def frame_figures(drawn: list[dict]) -> dict:
    """How steadily the page drew camera frames: their times' steps and the frames skipped."""
    steps = np.diff([s["time"] for s in drawn]) * 1000
    skipped = np.diff([s["n"] for s in drawn]) % PERIOD - 1
    ages = [s["age"] * 1000 for s in drawn if s["age"] is not None]
    return {
        "drawn_frames": len(drawn),
        "steady_fraction": round(float(np.mean([s["steady"] for s in drawn])), 2),
        "answer_age_ms_median": round(float(np.median(ages)), 1),
        "answer_age_ms_max": round(float(np.max(ages)), 1),
        "camera_frame_ms_median": round(float(np.median(steps)), 1),
        "camera_frame_ms_p95": round(float(np.percentile(steps, 95)), 1),
        "video_frames_skipped": int(np.clip(skipped, 0, None).sum()),
    }


def test_the_piece_follows_a_moving_head_within_a_frame(tryon_lag_server, moving_page):
    page = moving_page
    page.goto(f"{tryon_lag_server}/tryon/test-crown?metal=yellow-gold")
    page.wait_for_selector("#tryon-app[data-ready]", state="attached")
    page.click("#tryon-start")
    page.wait_for_function(
        "() => Number(document.getElementById('tryon-app').dataset.placements || 0) >= 3",
        timeout=20_000,
    )
    predicted, plain, drawn = collect(page)
    mark_steady(drawn)
    placements = int(page.evaluate("() => document.getElementById('tryon-app').dataset.placements"))
    round_trips = page.evaluate("() => window.__pose.durations.slice(3)")
    cycles = np.diff(page.evaluate("() => window.__pose.starts.slice(3)"))

    assert len(predicted) > 60 and len(plain) > 60, "the piece was drawn on most frames"
    assert len({s["n"] for s in predicted}) > 30, "the video played through its frames"
    steady_with = [s for s in predicted if s["steady"]]
    steady_without = [s for s in plain if s["steady"]]
    lag_with, fit_with = lag_in_frames(steady_with) if len(steady_with) > 30 else (None, None)
    lag_without, fit_without = (
        lag_in_frames(steady_without) if len(steady_without) > 30 else (None, None)
    )
    all_with, all_fit_with = lag_in_frames(predicted)
    all_without, all_fit_without = lag_in_frames(plain)
    figures = {
        "lag_frames_with_prediction": rounded(lag_with, 2),
        "lag_frames_without_prediction": rounded(lag_without, 2),
        "fit_residual_px_with": rounded(fit_with, 1),
        "fit_residual_px_without": rounded(fit_without, 1),
        "samples_with": len(steady_with),
        "samples_without": len(steady_without),
        "lag_frames_with_prediction_all_frames": round(all_with, 2),
        "lag_frames_without_prediction_all_frames": round(all_without, 2),
        "fit_residual_px_with_all_frames": round(all_fit_with, 1),
        "fit_residual_px_without_all_frames": round(all_fit_without, 1),
        "samples_with_all_frames": len(predicted),
        "samples_without_all_frames": len(plain),
        "server_answers": placements,
        "round_trip_ms_median": round(float(np.median(round_trips)), 1),
        "answer_cycle_ms_median": round(float(np.median(cycles)), 1),
        **frame_figures(drawn),
    }
    SCREENSHOTS.parent.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS.parent / "tryon-lag.json").write_text(json.dumps(figures, indent=2))
    (SCREENSHOTS.parent / "tryon-lag-samples.json").write_text(
        json.dumps({"drawn": drawn, "round_trips_ms": round_trips})
    )
    print("try-on lag:", figures)
    # Both modes saw the same answers and the same stalls: prediction must beat holding the
    # last answer.
    assert all_with < all_without, figures
    # The target, one frame at 30 fps, assumes answers on loopback at the page's full rate (15
    # a second) and a camera that keeps time; a busier machine (the answer cycle and the steady
    # fraction are kept with the figures) records its figures without judging them against it.
    if figures["answer_cycle_ms_median"] <= 1000 / 15 * 1.15 and lag_with is not None:
        assert lag_with <= 1.0, figures


@pytest.fixture
def tryon_lag_server(app, live_server, tmp_path) -> str:
    app.config["UPLOADS_ROOT"] = str(tmp_path / "uploads")
    make_tryon_pieces(app)
    return live_server
