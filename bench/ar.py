"""Benchmark the try-on engine stage by stage on 640x480 frames of a real face.

Run: python bench/ar.py [--frames N] [--photos N] [--profile]. Prints milliseconds per stage
(decode, landmarks, pose, placement, composite, encode), end-to-end time, the end-to-end /
landmarks-only ratio from the same run, and frames per second in video mode. Then the photo
path with and without realism (light, perspective, occlusion, shadow), interleaved in one run:
the old flat composite against the new render, both against raw MediaPipe on the same photo,
with the load average before and after (the machine may be shared). --profile adds where a
tiara photo's extra time goes (segmentation and render, in process CPU time). Not a test:
figures depend on the machine.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import mediapipe
import numpy as np
import skimage.data
from PIL import Image, ImageDraw

# This script is itself named ar.py: keep its folder from shadowing the `ar` package, and put the
# repository first so the package is found however the project was installed.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.modules.pop("ar", None)
import ar  # noqa: E402

STAGES = ("decode", "landmarks", "pose", "placement", "composite", "encode")


def _frames(count: int) -> list[bytes]:
    """JPEG-encoded 640x480 webcam-like frames of the astronaut, drifting a little each frame."""
    base = np.zeros((480, 640, 3), np.uint8)
    base[:, 80:560] = cv2.resize(skimage.data.astronaut(), (480, 480), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(count):
        # A slow sway keeps video mode's tracker honest without losing the face.
        shift = round(12 * np.sin(i / 15))
        frames.append(ar.encode_image(np.roll(base, shift, axis=1), "jpeg", quality=85))
    return frames


def _crown() -> tuple[np.ndarray, ar.PieceSpec]:
    image = Image.new("RGBA", (400, 260), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for i in range(5):
        x = 20 + i * 90
        draw.polygon([(x, 200), (x + 45, 30), (x + 90, 200)], fill=(212, 175, 55, 255))
        draw.ellipse([x + 35, 20, x + 55, 40], fill=(200, 20, 40, 255))
    draw.rectangle([20, 195, 379, 239], fill=(212, 175, 55, 255))
    spec = ar.PieceSpec("crown", 150, (20, 239), (379, 239))
    return np.asarray(image).copy(), spec


def _timed(stages: dict[str, list[float]], name: str, call: Callable[[], object]) -> object:
    start = time.perf_counter()
    result = call()
    stages[name].append((time.perf_counter() - start) * 1000)
    return result


def _run_mode(mode: str, frames: list[bytes], overlay: ar.Overlay, spec: ar.PieceSpec) -> dict:
    warmup = 20
    with ar.create_engine(mode, max_faces=1) as engine:
        decoded = [ar.decode_image(f) for f in frames]
        for rgb in decoded[:warmup]:
            engine.landmarks(rgb)

        # Landmarks alone, on the same frames, for the ratio.
        engine.reset()
        start = time.perf_counter()
        for rgb in decoded:
            engine.landmarks(rgb)
        landmarks_only = (time.perf_counter() - start) * 1000 / len(decoded)

        # Full pipeline with every stage timed separately.
        engine.reset()
        stages: dict[str, list[float]] = {name: [] for name in STAGES}
        found = 0
        start = time.perf_counter()
        for data in frames:
            rgb = _timed(stages, "decode", lambda data=data: ar.decode_image(data))
            _, points = _timed(stages, "landmarks", lambda rgb=rgb: engine.landmarks(rgb))
            size = (rgb.shape[1], rgb.shape[0])
            faces = _timed(
                stages,
                "pose",
                lambda points=points, size=size: [ar.measure_face(p, size) for p in points],
            )
            placements = _timed(stages, "placement", lambda faces=faces: engine.place(faces, spec))
            out = _timed(
                stages,
                "composite",
                lambda rgb=rgb, placements=placements: ar.composite(rgb, overlay, placements),
            )
            _timed(stages, "encode", lambda out=out: ar.encode_image(out, "jpeg", quality=85))
            found += len(faces)
        end_to_end = (time.perf_counter() - start) * 1000 / len(frames)

        # Live use: frames arrive as arrays and are drawn in place; no codec work.
        engine.reset()
        start = time.perf_counter()
        for rgb in decoded:
            _, points = engine.landmarks(rgb)
            faces = [ar.measure_face(p, (640, 480)) for p in points]
            ar.composite(rgb, overlay, engine.place(faces, spec), inplace=True)
        live = (time.perf_counter() - start) * 1000 / len(decoded)
    return {
        "stages": stages,
        "end_to_end": end_to_end,
        "landmarks_only": landmarks_only,
        "live": live,
        "found": found,
        "frames": len(frames),
    }


def _photo(name: str, side: int) -> np.ndarray:
    if name == "astronaut":
        rgb = skimage.data.astronaut()
    else:  # skimage's cameraman: a real head turned about 50 degrees
        rgb = cv2.cvtColor(skimage.data.camera(), cv2.COLOR_GRAY2RGB)
    return cv2.resize(rgb, (side, side), interpolation=cv2.INTER_CUBIC)


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _time_photo(
    engine: ar.TryOnEngine, rgb: np.ndarray, overlay: ar.Overlay, piece: ar.PieceSpec, count: int
) -> dict[str, float]:
    """Median ms of raw MediaPipe, the old and new photo paths, and the drawing alone."""
    engine.try_on(rgb, overlay, piece)  # builds the segmenter; warms both paths
    calls = {
        "mp": lambda: engine.landmarks(rgb),
        "old": lambda: engine.try_on(rgb, overlay, piece, realism=None),
        "new": lambda: engine.try_on(rgb, overlay, piece),
    }
    keys = ("mp", "old", "new", "oc", "nc", "seg", "cpu_mp", "cpu_old", "cpu_new")
    times: dict[str, list[float]] = {k: [] for k in keys}
    for _ in range(count):
        # Interleaved, so a busy moment on the machine hits all three alike. CPU time (all of
        # this process's threads) is reported too: it suffers less from a crowded machine.
        for key, call in calls.items():
            start, cpu = time.perf_counter(), time.process_time()
            call()
            times[key].append(time.perf_counter() - start)
            times[f"cpu_{key}"].append(time.process_time() - cpu)
    # The drawing alone, on faces found once: the flat composite against segmentation (tiaras
    # only, as try_on does) plus the realistic render.
    faces = engine.measure(rgb)
    placements = engine.place(faces, piece)
    for _ in range(count):
        start = time.perf_counter()
        ar.composite(rgb, overlay, placements)
        middle = time.perf_counter()
        people = engine.segment_people(rgb, faces) if piece.kind == "tiara" else None
        segmented = time.perf_counter()
        ar.render(rgb, overlay, placements, faces, people=people)
        end = time.perf_counter()
        times["oc"].append(middle - start)
        times["seg"].append(segmented - middle)
        times["nc"].append(end - middle)
    return {key: _median_ms(samples) for key, samples in times.items()}


def _load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _profile_tiara(engine: ar.TryOnEngine, overlay: ar.Overlay, tiara: ar.PieceSpec) -> None:
    """Print the functions a tiara photo's segmentation and render spend their CPU time in."""
    rgb = _photo("astronaut", 1024)
    faces = engine.measure(rgb)
    placements = engine.place(faces, tiara)
    profile = cProfile.Profile(timer=time.process_time)
    profile.enable()
    for _ in range(50):
        people = engine.segment_people(rgb, faces)
        ar.render(rgb, overlay, placements, faces, people=people)
    profile.disable()
    print("\nastro tiara 1024: segment_people + render, 50 runs, process CPU time")
    pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(15)


