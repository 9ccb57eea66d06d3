// The live try-on's motion model (used by tryon.js, loaded before it): the One Euro filter on
// each face's placement between server answers, the prediction that carries the piece to the
// frame being drawn, and the affine that lays the piece's PNG on a placement.
(function () {
  "use strict";

  // Prediction never runs further ahead than this (seconds): a stalled answer must not send the
  // piece off across the screen.
  const MAX_PREDICTION = 0.25;
  // The One Euro filter on each placement (centre and size in band widths, angle in radians):
  // a 1 Hz cut-off when the head is still, rising by 5 Hz per band width a second of movement,
  // with its speed estimate smoothed at 1 Hz.
  const ONE_EURO = { minCutoff: 1.0, beta: 5.0, dCutoff: 1.0 };
  // Hz: the velocity (steps between answers) is smoothed by a plain low-pass at this cut-off.
  const VELOCITY_CUTOFF = 5.0;
  // Band widths a second: slower than this is taken for jitter more than movement.
  const REST_SPEED = 0.1;

  // ---- One Euro filter (Casiez, Roussel & Vogel, CHI 2012), on arrays ---------------------
  function alpha(cutoff, dt) {
    const tau = 1 / (2 * Math.PI * cutoff);
    return 1 / (1 + tau / dt);
  }

  class OneEuroFilter {
    constructor(minCutoff, beta, dCutoff) {
      this.minCutoff = minCutoff;
      this.beta = beta;
      this.dCutoff = dCutoff;
      this.value = null;
      this.speed = null;
      this.time = 0;
    }

    filter(x, t) {
      if (this.value === null) {
        this.value = x.slice();
        this.speed = x.map(() => 0);
        this.lag = x.map(() => 0);
        this.time = t;
        return x.slice();
      }
      const dt = Math.max(t - this.time, 1e-3);
      const ad = alpha(this.dCutoff, dt);
      this.speed = x.map((v, i) => ad * ((v - this.value[i]) / dt) + (1 - ad) * this.speed[i]);
      this.value = x.map((v, i) => {
        const cutoff = this.minCutoff + this.beta * Math.abs(this.speed[i]);
        // A first-order low-pass trails a steady motion by its time constant.
        this.lag[i] = 1 / (2 * Math.PI * cutoff);
        const a = alpha(cutoff, dt);
        return a * v + (1 - a) * this.value[i];
      });
      this.time = Math.max(t, this.time);
      return this.value.slice();
    }
  }

  // Positions are filtered in units of the band's width, so one setting suits near and far faces.
  // Each track keeps the filtered state, its velocity (a second One Euro filter on the steps
  // between answers) and when the frame was taken, for predict() to extrapolate from.
  function smooth(raw, t, bandLength) {
    raw.forEach((face, i) => {
      const cx = (face.left[0] + face.right[0]) / 2;
      const cy = (face.left[1] + face.right[1]) / 2;
      const dx = face.right[0] - face.left[0];
      const dy = face.right[1] - face.left[1];
      const width = Math.hypot(dx, dy);
      let angle = Math.atan2(dy, dx);
      let track = this.tracks[i];
      if (!track || Math.hypot(cx - track.cx, cy - track.cy) > track.width) {
        track = {
          filter: new OneEuroFilter(ONE_EURO.minCutoff, ONE_EURO.beta, ONE_EURO.dCutoff),
          velocity: new OneEuroFilter(VELOCITY_CUTOFF, 0, 1.0),
          ref: width, cx, cy, width, angle, v: null, measured: null, vel: [0, 0, 0, 0, 0, 0], t,
        };
        this.tracks[i] = track;
      }
      angle += 2 * Math.PI * Math.round((track.angle - angle) / (2 * Math.PI));
      const ref = track.ref;
      const measured = [cx / ref, cy / ref, angle, Math.log(width / ref), (face.up[0] * bandLength) / ref, (face.up[1] * bandLength) / ref];
      const v = track.filter.filter(measured, t);
      // Velocity from the answers themselves: differences of the filtered values would trail
      // by the filter's lag once more.
      if (track.measured && t > track.t) {
        track.vel = track.velocity.filter(measured.map((x, k) => (x - track.measured[k]) / (t - track.t)), t);
      }
      track.measured = measured;
      track.v = v;
      track.t = t;
      track.cx = v[0] * ref;
      track.cy = v[1] * ref;
      track.width = Math.exp(v[3]) * ref;
      track.angle = v[2];
    });
    this.tracks.length = raw.length;
    return this.tracks.map((track) => placementFrom(track, track.v, bandLength));
  }

  function placementFrom(track, v, bandLength) {
    const ref = track.ref;
    const c = [v[0] * ref, v[1] * ref];
    const w = Math.exp(v[3]) * ref;
    const half = [(Math.cos(v[2]) * w) / 2, (Math.sin(v[2]) * w) / 2];
    return {
      left: [c[0] - half[0], c[1] - half[1]],
      right: [c[0] + half[0], c[1] + half[1]],
      up: [(v[4] * ref) / bandLength, (v[5] * ref) / bandLength],
    };
  }

  // Where each face's piece is at time now (seconds on the frames' clock): the filtered placement
  // moved on at its velocity for the time since its frame was taken, plus the filter's own lag.
  // Only position, angle and width move; the seat's tilt (up) is held.
  function predict(now, bandLength) {
    return this.tracks.map((track) => {
      // A head held still shows only the landmarks' jitter as speed: fade the prediction out
      // below REST_SPEED so the piece stays as steady as the One Euro filter keeps it.
      const speed2 = track.vel[0] ** 2 + track.vel[1] ** 2;
      const gain = speed2 / (speed2 + REST_SPEED ** 2);
      const ahead = track.v.map((x, k) => {
        if (k > 3) return x;
        const horizon = Math.min(Math.max(now - track.t, 0) + track.filter.lag[k], MAX_PREDICTION);
        return x + gain * track.vel[k] * horizon;
      });
      return placementFrom(track, ahead, bandLength);
    });
  }

  // The 2x3 affine (canvas setTransform order a, b, c, d, e, f) taking the PNG's pixels onto the
  // frame so the spec's band lands on left..right, as ar.placement.placement_from_band does.
  // Canvas pixels are edge-based; ar's are centre-based, hence the half-pixel shifts.
  function affine(face, spec) {
    const px = spec.band_left[0] + 0.5;
    const py = spec.band_left[1] + 0.5;
    const ax = spec.band_right[0] - spec.band_left[0];
    const ay = spec.band_right[1] - spec.band_left[1];
    const len = Math.hypot(ax, ay);
    const ux = ax / len;
    const uy = ay / len;
    const pux = uy; // PNG direction towards the piece's top
    const puy = -ux;
    const dx = face.right[0] - face.left[0];
    const dy = face.right[1] - face.left[1];
    const a = (dx * ux) / len + face.up[0] * pux;
    const c = (dx * uy) / len + face.up[0] * puy;
    const b = (dy * ux) / len + face.up[1] * pux;
    const d = (dy * uy) / len + face.up[1] * puy;
    return [a, b, c, d, face.left[0] - (a * px + c * py), face.left[1] - (b * px + d * py)];
  }

  function bandLength(spec) {
    return Math.hypot(spec.band_right[0] - spec.band_left[0], spec.band_right[1] - spec.band_left[1]);
  }

  // One per live session: each face's track, filtered and ready to predict from.
  class Tracker {
    constructor() {
      this.tracks = [];
    }

    reset() {
      this.tracks = [];
    }

    smooth(raw, t, length) {
      return smooth.call(this, raw, t, length);
    }

    predict(now, length) {
      return predict.call(this, now, length);
    }
  }

  window.DiademMotion = { Tracker, affine, bandLength };
})();
