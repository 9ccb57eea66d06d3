// Staff calibration of a try-on overlay: drag the band's two ends, preview on a face.
// Without this script the numeric inputs and the form's buttons do everything (the preview
// then opens in a new tab); with it the handles follow pointers and arrow keys, the inputs and
// handles stay in step, and previews appear on the page.
(function () {
  "use strict";

  const form = document.getElementById("calibration-form");
  const stage = document.getElementById("overlay-stage");
  if (!form || !stage) return;

  const width = Number(stage.dataset.width);
  const height = Number(stage.dataset.height);
  const line = document.getElementById("overlay-band-line");
  const handles = {
    left: document.getElementById("handle-left"),
    right: document.getElementById("handle-right"),
  };
  const inputs = {
    left: { x: form.elements.band_left_x, y: form.elements.band_left_y },
    right: { x: form.elements.band_right_x, y: form.elements.band_right_y },
  };
  const names = { left: "Left", right: "Right" };
  const ends = { left: { x: 0, y: 0 }, right: { x: 0, y: 0 } };

  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const tenth = (v) => Math.round(v * 10) / 10;

  function readInputs() {
    for (const end of ["left", "right"]) {
      for (const axis of ["x", "y"]) {
        const value = parseFloat(inputs[end][axis].value);
        if (Number.isFinite(value)) ends[end][axis] = value;
      }
    }
  }

  function draw() {
    for (const end of ["left", "right"]) {
      const { x, y } = ends[end];
      // Pixel centres are at integers: x = 0 is half a pixel in from the picture's edge.
      handles[end].style.left = ((x + 0.5) / width) * 100 + "%";
      handles[end].style.top = ((y + 0.5) / height) * 100 + "%";
      handles[end].setAttribute(
        "aria-label",
        `${names[end]} end of the band at x ${tenth(x)}, y ${tenth(y)}; ` +
          "arrow keys move it, Shift for 10 pixels"
      );
    }
    line.setAttribute("x1", ends.left.x);
    line.setAttribute("y1", ends.left.y);
    line.setAttribute("x2", ends.right.x);
    line.setAttribute("y2", ends.right.y);
  }

  // The refusal shown by the server was about the band as it was then: once staff move it, the
  // message is greyed (not removed: the picture must not shift under a dragging pointer) and the
  // fields are no longer marked wrong.
  const problem = document.getElementById("calibration-error");
  let problemStale = false;
  function clearProblem() {
    if (!problem || problemStale) return;
    problemStale = true;
    problem.classList.add("overlay-error-stale");
    problem.removeAttribute("role");
    form.querySelectorAll("[aria-invalid]").forEach((input) => {
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
      const field = input.closest(".has-error");
      if (field) field.classList.remove("has-error");
    });
  }

  function move(end, x, y) {
    clearProblem();
    ends[end].x = tenth(clamp(x, 0, width - 1));
    ends[end].y = tenth(clamp(y, 0, height - 1));
    inputs[end].x.value = ends[end].x;
    inputs[end].y.value = ends[end].y;
    draw();
  }

  function pictureCoordinates(event) {
    const box = stage.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) / box.width) * width - 0.5,
      y: ((event.clientY - box.top) / box.height) * height - 0.5,
    };
  }

  // --- dragging: a handle, or the nearer one when the picture itself is pressed ---
  let dragging = null;

  function startDrag(end, event) {
    dragging = end;
    handles[end].classList.add("dragging");
    stage.setPointerCapture(event.pointerId);
    const p = pictureCoordinates(event);
    if (event.target === stage || event.target.tagName === "IMG") move(end, p.x, p.y);
    handles[end].focus({ preventScroll: true });
    event.preventDefault();
  }

  stage.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    const handle = event.target.closest(".overlay-handle");
    if (handle) {
      startDrag(handle.dataset.end, event);
      return;
    }
    const p = pictureCoordinates(event);
    const d = (end) => Math.hypot(ends[end].x - p.x, ends[end].y - p.y);
    startDrag(d("left") <= d("right") ? "left" : "right", event);
  });
  stage.addEventListener("pointermove", (event) => {
    if (!dragging) return;
    const p = pictureCoordinates(event);
    move(dragging, p.x, p.y);
  });
  const stopDrag = (event) => {
    if (!dragging) return;
    handles[dragging].classList.remove("dragging");
    dragging = null;
    if (stage.hasPointerCapture(event.pointerId)) stage.releasePointerCapture(event.pointerId);
  };
  stage.addEventListener("pointerup", stopDrag);
  stage.addEventListener("pointercancel", stopDrag);

  // --- keyboard: arrow keys move the focused handle ---
  const STEPS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  for (const end of ["left", "right"]) {
    handles[end].addEventListener("keydown", (event) => {
      const step = STEPS[event.key];
      if (!step) return;
      const by = event.shiftKey ? 10 : 1;
      move(end, ends[end].x + step[0] * by, ends[end].y + step[1] * by);
      event.preventDefault();
    });
  }

  for (const end of ["left", "right"]) {
    for (const axis of ["x", "y"]) {
      inputs[end][axis].addEventListener("input", () => {
        clearProblem();
        readInputs();
        draw();
      });
    }
  }

  // --- preview on the page ---
  const previewUrl = form.dataset.previewUrl;
  const photoInput = document.getElementById("preview-photo");
  const status = document.getElementById("preview-status");
  const errorBox = document.getElementById("preview-error");
  const figure = document.getElementById("preview-figure");
  const image = document.getElementById("preview-image");
  const caption = document.getElementById("preview-caption");
  let shownUrl = null;

  function showError(message) {
    status.textContent = "";
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  async function preview(source, photo) {
    const data = new FormData(form);
    data.delete("photo");
    data.delete("save");
    data.set("source", source);
    if (photo) data.set("photo", photo, "frame.jpg");
    errorBox.hidden = true;
    status.textContent = "Placing the piece…";
    let response;
    try {
      response = await fetch(previewUrl, {
        method: "POST",
        body: data,
        headers: { Accept: "image/jpeg, application/json" },
        credentials: "same-origin",
      });
    } catch (err) {
      showError("The preview could not be fetched; check the connection and try again.");
      return;
    }
    if (!response.ok) {
      let message = "The preview failed; try again.";
      try {
        message = (await response.json()).error || message;
      } catch (err) {
        /* not JSON: keep the general message */
      }
      showError(message);
      return;
    }
    const blob = await response.blob();
    if (shownUrl) URL.revokeObjectURL(shownUrl);
    shownUrl = URL.createObjectURL(blob);
    image.src = shownUrl;
    const where = source === "reference" ? "the reference portrait" : "your picture";
    caption.textContent =
      `On ${where}, with the band and width in the form (not saved yet): ` +
      `left end ${tenth(ends.left.x)}, ${tenth(ends.left.y)}; ` +
      `right end ${tenth(ends.right.x)}, ${tenth(ends.right.y)}; ` +
      `${form.elements.width_mm.value} mm.`;
    figure.hidden = false;
    status.textContent = `Preview ready on ${where}.`;
  }

  document.getElementById("preview-reference").addEventListener("click", (event) => {
    event.preventDefault();
    preview("reference", null);
  });
  document.getElementById("preview-photo-button").addEventListener("click", (event) => {
    event.preventDefault();
    const file = photoInput.files && photoInput.files[0];
    if (!file) {
      showError("Choose a photo of yourself first (or use the camera).");
      photoInput.focus();
      return;
    }
    preview("photo", file);
  });

  // Saving never sends the preview photo along.
  form.addEventListener("submit", (event) => {
    if (event.submitter && event.submitter.id === "save-calibration") photoInput.disabled = true;
  });
  window.addEventListener("pageshow", () => {
    photoInput.disabled = false;
  });

  // --- a camera frame: taken in the browser, sent once for the preview, never stored ---
  const video = document.getElementById("camera-video");
  const startButton = document.getElementById("camera-start");
  const shootButton = document.getElementById("camera-shoot");
  const stopButton = document.getElementById("camera-stop");
  let stream = null;

  function stopCamera() {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    shootButton.hidden = true;
    stopButton.hidden = true;
    startButton.hidden = false;
  }

  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    startButton.hidden = false;
    startButton.addEventListener("click", async () => {
      try {
        stream = await navigator.mediaDevices.getUserMedia({
          video: { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: "user" },
          audio: false,
        });
      } catch (err) {
        showError("The camera could not be started; allow it in the browser, or use a photo.");
        return;
      }
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      startButton.hidden = true;
      shootButton.hidden = false;
      stopButton.hidden = false;
      shootButton.focus();
    });
    stopButton.addEventListener("click", stopCamera);
    shootButton.addEventListener("click", () => {
      if (!stream || !video.videoWidth) return;
      const scale = Math.min(1, 1280 / video.videoWidth);
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      canvas.toBlob((blob) => blob && preview("photo", blob), "image/jpeg", 0.9);
    });
    window.addEventListener("pagehide", stopCamera);
  }

  form.elements.width_mm.addEventListener("input", clearProblem);

  readInputs();
  draw();
  if (problem) problem.focus();
})();
