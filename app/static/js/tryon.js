// Try-on: a live mirror with the piece on your head, photos composited by the server, size advice.
//
// The camera's video is drawn on a canvas (mirrored), once per camera frame. Separately, small JPEG
// frames (at most 320 px wide) go to the server one at a time, never faster than it answers and at
// most 15 a second; each answer places the piece's band in that frame's pixels, and a One Euro
// filter steadies it. Between answers the piece follows the face: each drawn frame extrapolates
// the filtered placement at its filtered velocity (constant velocity) to that frame's time, and
// the next answer corrects it. Times are the camera frames' own (requestVideoFrameCallback's
// mediaTime): an answer is dated by the frame it was computed from, not by when it arrived, so
// the network's and a busy machine's delays drop out of the prediction.
(function () {
  "use strict";

  // On a product page: keep the "Try it on" link's metal in step with the metal picker.
  const tryonLink = document.querySelector("[data-tryon-link]");
  if (tryonLink) {
    const setMetal = (metal) => {
      if (!metal) return;
      const url = new URL(tryonLink.href, window.location.href);
      url.searchParams.set("metal", metal);
      tryonLink.href = url.pathname + url.search;
    };
    document.addEventListener("diadem:options", (event) => setMetal(event.detail && event.detail.metal));
    const metalPicker = document.getElementById("metal");
    if (metalPicker) metalPicker.addEventListener("change", () => setMetal(metalPicker.value));
  }

  const root = document.getElementById("tryon-app");
  if (!root) return;
  const data = JSON.parse(root.dataset.tryon);
  const $ = (id) => document.getElementById(id);
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrfToken = csrfMeta ? csrfMeta.content : "";

  const els = {
    live: $("tryon-live"), canvas: $("tryon-canvas"), video: $("tryon-video"), message: $("tryon-message"), status: $("tryon-status"),
    start: $("tryon-start"), stop: $("tryon-stop"), shoot: $("tryon-shoot"),
    piece: $("tryon-piece"), metal: $("tryon-metal"), pieceName: $("tryon-piece-name"),
    productLink: $("tryon-product-link"),
    photoForm: $("tryon-photo-form"), photoMetal: $("tryon-photo-metal"), photoError: $("tryon-photo-error"),
    photoSubmit: $("tryon-photo-submit"),
    result: $("tryon-result"), resultTitle: $("tryon-result-title"), resultImage: $("tryon-result-image"),
    download: $("tryon-download"), save: $("tryon-save"), saved: $("tryon-saved"), book: $("tryon-book"),
    saveError: $("tryon-save-error"),
    sizeEmpty: $("tryon-size-empty"), sizeDetails: $("tryon-size-details"),
    circumference: $("tryon-circumference"), sizeCode: $("tryon-size-code"), sizeLabel: $("tryon-size-label"),
    confidence: $("tryon-confidence"), reason: $("tryon-confidence-reason"),
    sizeLink: $("tryon-size-link"), sizeLinkCode: $("tryon-size-link-code"),
    range: $("tryon-range"), summary: $("tryon-size-summary-text"), measure: $("tryon-size-measure"),
    frames: $("tryon-frames"),
  };
  const ctx = els.canvas.getContext("2d");
  const { affine, bandLength } = window.DiademMotion;
  const { DiademSize } = window;
  const motion = new window.DiademMotion.Tracker();

  const NO_FACE = "We can’t see a face just now. Face the camera in good light, with your whole head in view.";
  const ON_HEAD = "The piece is on your head in the mirror; take a photo when you are ready.";
  const TOO_BIG = "That photo is over 8 MB. Please choose a smaller one (most phone photos are 2 to 5 MB).";

  const state = {
    piece: null, // {product, metal}
    overlay: null, // the current piece's PNG once loaded
    generation: 0,
    stream: null,
    streamId: null,
    running: false,
    session: 0, // one per camera start: loops from an earlier start stop themselves
    faces: [], // smoothed placements, canvas pixels
    misses: 0,
    placements: 0,
    answered: null, // the time of the newest answer's frame
    advice: [],
    pinnedAdvice: null, // advice from a full-size photo outranks live frames
    size: null,
    lastPhoto: null, // {blob, name, piece}: kept in memory only, to save on request
    resultUrl: null,
  };

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  // The words over the mirror, and what the live region (#tryon-status) tells a screen reader:
  // the same, or what the picture shows when nothing is written over it. Only changes are read.
  function say(text, spoken = text) {
    els.message.textContent = text;
    els.message.hidden = !text;
    if (els.status && els.status.textContent !== spoken) els.status.textContent = spoken;
  }

  // ---- choosing a piece and metal, in place --------------------------------------------------
  function productBySlug(slug) {
    return data.pieces.find((p) => p.slug === slug);
  }

  function selectPiece(slug, metalCode) {
    const product = productBySlug(slug);
    if (!product) return;
    const metal =
      product.metals.find((m) => m.code === metalCode) ||
      product.metals.find((m) => m.code === product.default_metal) ||
      product.metals[0];
    const productChanged = !state.piece || state.piece.product !== product;
    state.piece = { product, metal };
    state.generation += 1;
    state.overlay = null;
    state.faces = [];
    motion.reset();
    const generation = state.generation;
    const image = new Image();
    image.onload = () => {
      if (generation === state.generation) state.overlay = image;
    };
    image.src = metal.overlay_url;

    if (productChanged) {
      els.metal.replaceChildren(...product.metals.map((m) => new Option(m.name, m.code)));
    }
    els.piece.value = product.slug;
    els.metal.value = metal.code;
    els.pieceName.textContent = product.name;
    document.title = `Try on the ${product.name} · Diadem Atelier`;
    els.productLink.textContent = product.name;
    els.productLink.href = `${product.shop_url}?metal=${encodeURIComponent(metal.code)}`;
    els.photoForm.action = product.photo_url;
    els.photoMetal.value = metal.code;
    els.canvas.setAttribute("aria-label", `Your camera, mirrored, with the ${product.name} on your head`);
    window.history.replaceState(null, "", `${product.page_url}?metal=${encodeURIComponent(metal.code)}`);
    root.dataset.piece = `${product.slug}:${metal.code}`;
    updateSizeLink();
  }

  els.piece.addEventListener("change", () => {
    const product = productBySlug(els.piece.value);
    const keep = product && product.metals.some((m) => m.code === els.metal.value);
    selectPiece(els.piece.value, keep ? els.metal.value : null);
  });
  els.metal.addEventListener("change", () => selectPiece(state.piece.product.slug, els.metal.value));

  // ---- size advice ----------------------------------------------------------------------------
  function updateSizeLink() {
    if (!state.piece || !state.size) return;
    const params = new URLSearchParams({ size: state.size, metal: state.piece.metal.code });
    els.sizeLink.href = `${state.piece.product.shop_url}?${params}`;
    els.sizeLinkCode.textContent = state.size;
  }

  const cm = (mm) => (mm / 10).toFixed(1);

  function showAdvice(advice, frames) {
    els.sizeEmpty.hidden = true;
    els.sizeDetails.hidden = false;
    els.circumference.textContent = cm(advice.head_circumference_mm);
    const range = advice.head_circumference_range_mm;
    els.range.textContent = range ? `${cm(range[0])}–${cm(range[1])}` : "";
    const summary = advice.summary || `size ${advice.size}`;
    els.summary.textContent = summary.charAt(0).toUpperCase() + summary.slice(1);
    els.measure.hidden = !(advice.sizes && advice.sizes.length > 1);
    els.sizeCode.textContent = advice.size;
    els.sizeLabel.textContent = advice.label;
    els.confidence.textContent = advice.confidence;
    els.confidence.className = `status tryon-confidence-${advice.confidence}`;
    let reason = advice.reason;
    if (advice.alternative && !(advice.sizes && advice.sizes.length > 1)) reason += `; size ${advice.alternative} may fit too`;
    els.reason.textContent = `(${reason})`;
    els.frames.hidden = !frames;
    els.frames.textContent = frames
      ? `Combined from the last ${frames} frames: hold still and the range narrows.`
      : "";
    root.dataset.adviceFrames = String(frames || 0);
    state.size = advice.size;
    updateSizeLink();
  }

  const LIVE_WINDOW = 30; // answers, about two seconds

  // Live frames are small and noisy: combine the last answers (median and spread) so the range
  // narrows while the buyer holds still.
  function recordLiveAdvice(advice) {
    if (state.pinnedAdvice) return;
    if (advice.sd_mm == null) {
      showAdvice(advice, 0);
      return;
    }
    state.advice.push({ mm: advice.head_circumference_mm, sd: advice.sd_mm, frameSd: advice.frame_sd_mm });
    if (state.advice.length > LIVE_WINDOW) state.advice.shift();
    const combined = DiademSize.adviseRange(DiademSize.combineEstimates(state.advice), advice, data.sizes);
    showAdvice(combined || advice, state.advice.length > 1 ? state.advice.length : 0);
  }

  // ---- the live mirror --------------------------------------------------------------------
  // Where the browser reports each camera frame (requestVideoFrameCallback), the mirror is drawn
  // once per frame, at that frame's media time, and frames for the server are taken in the same
  // callback, so an answer's time is exactly its frame's. Elsewhere the mirror is drawn on every
  // animation frame and performance.now() stands in for both.
  const FRAME_CALLBACKS = "requestVideoFrameCallback" in HTMLVideoElement.prototype;
  const FRAME_SLACK = 0.005; // seconds
  let grabs = []; // takers waiting for the next camera frame

  function drawMirror(time) {
    const { canvas, video } = els;
    if (video.readyState < 2) return;
    const W = canvas.width;
    ctx.setTransform(-1, 0, 0, 1, W, 0); // mirror
    ctx.drawImage(video, 0, 0, W, canvas.height);
    // data-predict="off" on the app shows the last answer as it is (to measure the gain).
    const predicted = root.dataset.predict !== "off";
    if (state.overlay && state.faces.length) {
      const spec = state.piece.metal.spec;
      const faces = predicted ? motion.predict(time, bandLength(spec)) : state.faces;
      for (const face of faces) {
        const [a, b, c, d, e, f] = affine(face, spec);
        ctx.setTransform(-a, b, -c, d, W - e, f); // the same mirror after the placement
        ctx.drawImage(state.overlay, 0, 0);
      }
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    // For whoever measures the mirror (the lag test): what was just drawn, for when, and how old
    // the newest answer's frame is (seconds).
    const age = state.answered === null ? null : time - state.answered;
    root.dispatchEvent(new CustomEvent("diadem:mirror", { detail: { time, predicted, age } }));
  }

  function draw(session) {
    if (!state.running || session !== state.session) return;
    if (FRAME_CALLBACKS) {
      els.video.requestVideoFrameCallback((now, frame) => {
        if (!state.running || session !== state.session) return;
        grabs = grabs.filter((take) => !take(frame.mediaTime));
        drawMirror(frame.mediaTime);
        draw(session);
      });
    } else {
      drawMirror(performance.now() / 1000);
      window.requestAnimationFrame(() => draw(session));
    }
  }

  // Copy the first camera frame taken at notBefore or later (seconds) onto a canvas; resolve with
  // its time (null: none came within a second, e.g. the camera stopped).
  async function grabFrame(target, notBefore) {
    const copy = () => target.getContext("2d").drawImage(els.video, 0, 0, target.width, target.height);
    if (!FRAME_CALLBACKS) {
      const wait = notBefore - performance.now() / 1000;
      if (wait > 0) await sleep(wait * 1000);
      copy();
      return performance.now() / 1000;
    }
    return new Promise((resolve) => {
      const take = (time) => {
        if (time < notBefore) return false;
        copy();
        resolve(time);
        return true;
      };
      grabs.push(take);
      setTimeout(() => {
        if (!grabs.includes(take)) return;
        grabs = grabs.filter((t) => t !== take);
        resolve(null);
      }, 1000);
    });
  }

  function onPose(answer, timestamp) {
    state.answered = timestamp;
    const faces = (answer.faces || []).filter((f) => f.band_left && f.band_right);
    if (!faces.length) {
      state.faces = [];
      motion.reset();
      state.misses += 1;
      // Whoever steps back in may be someone else: their frames start a new estimate.
      if (state.misses >= 2) state.advice = [];
      // One miss is often a blink of the detector; two in a row means nobody is there.
      if (state.misses >= 2) {
        say(NO_FACE);
        root.dataset.noFace = "1";
      }
      return;
    }
    state.misses = 0;
    delete root.dataset.noFace;
    say("", ON_HEAD);
    const sx = els.canvas.width / answer.frame.width;
    const sy = els.canvas.height / answer.frame.height;
    const raw = faces.map((f) => {
      const left = [(f.band_left[0] + 0.5) * sx, (f.band_left[1] + 0.5) * sy];
      const right = [(f.band_right[0] + 0.5) * sx, (f.band_right[1] + 0.5) * sy];
      const length = bandLength(state.piece.metal.spec);
      const up = f.up
        ? [f.up[0] * sx, f.up[1] * sy]
        : [(right[1] - left[1]) / length, -(right[0] - left[0]) / length];
      return { left, right, up };
    });
    state.faces = motion.smooth(raw, timestamp, bandLength(state.piece.metal.spec));
    state.placements += 1;
    root.dataset.placements = String(state.placements);
    if (answer.size_advice) recordLiveAdvice(answer.size_advice);
  }

  function newStreamId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function poseLoop(session) {
    // Never more than frames_per_second: the next frame sent is one taken at least this long
    // (less a few milliseconds of the camera's jitter) after the last one, and it leaves no
    // sooner than that after the last request either.
    const minInterval = 1000 / data.limits.frames_per_second;
    const small = document.createElement("canvas");
    let lastFrame = -Infinity;
    let lastSent = -Infinity;
    while (state.running && session === state.session) {
      const { video } = els;
      if (document.hidden || !state.piece || video.readyState < 2 || !video.videoWidth) {
        await sleep(200);
        continue;
      }
      const piece = state.piece;
      const width = Math.min(data.limits.frame_width, video.videoWidth);
      small.width = width;
      small.height = Math.round((video.videoHeight * width) / video.videoWidth);
      const frameTime = await grabFrame(small, lastFrame + minInterval / 1000 - FRAME_SLACK);
      if (frameTime === null || !state.running || session !== state.session) continue;
      lastFrame = frameTime;
      const blob = await new Promise((resolve) => small.toBlob(resolve, "image/jpeg", 0.8));
      // The JPEG itself is the body and the piece rides in the query: nothing for the server to
      // unpack. (An image/jpeg body cannot be sent cross-site without a CORS preflight.)
      const query = new URLSearchParams({
        product: piece.product.slug,
        metal: piece.metal.code,
        stream: state.streamId,
      });
      let pause = 0;
      const due = lastSent + minInterval - performance.now();
      if (due > 0) await sleep(due);
      lastSent = performance.now();
      try {
        // Awaiting the answer before the next frame: never faster than the server answers.
        const response = await fetch(`${data.urls.pose}?${query}`, {
          method: "POST",
          body: blob,
          credentials: "same-origin",
          headers: { Accept: "application/json", "Content-Type": blob.type || "image/jpeg" },
        });
        if (response.status === 429) {
          pause = 1000;
        } else {
          const answer = await response.json();
          if (!response.ok) {
            say(answer.error || "The try-on is not answering; trying again.");
            pause = 2000;
          } else if (state.running && session === state.session && piece === state.piece) {
            onPose(answer, frameTime);
          }
        }
      } catch (err) {
        say("We lost touch with the shop; trying again…");
        pause = 2000;
      }
      if (pause) await sleep(pause);
    }
  }

  async function startCamera() {
    els.start.disabled = true;
    say("Asking for your camera…");
    try {
      state.stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 720 } },
        audio: false,
      });
    } catch (err) {
      els.start.disabled = false;
      say(
        err && err.name === "NotAllowedError"
          ? "The camera is off because permission was not given. You can still try the piece on a photo below."
          : "We could not start a camera. You can still try the piece on a photo below.",
      );
      return;
    }
    els.video.srcObject = state.stream;
    try {
      await els.video.play();
    } catch (err) {
      // Autoplay of a muted stream is allowed; if not, frames still arrive once data loads.
    }
    if (!els.video.videoWidth) {
      await new Promise((resolve) => els.video.addEventListener("loadedmetadata", resolve, { once: true }));
    }
    els.canvas.width = els.video.videoWidth;
    els.canvas.height = els.video.videoHeight;
    state.running = true;
    state.session += 1;
    // The shop tracks this stream's face from frame to frame; a new start is a new stream.
    state.streamId = newStreamId();
    state.misses = 0;
    state.answered = null;
    els.start.hidden = true;
    els.start.disabled = false;
    els.stop.hidden = false;
    els.shoot.disabled = false;
    say("Looking for your face…");
    const session = state.session;
    draw(session);
    poseLoop(session);
  }

  function stopCamera() {
    state.running = false;
    if (state.stream) state.stream.getTracks().forEach((track) => track.stop());
    state.stream = null;
    els.video.srcObject = null;
    state.faces = [];
    motion.reset();
    ctx.clearRect(0, 0, els.canvas.width, els.canvas.height);
    els.stop.hidden = true;
    els.start.hidden = false;
    els.shoot.disabled = true;
    say("The camera is off.");
  }

  // ---- photos: snapshots of the live view and uploaded photos ------------------------------
  async function sendPicture(piece, blob, filename, save) {
    const body = new FormData();
    body.append("image", blob, filename);
    body.append("product", piece.product.slug);
    body.append("metal", piece.metal.code);
    if (save) body.append("save", "y");
    try {
      const response = await fetch(data.urls.snapshot, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken, Accept: "application/json" },
      });
      let answer;
      try {
        answer = await response.json();
      } catch (err) {
        answer = { error: "Something went wrong; please try again." };
      }
      return { ok: response.ok, answer };
    } catch (err) {
      return { ok: false, answer: { error: "We could not reach the shop; check your connection." } };
    }
  }

  function dataUrlToBlob(url) {
    const [head, payload] = url.split(",", 2);
    const type = head.slice(5).split(";")[0];
    const bytes = atob(payload);
    const array = new Uint8Array(bytes.length);
    for (let i = 0; i < bytes.length; i += 1) array[i] = bytes.charCodeAt(i);
    return new Blob([array], { type });
  }

  function showResult(answer, original, piece, focus) {
    if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
    state.resultUrl = URL.createObjectURL(dataUrlToBlob(answer.image));
    els.resultImage.src = state.resultUrl;
    els.resultImage.width = answer.frame.width;
    els.resultImage.height = answer.frame.height;
    els.resultImage.alt = `You wearing the ${piece.product.name} in ${piece.metal.name.toLowerCase()}`;
    els.download.href = state.resultUrl;
    els.download.download = answer.download_name;
    els.result.hidden = false;
    els.saved.hidden = true;
    els.saveError.hidden = true;
    state.lastPhoto = { blob: original.blob, name: original.name, piece };
    if (els.save) {
      els.save.hidden = false;
      els.save.disabled = false;
    }
    if (answer.size_advice) {
      state.pinnedAdvice = answer.size_advice;
      showAdvice(answer.size_advice);
    }
    if (answer.snapshot) showSaved(answer.snapshot);
    if (focus) els.resultTitle.focus();
  }

  function showSaved(snapshot) {
    els.saved.hidden = false;
    if (els.save) els.save.hidden = true;
    if (els.book && snapshot.consultation_url) els.book.href = snapshot.consultation_url;
  }

  async function takePhoto() {
    if (!state.running || !els.video.videoWidth) return;
    els.shoot.disabled = true;
    const full = document.createElement("canvas");
    full.width = els.video.videoWidth;
    full.height = els.video.videoHeight;
    const fullCtx = full.getContext("2d");
    // The photo shows what the mirror showed; the server then places the piece on it.
    fullCtx.setTransform(-1, 0, 0, 1, full.width, 0);
    fullCtx.drawImage(els.video, 0, 0);
    const blob = await new Promise((resolve) => full.toBlob(resolve, "image/jpeg", 0.92));
    const piece = state.piece;
    const { ok, answer } = await sendPicture(piece, blob, "camera.jpg", false);
    els.shoot.disabled = !state.running;
    if (!ok) {
      say(answer.error);
      return;
    }
    showResult(answer, { blob, name: "camera.jpg" }, piece, false);
  }

  async function savePhoto() {
    if (!state.lastPhoto) return;
    els.save.disabled = true;
    const { blob, name, piece } = state.lastPhoto;
    const { ok, answer } = await sendPicture(piece, blob, name, true);
    if (!ok) {
      els.saveError.textContent = answer.error;
      els.saveError.hidden = false;
      els.save.disabled = false;
      return;
    }
    els.saveError.hidden = true;
    showSaved(answer.snapshot);
  }

  function photoError(text) {
    els.photoError.textContent = text;
    els.photoError.hidden = !text;
  }

  els.photoForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = els.photoForm.querySelector('input[type="file"]');
    const saveBox = els.photoForm.querySelector('input[name="save"]');
    const file = input.files && input.files[0];
    if (!file) {
      photoError("Choose a photo to upload.");
      return;
    }
    if (file.size > data.limits.max_photo_bytes) {
      photoError(TOO_BIG);
      return;
    }
    photoError("");
    els.photoSubmit.disabled = true;
    const piece = state.piece;
    const { ok, answer } = await sendPicture(piece, file, file.name, Boolean(saveBox && saveBox.checked));
    els.photoSubmit.disabled = false;
    if (!ok) {
      photoError(answer.error);
      return;
    }
    showResult(answer, { blob: file, name: file.name }, piece, true);
  });

  if (els.save) els.save.addEventListener("click", savePhoto);
  els.start.addEventListener("click", startCamera);
  els.stop.addEventListener("click", stopCamera);
  els.shoot.addEventListener("click", takePhoto);

  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) els.live.hidden = false;
  selectPiece(data.current.product, data.current.metal);
  root.dataset.ready = "1";
})();
