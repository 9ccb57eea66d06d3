"""The photos, pieces and settings behind the realism golden images, and their regeneration.

Regenerate the golden PNGs (after a deliberate change to the renderer; look at them first):

    .venv/bin/python -m tests.ar.realism_scenes --regen

Write before/after pictures (before: the flat composite; after: the realistic render):

    .venv/bin/python -m tests.ar.realism_scenes --shots artifacts/realism
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import skimage.data
from PIL import Image

import ar
from ar.light import LightSettings
from ar.occlusion import OcclusionSettings, PersonMask
from ar.render import RenderSettings, render
from ar.shadow import ShadowSettings
from tests.ar.conftest import _crown_rgba

GOLDEN = Path(__file__).resolve().parent / "golden"

CROWN = ar.PieceSpec("crown", 150, (20, 239), (379, 239))
TIARA = ar.PieceSpec("tiara", 130, (20, 239), (379, 239))

# One realism step at a time, so each golden image shows (and guards) one of them.
OFF = RenderSettings(light=None, perspective=False, occlusion=None, shadow=None)
LIGHT = RenderSettings(light=LightSettings(), perspective=False, occlusion=None, shadow=None)
PERSPECTIVE = RenderSettings(light=None, perspective=True, occlusion=None, shadow=None)
OCCLUSION = RenderSettings(light=None, perspective=True, occlusion=OcclusionSettings(), shadow=None)
SHADOW = RenderSettings(light=None, perspective=False, occlusion=None, shadow=ShadowSettings())
FULL = RenderSettings()


def photos() -> dict[str, np.ndarray]:
    """Real photographs that ship with scikit-image (no download)."""
    astronaut = skimage.data.astronaut()
    # The same photo at half the brightness, as if taken in a dimmer room.
    dim = (astronaut.astype(np.float32) * 0.5 + 0.5).astype(np.uint8)
    # skimage's cameraman: a real head turned about 50 degrees from the camera.
    camera = cv2.cvtColor(skimage.data.camera(), cv2.COLOR_GRAY2RGB)
    return {"astronaut": astronaut, "dim": dim, "camera": camera}


# Crops (x0, y0, x1, y1) around where the piece lands on each photo.
CROPS = {
    "astronaut": (140, 0, 340, 130),
    "dim": (140, 0, 340, 130),
    "camera": (150, 30, 350, 180),
}


@dataclass(frozen=True)
class Scene:
    """One golden image: a photo, a piece and the realism steps switched on."""

    photo: str
    spec: ar.PieceSpec
    settings: RenderSettings
    # Where to look, if not the photo's whole crop: a contact shadow is a thin strip.
    region: tuple[int, int, int, int] | None = None


SCENES = {
    "light_dim": Scene("dim", CROWN, LIGHT),
    "perspective_turned": Scene("camera", CROWN, PERSPECTIVE),
    "occlusion_turned": Scene("camera", CROWN, OCCLUSION),
    "occlusion_tiara_turned": Scene("camera", TIARA, OCCLUSION),
    "shadow_frontal": Scene("astronaut", CROWN, SHADOW, region=(170, 40, 320, 80)),
    "full_turned": Scene("camera", CROWN, FULL),
    "full_frontal": Scene("astronaut", CROWN, FULL),
}


@dataclass(frozen=True, eq=False)
class Detected:
    """A photo with its faces and people found once."""

    rgb: np.ndarray
    faces: tuple[ar.FaceMeasurement, ...]
    people: PersonMask | None


def detect(engine: ar.TryOnEngine, rgb: np.ndarray) -> Detected:
    """Measure the faces and segment the people of one photo."""
    faces = tuple(engine.measure(rgb))
    return Detected(rgb, faces, engine.segment_people(rgb, faces))


def detect_all(engine: ar.TryOnEngine) -> dict[str, Detected]:
    """Detect every photo; the dim astronaut keeps the bright one's geometry (light differs)."""
    shots = photos()
    found = {name: detect(engine, shots[name]) for name in ("astronaut", "camera")}
    bright = found["astronaut"]
    found["dim"] = Detected(shots["dim"], bright.faces, bright.people)
    return found


def draw(
    detected: Detected,
    spec: ar.PieceSpec,
    settings: RenderSettings | None,
    overlay: ar.Overlay | None = None,
) -> np.ndarray:
    """Render the piece on a detected photo; settings=None gives today's flat composite."""
    overlay = overlay or ar.prepare_overlay(_crown_rgba())
    placements = [ar.place_piece(face, spec, face_index=i) for i, face in enumerate(detected.faces)]
    if settings is None:
        return ar.composite(detected.rgb, overlay, placements)
    # As TryOnEngine.try_on does: only a tiara is drawn with the segmentation.
    people = detected.people if spec.kind == "tiara" else None
    return render(
        detected.rgb, overlay, placements, detected.faces, people=people, settings=settings
    )


def crop(image: np.ndarray, scene: Scene) -> np.ndarray:
    """Cut a scene's golden region out of a full render."""
    x0, y0, x1, y1 = scene.region or CROPS[scene.photo]
    return image[y0:y1, x0:x1]


def render_scene(
    name: str, detected: dict[str, Detected], settings: RenderSettings | None | str = "scene"
) -> np.ndarray:
    """Render one scene's golden region (settings=None: the flat composite instead)."""
    scene = SCENES[name]
    chosen = scene.settings if settings == "scene" else settings
    return crop(draw(detected[scene.photo], scene.spec, chosen), scene)


def load_golden(name: str) -> np.ndarray:
    """Read a committed golden image as RGB."""
    return np.asarray(Image.open(GOLDEN / f"{name}.png").convert("RGB"))


def _regen(detected: dict[str, Detected]) -> None:
    GOLDEN.mkdir(exist_ok=True)
    for name in SCENES:
        Image.fromarray(render_scene(name, detected)).save(GOLDEN / f"{name}.png", optimize=True)
        print(f"wrote {GOLDEN / name}.png")


def _shots(detected: dict[str, Detected], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    shots = [("astronaut", CROWN), ("dim", CROWN), ("camera", CROWN), ("camera", TIARA)]
    for photo, spec in shots:
        for label, settings in (("before", None), ("after", FULL)):
            path = folder / f"{photo}-{spec.kind}-{label}.png"
            Image.fromarray(draw(detected[photo], spec, settings)).save(path)
            print(f"wrote {path}")


def main() -> None:
    """Regenerate the golden images or write before/after pictures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regen", action="store_true", help="rewrite tests/ar/golden/*.png")
    parser.add_argument("--shots", type=Path, help="write before/after PNGs to this folder")
    args = parser.parse_args()
    with ar.create_engine("still") as engine:
        detected = detect_all(engine)
    if args.regen:
        _regen(detected)
    if args.shots:
        _shots(detected, args.shots)


if __name__ == "__main__":
    main()
