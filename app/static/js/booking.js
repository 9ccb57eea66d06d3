// Consultation booking, progressive enhancement only: the form works without this file.
// 1. Tell the server the customer's time zone (hidden "tz" field).
// 2. Show each free slot in the customer's own time, with the studio time kept beside it.
// 3. Show the latest safe date to commission as soon as the event date is entered.
(function () {
  "use strict";

  let zone = null;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || null;
  } catch (err) {
    zone = null;
  }

  const tzInput = document.getElementById("tz");
  if (tzInput && zone) {
    tzInput.value = zone;
  }

  function dayKey(date, timeZone) {
    const parts = new Intl.DateTimeFormat("en-CA", {
      timeZone: timeZone, year: "numeric", month: "2-digit", day: "2-digit",
    }).format(date);
    return parts;
  }

  document.querySelectorAll(".slot-picker").forEach(function (picker) {
    const studio = picker.dataset.studioTz;
    if (!zone || !studio || zone === studio) {
      return;
    }
    const timeFmt = new Intl.DateTimeFormat(undefined, {
      hour: "2-digit", minute: "2-digit", timeZone: zone, timeZoneName: "short",
    });
    const dayFmt = new Intl.DateTimeFormat(undefined, {
      weekday: "short", day: "numeric", month: "short", timeZone: zone,
    });
    let differs = false;
    picker.querySelectorAll("time[data-utc]").forEach(function (el) {
      const instant = new Date(el.dataset.utc);
      if (Number.isNaN(instant.getTime())) {
        return;
      }
      const studioText = el.textContent.trim();
      let local = timeFmt.format(instant);
      if (dayKey(instant, zone) !== dayKey(instant, studio)) {
        local = dayFmt.format(instant) + ", " + local;
      }
      if (local.indexOf(studioText) === 0 && dayKey(instant, zone) === dayKey(instant, studio)) {
        // Same wall-clock time (e.g. a zone on the studio's offset): nothing to add.
        return;
      }
      differs = true;
      el.textContent = local;
      const studioNote = document.createElement("span");
      studioNote.className = "slot-studio-time";
      studioNote.textContent = "studio " + studioText;
      el.after(studioNote);
    });
    const note = picker.querySelector("#tz-note");
    if (note && differs) {
      note.textContent = "Times are shown in your time zone (" + zone + "); the studio's own time (" +
        studio + ") is in small print.";
    }
  });

  const form = document.getElementById("booking-form");
  const box = document.getElementById("lead-time");
  const eventDate = document.getElementById("event_date");
  const product = document.getElementById("product");
  if (!form || !box || !eventDate || !window.fetch) {
    return;
  }

  function markRush(latestSafe) {
    form.querySelectorAll("label.slot[data-day]").forEach(function (label) {
      const late = latestSafe !== null && label.dataset.day > latestSafe;
      label.classList.toggle("slot-rush", late);
    });
  }

  function showPlan(data) {
    box.replaceChildren();
    box.classList.toggle("lead-time-rush", Boolean(data.too_close));
    const headline = document.createElement("p");
    headline.className = data.error ? "errors" : "lead-time-headline";
    headline.textContent = data.error || data.headline;
    box.append(headline);
    if (data.detail) {
      const detail = document.createElement("p");
      detail.className = "help";
      detail.textContent = data.detail;
      box.append(detail);
    }
    box.hidden = false;
    markRush(data.latest_safe_date || null);
  }

  function update() {
    if (!eventDate.value) {
      return;
    }
    const url = new URL(form.dataset.leadTimeUrl, window.location.href);
    url.searchParams.set("event_date", eventDate.value);
    if (product && product.value) {
      url.searchParams.set("product", product.value);
    }
    fetch(url, { headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(showPlan)
      .catch(function () { /* the server repeats all of this when the form is sent */ });
  }

  eventDate.addEventListener("change", update);
  if (product) {
    product.addEventListener("change", update);
  }
})();
