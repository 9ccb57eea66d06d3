// Live size advice (used by tryon.js, loaded before it): many frames' head-size estimates made
// into one range, and the size or sizes that range spans.
(function () {
  "use strict";

  // ---- combining live frames: as ar.headsize.combine_estimates and ar.sizing read a range -----
  const Z80 = 1.2815515655446008; // NormalDist().inv_cdf(0.9): an 80 % interval, two-sided
  const MEDIAN_EFFICIENCY = Math.sqrt(Math.PI / 2);
  const LEVELS = ["low", "medium", "high"];

  function median(values) {
    const sorted = [...values].sort((a, b) => a - b);
    const n = sorted.length;
    return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  // Only frame-to-frame jitter averages out; what every frame shares stays.
  function combineEstimates(list) {
    const centres = list.map((e) => e.mm);
    const centre = median(centres);
    const shared = median(list.map((e) => Math.sqrt(Math.max(e.sd * e.sd - e.frameSd * e.frameSd, 0))));
    let jitter = median(list.map((e) => e.frameSd));
    if (list.length >= 3) jitter = Math.max(jitter, median(centres.map((c) => Math.abs(c - centre))) * 1.4826);
    const frameSd = list.length > 1 ? (MEDIAN_EFFICIENCY * jitter) / Math.sqrt(list.length) : jitter;
    const sd = Math.hypot(shared, frameSd);
    return { mm: centre, low: centre - Z80 * sd, high: centre + Z80 * sd };
  }

  // One size when the whole range lies in it, else the sizes it spans (null: beyond the table).
  function adviseRange(estimate, latest, table) {
    const bands = [...(table || [])].sort((a, b) => a.min_mm - b.min_mm);
    const reached = bands.filter((b) => b.min_mm <= estimate.high && estimate.low < b.max_mm);
    if (!reached.length) return null;
    const distance = (b) =>
      b.min_mm <= estimate.mm && estimate.mm < b.max_mm ? 0 : Math.min(Math.abs(estimate.mm - b.min_mm), Math.abs(estimate.mm - b.max_mm));
    const band = reached.reduce((best, b) => (distance(b) < distance(best) ? b : best));
    const sizes = reached.map((b) => b.code);
    let fit = "high";
    let why = `the whole range lies within size ${band.code}`;
    if (sizes.length === 2) {
      fit = "medium";
      why = `the range spans sizes ${sizes[0]} and ${sizes[1]}`;
    } else if (sizes.length > 2) {
      fit = "low";
      why = `the range spans sizes ${sizes[0]} to ${sizes[sizes.length - 1]}`;
    }
    const measured = latest.measured_confidence || "high";
    const capped = LEVELS.indexOf(measured) < LEVELS.indexOf(fit);
    const others = reached.filter((b) => b !== band);
    return {
      size: band.code,
      label: band.label,
      confidence: capped ? measured : fit,
      reason: capped ? latest.measured_reason : why,
      head_circumference_mm: estimate.mm,
      head_circumference_range_mm: [estimate.low, estimate.high],
      sizes,
      summary: sizes.length > 1 ? `between ${sizes[0]} and ${sizes[sizes.length - 1]}: measure to be sure` : `size ${band.code}`,
      alternative: others.length ? others[0].code : null,
    };
  }

  window.DiademSize = { combineEstimates, adviseRange };
})();