def _run_photos(count: int, overlay: ar.Overlay, crown: ar.PieceSpec, profile: bool) -> None:
    """Time the photo path old (flat) and new (realistic), interleaved, on the same photos."""
    print(
        "\nphoto path (still engine, up to 4 faces; median ms; old and new interleaved); "
        f"{_load()}\n"
        f"{'photo':<18}{'mediapipe':>10}{'old path':>10}{'new path':>10}{'new/old':>9}"
        f"{'new/mp':>8}{'old comp':>10}{'new comp':>10}{'segment':>9}{'cpu new/old':>13}"
        f"{'cpu new/mp':>12}"
    )
    tiara = ar.PieceSpec("tiara", 130, crown.band_left, crown.band_right)
    rows = [
        ("astronaut", 512, crown),
        ("astronaut", 1024, crown),
        ("cameraman", 1024, crown),
        ("astronaut", 1024, tiara),
        ("cameraman", 1024, tiara),
    ]
    with ar.create_engine("still") as engine:
        for name, side, piece in rows:
            t = _time_photo(engine, _photo(name, side), overlay, piece, count)
            print(
                f"{f'{name[:5]} {piece.kind} {side}':<18}{t['mp']:>10.1f}{t['old']:>10.1f}"
                f"{t['new']:>10.1f}{t['new'] / t['old']:>9.2f}{t['new'] / t['mp']:>8.2f}"
                f"{t['oc']:>10.2f}{t['nc']:>10.2f}{t['seg']:>9.2f}"
                f"{t['cpu_new'] / t['cpu_old']:>13.2f}{t['cpu_new'] / t['cpu_mp']:>12.2f}"
            )
        print(f"after the photos: {_load()}")
        if profile:
            _profile_tiara(engine, overlay, tiara)
    print(
        "old/new path: detect, measure, place and draw (try_on with realism=None / default);\n"
        "cpu: the same ratios in process CPU time rather than wall time.\n"
        "old/new comp: the drawing alone (new comp includes segment, tiaras only). Live frames\n"
        "only place the piece (measure + place): they never segment or render: unchanged."
    )


