"""What a piece of demo artwork is: its kind, style, metal and stones."""

from __future__ import annotations

from dataclasses import dataclass

from app.demo.artwork.palette import METALS

KINDS: tuple[str, ...] = ("crown", "tiara")
STYLES: dict[str, tuple[str, ...]] = {
    "crown": ("fleur", "spire", "arch", "coronet"),
    "tiara": ("halo", "laurel", "wave", "sunburst"),
}
STONE_COLOURS: tuple[str, ...] = (
    "diamond",
    "ruby",
    "sapphire",
    "emerald",
    "pearl",
    "amethyst",
    "none",
)
MAX_STONES = 60


@dataclass(frozen=True)
class PieceDesign:
    """What to draw: a crown or tiara in one metal, style and stone colour."""

    kind: str
    metal: str
    style: str
    stone_colour: str
    stone_count: int
    width_mm: float
    seed: int = 0

    def __post_init__(self) -> None:
        """Reject unknown kinds, metals, styles and stones with a clear message."""
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.metal not in METALS:
            raise ValueError(f"unknown metal {self.metal!r}; expected one of {', '.join(METALS)}")
        if self.style not in STYLES[self.kind]:
            raise ValueError(
                f"unknown {self.kind} style {self.style!r}; "
                f"expected one of {', '.join(STYLES[self.kind])}"
            )
        if self.stone_colour not in STONE_COLOURS:
            raise ValueError(
                f"unknown stone colour {self.stone_colour!r}; "
                f"expected one of {', '.join(STONE_COLOURS)}"
            )
        if isinstance(self.stone_count, bool) or not isinstance(self.stone_count, int):
            raise ValueError(f"stone_count must be an int, got {self.stone_count!r}")
        if not 0 <= self.stone_count <= MAX_STONES:
            raise ValueError(f"stone_count must be 0..{MAX_STONES}, got {self.stone_count}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an int, got {self.seed!r}")
        if not (isinstance(self.width_mm, int | float) and 10 <= self.width_mm <= 400):
            raise ValueError(f"width_mm must be a number of mm in 10..400, got {self.width_mm!r}")
