"""Peak memory of decoding one 36 MP try-on photo: the old full-size path against the bounded one.

Run: python bench/photo_memory.py

A real face photo (scikit-image's astronaut) is upscaled to 6000 x 6000 px and saved as a
baseline JPEG and as a progressive JPEG. Each measurement runs in a fresh Python process: it
imports everything and reads the bytes first, resets the kernel's peak-RSS mark (Linux
/proc/self/clear_refs), decodes, and reports how far the peak (VmHWM) rose above the resident
memory it started from.

- full size: what the try-on did before: Image.open(...).convert("RGB") into a numpy array.
- bounded: app.tryon.images.decode_bounded, what it does now (JPEG draft, then at most 2048 px).

This measures the decode, the step the audit found unbounded; landmarks run on a copy of at most
1280 px either way. The target is at most 150 MB above baseline for one 36 MP photo.
Not a test: figures depend on the machine, Pillow and libjpeg.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIDE = 6000  # 36 MP

CHILD = r"""
import io, sys
import numpy as np
from PIL import Image
sys.path.insert(0, {root!r})
from app.tryon import images
data = open({path!r}, "rb").read()
Image.MAX_IMAGE_PIXELS = None if {full!r} else Image.MAX_IMAGE_PIXELS
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to what is resident now
before = status("VmRSS")
if {full!r}:
    with Image.open(io.BytesIO(data)) as image:
        array = np.asarray(image.convert("RGB"))
else:
    array = images.decode_bounded(data)
after = status("VmHWM")
print(after - before, array.shape[1], array.shape[0])
"""


def _photos(folder: Path) -> dict[str, Path]:
    from PIL import Image
    from skimage import data

    big = Image.fromarray(data.astronaut()).resize((SIDE, SIDE), Image.Resampling.BILINEAR)
    paths = {}
    for name, progressive in (("baseline JPEG", False), ("progressive JPEG", True)):
        buffer = io.BytesIO()
        big.save(buffer, format="JPEG", quality=90, progressive=progressive)
        path = folder / f"{name.split()[0]}.jpg"
        path.write_bytes(buffer.getvalue())
        paths[name] = path
    return paths


def _measure(path: Path, *, full: bool) -> tuple[float, str]:
    code = CHILD.format(root=str(ROOT), path=str(path), full=full)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    kib, width, height = int(out[0]), out[1], out[2]
    return kib / 1024, f"{width}x{height}"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        photos = _photos(Path(tmp))
        print(f"one {SIDE}x{SIDE} photo ({SIDE * SIDE / 1e6:.0f} MP): peak RSS above baseline")
        for name, path in photos.items():
            old, old_size = _measure(path, full=True)
            new, new_size = _measure(path, full=False)
            size_mb = path.stat().st_size / 1e6
            print(
                f"  {name} ({size_mb:.1f} MB): full size {old:7.1f} MB -> {old_size}; "
                f"bounded {new:7.1f} MB -> {new_size}; ratio {new / old:.2f}; "
                f"target <= 150 MB: {'met' if new <= 150 else 'MISSED'}"
            )


if __name__ == "__main__":
    main()