def main() -> None:
    """Run both modes and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--photos", type=int, default=30, help="runs per photo (0: skip)")
    parser.add_argument("--profile", action="store_true", help="profile a tiara photo's render")
    args = parser.parse_args()
    frames = _frames(args.frames)
    rgba, spec = _crown()
    overlay = ar.prepare_overlay(rgba)
    results = {mode: _run_mode(mode, frames, overlay, spec) for mode in ("still", "video")}

    print(
        f"ar benchmark: {args.frames} frames of 640x480 JPEG, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, MediaPipe {mediapipe.__version__}, "
        f"OpenCV {cv2.__version__}"
    )
    print(f"{'stage (ms/frame)':<22}{'still mean':>11}{'p95':>8}{'video mean':>12}{'p95':>8}")
    for name in STAGES:
        row = f"{name:<22}"
        for mode in ("still", "video"):
            samples = results[mode]["stages"][name]
            p95 = statistics.quantiles(samples, n=20)[-1]
            row += f"{statistics.fmean(samples):>11.3f}{p95:>8.3f}" + (
                " " if mode == "still" else ""
            )
        print(row)
    for mode in ("still", "video"):
        r = results[mode]
        means = {name: statistics.fmean(r["stages"][name]) for name in STAGES}
        overhead = (means["pose"] + means["placement"] + means["composite"]) / means["landmarks"]
        print(
            f"\n{mode}: faces found in {r['found']}/{r['frames']} frames\n"
            f"  end-to-end (decode .. encode)         {r['end_to_end']:7.3f} ms "
            f"= {1000 / r['end_to_end']:6.1f} frames/s\n"
            f"  landmarks only                        {r['landmarks_only']:7.3f} ms\n"
            f"  ratio end-to-end / landmarks-only     {r['end_to_end'] / r['landmarks_only']:7.3f}"
            "\n"
            f"  pose+placement+composite / landmarks  {overhead:7.1%}\n"
            f"  live (arrays in, composite in place)  {r['live']:7.3f} ms "
            f"= {1000 / r['live']:6.1f} frames/s\n"
            f"  ratio live / landmarks-only           {r['live'] / r['landmarks_only']:7.3f}"
        )
    if args.photos > 0:
        _run_photos(args.photos, overlay, spec, args.profile)


if __name__ == "__main__":
    main()
