"""Estimate head circumference, with an 80 % interval, from the face's breadth in a picture.

The estimate is a linear regression of head circumference on bizygomatic breadth, derived in
this module from published anthropometric summary statistics rather than fitted to our own
photos. Source: Gordon C.C. et al. (2014), *2012 Anthropometric Survey of U.S. Army Personnel:
Methods and Summary Statistics* (ANSUR II), Natick/TR-15/007, 4,082 men and 1,986 women.

Figures used (mm, mean and standard deviation per sex):

=========================  ==============  ==============  =====================================
measure                    men             women           provenance
=========================  ==============  ==============  =====================================
head circumference         574.4 (16.0)    561.1 (19.4)    the public ANSUR II working files
                                                           (same 4,082 / 1,986), as summarised
                                                           in a data-source review we read
bizygomatic breadth        143 (6.0)       134 (5.5)       ANSUR II summary, rounded, recalled
interpupillary breadth     64.5 (3.5)      62.5 (3.5)      ANSUR II summary, rounded, recalled
=========================  ==============  ==============  =====================================

These were written down without access to the report: the circumference figures come from a
third party's summary of the public data files, the breadths are rounded recollections of the
published tables. Check them against the report before relying on the third significant
figure; the interval below is wide enough that a millimetre either way barely moves it.

Assumptions that are ours, not ANSUR's:

* Within each sex, head circumference and bizygomatic breadth correlate with r = 0.5
  (moderate: a broad face predicts a large head only loosely).
* Men and women are pooled with equal weight (the Army's 2:1 is not the atelier's clientele);
  pooled means, variances and the covariance include the difference between the sexes.
* The face mesh's outline at the temples (landmarks 234-454) stands in for bizygomatic breadth
  with a 3 % error of its own (hair, soft tissue, where the outline falls).
* The horizontal visible iris diameter is 11.7 +- 0.5 mm across adults (the figure MediaPipe
  Iris is built on: Ablavatski et al. 2020); with no usable iris, the eye spacing is assumed
  to be the pooled ANSUR mean, with the pooled spread.
* MediaPipe's depth is about 10 % off, which matters as a turned head's breadth is corrected
  for foreshortening; landmarks jitter by about a quarter of a pixel between frames.

The measured breadth's errors are propagated through the regression slope: the interval is
the regression's own residual plus the measurement's, so it is wider with eye spacing than with
the iris, and wider with the head turned. ``frame_sd_mm`` is the part that averages out over
frames (landmark jitter); the rest (``sd_mm`` minus it) does not, so a live estimate narrows
towards a floor of about +-2.5 cm, never below it: a camera cannot replace a tape measure.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Measure:
    """Mean and standard deviation of one measure for one sex, in mm."""

    mean: float
    sd: float


# ANSUR II (Gordon et al. 2014); see the module docstring for each figure's provenance.
HEAD_CIRCUMFERENCE = {"men": Measure(574.4, 16.0), "women": Measure(561.1, 19.4)}
BIZYGOMATIC_BREADTH = {"men": Measure(143.0, 6.0), "women": Measure(134.0, 5.5)}
INTERPUPILLARY_BREADTH = {"men": Measure(64.5, 3.5), "women": Measure(62.5, 3.5)}
# Assumed within-sex correlation of head circumference with bizygomatic breadth.
CIRCUMFERENCE_BREADTH_CORRELATION = 0.5
IRIS_DIAMETER = Measure(11.7, 0.5)
# Our assumptions (see the module docstring).
PROXY_RELATIVE_ERROR = 0.03
DEPTH_RELATIVE_ERROR = 0.10
LANDMARK_JITTER_PX = 0.25
INTERVAL = 0.80


def _pooled(by_sex: dict[str, Measure]) -> Measure:
    """Mean and SD of an equal mixture of the sexes."""
    means = [m.mean for m in by_sex.values()]
    mean = statistics.fmean(means)
    variance = statistics.fmean(m.sd**2 + (m.mean - mean) ** 2 for m in by_sex.values())
    return Measure(mean, math.sqrt(variance))


def _pooled_covariance() -> float:
    c_mean = _pooled(HEAD_CIRCUMFERENCE).mean
    b_mean = _pooled(BIZYGOMATIC_BREADTH).mean
    r = CIRCUMFERENCE_BREADTH_CORRELATION
    return statistics.fmean(
        r * c.sd * b.sd + (c.mean - c_mean) * (b.mean - b_mean)
        for c, b in zip(HEAD_CIRCUMFERENCE.values(), BIZYGOMATIC_BREADTH.values(), strict=True)
    )


@dataclass(frozen=True)
class Regression:
    """Head circumference = intercept + slope x bizygomatic breadth, give or take residual_sd."""

    intercept: float
    slope: float
    residual_sd: float


def derive_regression() -> Regression:
    """Derive the pooled regression of circumference on bizygomatic breadth from the figures."""
    circumference, breadth = _pooled(HEAD_CIRCUMFERENCE), _pooled(BIZYGOMATIC_BREADTH)
    covariance = _pooled_covariance()
    slope = covariance / breadth.sd**2
    residual = circumference.sd**2 - covariance**2 / breadth.sd**2
    return Regression(circumference.mean - slope * breadth.mean, slope, math.sqrt(residual))


REGRESSION = derive_regression()


def published_figures() -> list[tuple[str, Measure, Measure]]:
    """Return (measure, men, women) for each ANSUR II figure used, for the fit guide."""
    return [
        ("Head circumference", HEAD_CIRCUMFERENCE["men"], HEAD_CIRCUMFERENCE["women"]),
        ("Bizygomatic (face) breadth", BIZYGOMATIC_BREADTH["men"], BIZYGOMATIC_BREADTH["women"]),
        ("Interpupillary breadth", INTERPUPILLARY_BREADTH["men"], INTERPUPILLARY_BREADTH["women"]),
    ]


TYPICAL_IPD = _pooled(INTERPUPILLARY_BREADTH)
# Two-sided: the interval leaves (1 - INTERVAL) / 2 below and as much above.
Z_INTERVAL = statistics.NormalDist().inv_cdf(0.5 + INTERVAL / 2)


@dataclass(frozen=True)
class CircumferenceEstimate:
    """A head circumference estimate and its 80 % interval, in mm.

    ``sd_mm`` is the whole predictive standard deviation; ``frame_sd_mm`` the part of it that
    is one frame's landmark jitter, which averaging frames reduces.
    """

    mm: float
    low_mm: float
    high_mm: float
    sd_mm: float
    frame_sd_mm: float

    @property
    def range_mm(self) -> tuple[float, float]:
        """Return (low, high)."""
        return self.low_mm, self.high_mm


def _estimate(mm: float, sd: float, frame_sd: float) -> CircumferenceEstimate:
    half = Z_INTERVAL * sd
    return CircumferenceEstimate(mm, mm - half, mm + half, sd, frame_sd)


def estimate_circumference(
    breadth_mm: float,
    *,
    scale_source: Literal["iris", "ipd"],
    scale_px: float,
    breadth_px: float,
    turn_deg: float,
) -> CircumferenceEstimate:
    """Estimate circumference from the measured breadth and how it was measured.

    Args:
        scale_source: "iris" (scale from the iris diameter) or "ipd" (assumed eye spacing).
        scale_px: the length the scale came from, in pixels (the iris diameter or the eye
            spacing, averaged over two irises for "iris").
        breadth_px: the breadth in pixels.
        turn_deg: how far the head is turned from the camera (the larger of yaw and pitch).
    """
    if not (math.isfinite(breadth_mm) and breadth_mm > 0 and scale_px > 0 and breadth_px > 0):
        raise ValueError("breadth and pixel lengths must be positive")
    if scale_source == "iris":
        scale_sd = IRIS_DIAMETER.sd / IRIS_DIAMETER.mean
        # Two irises, each read from two jittering edge points.
        scale_jitter = LANDMARK_JITTER_PX / scale_px
    else:
        scale_sd = TYPICAL_IPD.sd / TYPICAL_IPD.mean
        scale_jitter = LANDMARK_JITTER_PX * math.sqrt(2) / scale_px
    turn = math.sin(math.radians(min(abs(turn_deg), 90.0)))
    systematic = math.hypot(scale_sd, PROXY_RELATIVE_ERROR, DEPTH_RELATIVE_ERROR * turn)
    jitter = math.hypot(scale_jitter, LANDMARK_JITTER_PX * math.sqrt(2) / breadth_px)
    slope = REGRESSION.slope
    frame_sd = slope * breadth_mm * jitter
    sd = math.sqrt(REGRESSION.residual_sd**2 + (slope * breadth_mm * systematic) ** 2 + frame_sd**2)
    return _estimate(REGRESSION.intercept + slope * breadth_mm, sd, frame_sd)


# The median of n values scatters about 1.25 times as much as their mean (normal samples).
_MEDIAN_EFFICIENCY = math.sqrt(math.pi / 2)


def combine_estimates(estimates: Sequence[CircumferenceEstimate]) -> CircumferenceEstimate:
    """Combine one customer's estimates from many frames: the median, with a narrower interval.

    Only frame-to-frame jitter averages out: its size is the larger of what the model expects
    and what the frames show (their spread), divided by the square root of their number. What
    every frame shares (the regression's residual, the scale's assumption) stays.
    """
    if not estimates:
        raise ValueError("no estimates to combine")
    centres = [e.mm for e in estimates]
    centre = statistics.median(centres)
    shared = statistics.median(
        math.sqrt(max(e.sd_mm**2 - e.frame_sd_mm**2, 0.0)) for e in estimates
    )
    jitter = statistics.median(e.frame_sd_mm for e in estimates)
    if len(estimates) >= 3:
        # Median absolute deviation, scaled to a standard deviation for normal data.
        mad = statistics.median(abs(c - centre) for c in centres) * 1.4826
        jitter = max(jitter, mad)
    frame_sd = (
        _MEDIAN_EFFICIENCY * jitter / math.sqrt(len(estimates)) if len(estimates) > 1 else jitter
    )
    return _estimate(centre, math.hypot(shared, frame_sd), frame_sd)
