"""Command line: `python -m ar measure IMAGE --json` and `python -m ar tryon IMAGE ...`.

Exit status: 0 success, 1 unreadable or invalid input (or bad arguments), 2 no face found.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NoReturn

from ar.image_io import InvalidImage, encode_image, load_image, load_overlay
from ar.measurement import FaceMeasurement, faces_json
from ar.pipeline import TryOnEngine, create_engine
from ar.placement import InvalidSpec, PieceSpec

EXIT_OK = 0
EXIT_INVALID_INPUT = 1
EXIT_NO_FACE = 2


class _Parser(argparse.ArgumentParser):
    # argparse exits with 2 on usage errors, which scripts would read as "no face".
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_INVALID_INPUT, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m ar", description="Measure faces and try on crowns and tiaras.")
    parser.add_argument(
        "--verbose", action="store_true", help="show MediaPipe's own log lines on stderr"
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    measure = commands.add_parser("measure", help="measure the faces in an image")
    measure.add_argument("image", type=Path)
    measure.add_argument("--json", action="store_true", help="print JSON on stdout")
    measure.add_argument("--max-faces", type=int, default=4, choices=range(1, 17), metavar="N")
    tryon = commands.add_parser("tryon", help="draw a piece on the faces in an image")
    tryon.add_argument("image", type=Path)
    tryon.add_argument("--overlay", type=Path, required=True, help="the piece's transparent PNG")
    tryon.add_argument("--spec", type=Path, required=True, help="the piece's JSON spec")
    tryon.add_argument("--out", type=Path, required=True, help="output image (.png or .jpg)")
    tryon.add_argument("--json", action="store_true", help="also print JSON on stdout")
    tryon.add_argument("--max-faces", type=int, default=4, choices=range(1, 17), metavar="N")
    return parser


@contextlib.contextmanager
def _native_stderr_silenced(enabled: bool) -> Iterator[None]:
    """Silence MediaPipe's C++ logging, which writes to file descriptor 2 directly."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _describe(face: FaceMeasurement) -> str:
    x, y, w, h = face.bbox
    low, high = face.head_circumference_range_mm
    return (
        f"face at {x},{y} {w}x{h}: roll {face.roll_deg:+.1f} yaw {face.yaw_deg:+.1f} "
        f"pitch {face.pitch_deg:+.1f} deg; {face.mm_per_px:.3f} mm/px ({face.scale_source}); "
        f"head width {face.head_width_mm:.0f} mm, circumference ~{face.head_circumference_mm:.0f} "
        f"mm (80% range {low:.0f}-{high:.0f} mm; {face.confidence_level} confidence: "
        f"{face.confidence_reason})"
    )


def _read_spec(path: Path) -> PieceSpec:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise InvalidSpec(f"cannot read spec {str(path)!r}: {exc.strerror or exc}") from None
    return PieceSpec.from_json(text)


def _engine(args: argparse.Namespace) -> TryOnEngine:
    return create_engine("still", max_faces=args.max_faces)


def _measure(args: argparse.Namespace) -> int:
    image = load_image(args.image)
    with _native_stderr_silenced(not args.verbose), _engine(args) as engine:
        faces = engine.measure(image)
    if args.json:
        print(json.dumps(faces_json(faces)))
    else:
        for face in faces:
            print(_describe(face))
    if not faces:
        print(f"no face found in {args.image}", file=sys.stderr)
        return EXIT_NO_FACE
    return EXIT_OK


def _tryon(args: argparse.Namespace) -> int:
    image = load_image(args.image)
    overlay = load_overlay(args.overlay)
    spec = _read_spec(args.spec)
    spec.check_overlay((overlay.shape[1], overlay.shape[0]))
    image_format = "jpeg" if args.out.suffix.lower() in (".jpg", ".jpeg") else "png"
    with _native_stderr_silenced(not args.verbose), _engine(args) as engine:
        result = engine.try_on(image, overlay, spec)
    if not result.faces:
        if args.json:
            print(json.dumps(result.to_json()))
        print(f"no face found in {args.image}; nothing written", file=sys.stderr)
        return EXIT_NO_FACE
    try:
        args.out.write_bytes(encode_image(result.image, image_format))
    except OSError as exc:
        print(f"error: cannot write {str(args.out)!r}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(f"wrote {args.out} with the piece on {len(result.faces)} face(s)")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "measure":
            return _measure(args)
        return _tryon(args)
    except (InvalidImage, InvalidSpec) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID_INPUT
