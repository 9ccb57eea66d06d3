"""Recommend a size from an estimated head circumference and a size table."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ar.measurement import ConfidenceLevel, FaceMeasurement, confidence_level

_LEVELS: tuple[ConfidenceLevel, ...] = ("low", "medium", "high")
# Within this share of the circumference of a band's edge, the neighbouring size fits as well:
# the estimate itself is uncertain by a few percent even in the best photo.
HIGH_MARGIN = 0.02
MEDIUM_MARGIN = 0.01


@dataclass(frozen=True)
class SizeBand:
    """One row of a size table: circumferences from min_mm (inclusive) to max_mm (exclusive)."""

    label: str
    min_mm: float
    max_mm: float

    def __post_init__(self) -> None:
        if not self.label:
            raise ValueError("size label must not be empty")
        if not (math.isfinite(self.min_mm) and math.isfinite(self.max_mm)):
            raise ValueError(f"size {self.label}: limits must be finite")
        if not 0 <= self.min_mm < self.max_mm:
            raise ValueError(f"size {self.label}: min_mm must be below max_mm")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SizeBand:
        """Build a band from {"label": "M", "min_mm": 540, "max_mm": 560}."""
        try:
            return cls(str(data["label"]), float(data["min_mm"]), float(data["max_mm"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"invalid size band {data!r}: {exc}") from None


@dataclass(frozen=True)
class SizeAdvice:
    """The recommended size, how sure we are and why."""

    label: str
    confidence: ConfidenceLevel
    reason: str
    circumference_mm: float
    # The next size to try when the estimate lies near a band edge (else None).
    alternative: str | None = None
    # The estimate's 80 % interval, when it has one, and every size it reaches, smallest first.
    range_mm: tuple[float, float] | None = None
    sizes: tuple[str, ...] = ()

    @property
    def spans_sizes(self) -> bool:
        """Return whether the interval reaches more than one size."""
        return len(self.sizes) > 1

    @property
    def summary(self) -> str:
        """Say the advice in a few words: one size, or the sizes the range spans."""
        if self.spans_sizes:
            return f"between {self.sizes[0]} and {self.sizes[-1]}: measure to be sure"
        return f"size {self.label}"


def _as_level(confidence: float | str) -> ConfidenceLevel:
    if isinstance(confidence, str):
        if confidence not in _LEVELS:
            raise ValueError(f"confidence must be one of {_LEVELS}, got {confidence!r}")
        return confidence  # type: ignore[return-value]
    if not 0.0 <= confidence <= 1.0:
        raise ValueError("a numeric confidence must lie between 0 and 1")
    return confidence_level(confidence)


def _check_range(range_mm: tuple[float, float], circumference_mm: float) -> tuple[float, float]:
    low, high = (float(v) for v in range_mm)
    if not (math.isfinite(low) and math.isfinite(high) and low <= circumference_mm <= high):
        raise ValueError(f"range must be finite and hold the circumference, got {range_mm!r}")
    return low, high


def _fit_to_range(
    circumference_mm: float, range_mm: tuple[float, float], bands: Sequence[SizeBand]
) -> tuple[SizeBand, ConfidenceLevel, str, str | None, tuple[str, ...]] | None:
    """Judge the fit by every size the interval reaches (None: it reaches none)."""
    low, high = range_mm
    reached = [b for b in bands if b.min_mm <= high and low < b.max_mm]
    if not reached:
        return None
    sizes = tuple(b.label for b in reached)
    band = min(
        reached,
        key=lambda b: (
            0.0
            if b.min_mm <= circumference_mm < b.max_mm
            else min(abs(circumference_mm - b.min_mm), abs(circumference_mm - b.max_mm))
        ),
    )
    if len(reached) == 1:
        return band, "high", f"the whole range lies within size {band.label}", None, sizes
    others = [b for b in reached if b is not band]
    nearest = min(others, key=lambda b: abs(bands.index(b) - bands.index(band)))
    if len(reached) == 2:
        return (
            band,
            "medium",
            f"the range spans sizes {sizes[0]} and {sizes[1]}",
            nearest.label,
            sizes,
        )
    return band, "low", f"the range spans sizes {sizes[0]} to {sizes[-1]}", nearest.label, sizes


def recommend_size(
    circumference_mm: float,
    table: Sequence[SizeBand],
    *,
    confidence: float | str = "high",
    reason: str = "",
    range_mm: tuple[float, float] | None = None,
) -> SizeAdvice:
    """Recommend the size whose band holds the circumference, no surer than the evidence allows.

    Args:
        confidence: how far the measurement can be trusted, as a 0..1 score or a level
            ("high", "medium", "low"); ``reason`` says why. The advice takes the lower of this
            and how clear of a band edge the circumference lies.
        range_mm: the estimate's interval (low, high). Given, the advice reads the range: one
            size when it lies within one band, else every size it spans.
    """
    if not table:
        raise ValueError("size table is empty")
    if not math.isfinite(circumference_mm) or circumference_mm <= 0:
        raise ValueError(f"circumference must be a positive number, got {circumference_mm!r}")
    bands = sorted(table, key=lambda b: b.min_mm)
    measured = _as_level(confidence)
    measured_reason = reason or f"measurement confidence {measured}"
    if range_mm is not None:
        checked = _check_range(range_mm, circumference_mm)
        judged = _fit_to_range(circumference_mm, checked, bands)
        if judged is not None:
            band, fit, fit_reason, alternative, sizes = judged
            if _LEVELS.index(measured) < _LEVELS.index(fit):
                fit, fit_reason = measured, measured_reason
            return SizeAdvice(
                band.label, fit, fit_reason, circumference_mm, alternative, checked, sizes
            )

    fit: ConfidenceLevel
    alternative = None
    inside = [b for b in bands if b.min_mm <= circumference_mm < b.max_mm]
    if inside:
        band = inside[0]
        index = bands.index(band)
        below, above = circumference_mm - band.min_mm, band.max_mm - circumference_mm
        # Only an edge shared with another size makes the choice ambiguous.
        neighbour_below = index > 0 and bands[index - 1].max_mm >= band.min_mm
        neighbour_above = index + 1 < len(bands) and bands[index + 1].min_mm <= band.max_mm
        margin = min(below if neighbour_below else math.inf, above if neighbour_above else math.inf)
        if margin >= HIGH_MARGIN * circumference_mm:
            fit, fit_reason = "high", f"well inside size {band.label}"
        else:
            use_below = neighbour_below and (below <= above or not neighbour_above)
            near = bands[index - 1] if use_below else bands[index + 1]
            alternative = near.label
            fit = "medium" if margin >= MEDIUM_MARGIN * circumference_mm else "low"
            fit_reason = f"close to the edge between sizes {band.label} and {near.label}"
    else:
        band = min(
            bands,
            key=lambda b: min(abs(circumference_mm - b.min_mm), abs(circumference_mm - b.max_mm)),
        )
        fit, fit_reason = "low", f"{circumference_mm:.0f} mm is outside the size table"

    if _LEVELS.index(measured) < _LEVELS.index(fit):
        level, why = measured, measured_reason
    else:
        level, why = fit, fit_reason
    return SizeAdvice(band.label, level, why, circumference_mm, alternative, range_mm, ())


def advise_size(measurement: FaceMeasurement, table: Sequence[SizeBand]) -> SizeAdvice:
    """Recommend a size for a measured face from its interval, carrying over its confidence."""
    return recommend_size(
        measurement.head_circumference_mm,
        table,
        confidence=measurement.confidence,
        reason=measurement.confidence_reason,
        range_mm=measurement.head_circumference_range_mm,
    )
