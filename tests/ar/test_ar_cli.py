"""`python -m ar`: output, exit codes and messages that scripts rely on."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ar
from ar.cli import main

MEASURE_KEYS = [
    "bbox",
    "roll_deg",
    "yaw_deg",
    "pitch_deg",
    "mm_per_px",
    "scale_source",
    "head_width_mm",
    "head_circumference_mm",
    "head_circumference_range_mm",
]
REPO = Path(ar.__file__).resolve().parent.parent


def _save(array: np.ndarray, path: Path, image_format: str = "PNG") -> Path:
    Image.fromarray(array).save(path, format=image_format)
    return path


@pytest.fixture
def files(tmp_path, astronaut, coffee, crown_rgba, crown_spec):
    jpeg = io.BytesIO()
    Image.fromarray(astronaut).save(jpeg, format="JPEG")
    paths = {
        "face": _save(astronaut, tmp_path / "astronaut.png"),
        "coffee": _save(coffee, tmp_path / "coffee.jpg", "JPEG"),
        "overlay": _save(crown_rgba, tmp_path / "crown.png"),
        "spec": tmp_path / "crown.json",
        "empty": tmp_path / "empty.jpg",
        "truncated": tmp_path / "truncated.jpg",
        "tiny": _save(np.zeros((1, 1, 3), np.uint8), tmp_path / "tiny.png"),
        "text": tmp_path / "notes.png",
        "out": tmp_path / "out.png",
    }
    paths["spec"].write_text(json.dumps(crown_spec.to_dict()))
    paths["empty"].write_bytes(b"")
    paths["truncated"].write_bytes(jpeg.getvalue()[:5000])
    paths["text"].write_text("not a picture")
    return paths


def _run(capsys, *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_measure_json(capsys, files):
    code, out, err = _run(capsys, "measure", files["face"], "--json")
    assert (code, err) == (0, "")
    (face,) = json.loads(out)["faces"]
    assert list(face) == MEASURE_KEYS
    assert face["scale_source"] in ("iris", "ipd") and len(face["bbox"]) == 4


def test_measure_text(capsys, files):
    code, out, _ = _run(capsys, "measure", files["face"])
    assert code == 0 and out.startswith("face at ") and "mm/px" in out


def test_measure_no_face_exits_2(capsys, files):
    code, out, err = _run(capsys, "measure", files["coffee"], "--json")
    assert code == 2
    assert json.loads(out) == {"faces": []}
    assert "no face found" in err


def test_tryon_writes_the_image_and_json(capsys, files, astronaut):
    code, out, err = _run(
        capsys,
        "tryon",
        files["face"],
        "--overlay",
        files["overlay"],
        "--spec",
        files["spec"],
        "--out",
        files["out"],
        "--json",
    )
    assert (code, err) == (0, "")
    (face,) = json.loads(out)["faces"]
    assert list(face) == [*MEASURE_KEYS, "band_left", "band_right"]
    assert face["band_left"][0] < face["band_right"][0]
    written = ar.load_image(files["out"])
    assert written.shape == astronaut.shape
    changed_rows = np.flatnonzero((written != astronaut).any(axis=(1, 2)))
    # Only the crown's rows, above the eyes, changed.
    assert len(changed_rows) > 0 and changed_rows.max() < face["bbox"][1] + face["bbox"][3] / 3


def test_tryon_without_face_exits_2_and_writes_nothing(capsys, files):
    code, _, err = _run(
        capsys,
        "tryon",
        files["coffee"],
        "--overlay",
        files["overlay"],
        "--spec",
        files["spec"],
        "--out",
        files["out"],
    )
    assert code == 2 and "no face found" in err and not files["out"].exists()


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("empty", "empty image data"),
        ("truncated", "truncated or corrupt"),
        ("tiny", "too small: 1x1"),
        ("text", "not an image"),
        ("missing", "cannot read"),
    ],
)
def test_bad_images_exit_1(capsys, files, tmp_path, image, message):
    path = files.get(image, tmp_path / "missing.png")
    code, out, err = _run(capsys, "measure", path, "--json")
    assert (code, out) == (1, "")
    assert err.startswith("error: ") and message in err


def test_huge_image_exits_1(capsys, tmp_path):
    path = tmp_path / "huge.png"
    Image.new("L", (12_000, 9_000)).save(path)  # 108 megapixels: over Pillow's bomb limit
    code, _, err = _run(capsys, "measure", path)
    assert code == 1 and "too large" in err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("spec_text", "not valid JSON"),
        ("spec_band", "outside the 400x260 overlay"),
        ("spec_missing", "cannot read spec"),
        ("overlay_text", "not an image"),
        ("out_dir", "cannot write"),
    ],
)
def test_bad_tryon_inputs_exit_1(capsys, files, tmp_path, change, message):
    spec, overlay, out = files["spec"], files["overlay"], files["out"]
    if change == "spec_text":
        spec.write_text("{kind: crown")
    elif change == "spec_band":
        spec.write_text(json.dumps({**json.loads(spec.read_text()), "band_right": [900, 239]}))
    elif change == "spec_missing":
        spec = tmp_path / "nope.json"
    elif change == "overlay_text":
        overlay = files["text"]
    else:
        out = tmp_path / "no" / "such" / "dir" / "out.png"
    code, _, err = _run(
        capsys, "tryon", files["face"], "--overlay", overlay, "--spec", spec, "--out", out
    )
    assert code == 1 and message in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv", [["tryon", "x.png"], ["wave"], [], ["measure", "x.png", "--max-faces", "0"]]
)
def test_usage_errors_exit_1_not_2(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 1
    assert "usage:" in capsys.readouterr().err


def test_python_dash_m_ar_end_to_end(files):
    ok = subprocess.run(
        [sys.executable, "-m", "ar", "measure", str(files["face"]), "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert list(json.loads(ok.stdout)["faces"][0]) == MEASURE_KEYS
    # MediaPipe's native log lines are kept off stderr so that scripts see only our messages.
    assert ok.stderr == ""
    bad = subprocess.run(
        [sys.executable, "-m", "ar", "measure", str(files["truncated"])],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: truncated or corrupt") and "Traceback" not in bad.stderr
