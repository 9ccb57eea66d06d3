"""Size advice from a try-on measurement: the estimate's range read against the size table.

The estimate is ar's (ar.headsize: ANSUR II regression with an 80 % interval). The advice names
one size when the whole range lies inside it, else the sizes it spans and asks the buyer to
measure (the fit guide). Live frames are combined in the page (tryon.js) the same way
ar.headsize.combine_estimates does, so the range narrows while the buyer holds still.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ar
from app.catalog import services as catalog
from app.catalog.models import FitSize
from app.common import caching

# The size table changes rarely and live frames arrive up to 15 a second per buyer; a
# catalogue change starts a new cache generation at once.
SIZES_CACHE_SECONDS = 10.0


@dataclass(frozen=True)
class SizeRecommendation:
    """What the try-on says about size, in the shop's sizes."""

    size_code: str
    size_label: str
    confidence: str  # "high" | "medium" | "low"
    reason: str
    circumference_mm: int
    alternative: str | None
    # The 80 % interval, and every size code it reaches (smallest first).
    range_mm: tuple[int, int] | None = None
    sizes: tuple[str, ...] = ()
    summary: str = ""
    # For combining live frames: the whole standard deviation and its frame-to-frame part.
    sd_mm: float | None = None
    frame_sd_mm: float | None = None
    # The measurement's own confidence, before the size table was read.
    measured_confidence: str = "high"
    measured_reason: str = ""

    @property
    def spans_sizes(self) -> bool:
        """Return whether the range reaches more than one size."""
        return len(self.sizes) > 1

    def to_json(self) -> dict[str, Any]:
        """Return the ``size_advice`` object of the try-on's JSON answers."""
        return {
            "size": self.size_code,
            "label": self.size_label,
            "confidence": self.confidence,
            "reason": self.reason,
            "head_circumference_mm": self.circumference_mm,
            "head_circumference_range_mm": list(self.range_mm) if self.range_mm else None,
            "sizes": list(self.sizes),
            "summary": self.summary,
            "alternative": self.alternative,
            "sd_mm": None if self.sd_mm is None else round(self.sd_mm, 2),
            "frame_sd_mm": None if self.frame_sd_mm is None else round(self.frame_sd_mm, 2),
            "measured_confidence": self.measured_confidence,
            "measured_reason": self.measured_reason,
        }


def _load_sizes() -> tuple[list[ar.SizeBand], dict[str, str]]:
    sizes: Sequence[FitSize] = catalog.all_sizes()
    table = [ar.SizeBand(s.code, s.min_circumference_mm, s.max_circumference_mm) for s in sizes]
    return table, {s.code: s.label for s in sizes}


def advise(measurements: Sequence[ar.FaceMeasurement]) -> SizeRecommendation | None:
    """Recommend a size for the largest face from the catalog's size table (None: no face)."""
    if not measurements:
        return None
    table, labels = caching.remember("tryon:sizes", _load_sizes, timeout=SIZES_CACHE_SECONDS)
    if not table:
        return None
    face = measurements[0]
    advice = ar.advise_size(face, table)
    low, high = advice.range_mm or (face.head_circumference_mm,) * 2
    spread = face.circumference
    return SizeRecommendation(
        size_code=advice.label,
        size_label=labels.get(advice.label, advice.label),
        confidence=advice.confidence,
        reason=advice.reason,
        circumference_mm=round(advice.circumference_mm),
        alternative=advice.alternative,
        range_mm=(round(low), round(high)),
        sizes=advice.sizes,
        summary=advice.summary,
        sd_mm=spread.sd_mm if spread else None,
        frame_sd_mm=spread.frame_sd_mm if spread else None,
        measured_confidence=face.confidence_level,
        measured_reason=face.confidence_reason,
    )


def size_table() -> list[dict[str, Any]]:
    """The catalog's sizes for the page, which reads a range combined from live frames."""
    table, labels = caching.remember("tryon:sizes", _load_sizes, timeout=SIZES_CACHE_SECONDS)
    return [
        {
            "code": b.label,
            "label": labels.get(b.label, b.label),
            "min_mm": b.min_mm,
            "max_mm": b.max_mm,
        }
        for b in table
    ]
