// Consultation booking, progressive enhancement only: the form works without this file.
// 1. Tell the server the customer's time zone (hidden "tz" field).
// 2. Show every free slot in the customer's own time, all through one formatter that writes the
//    shop's pattern ("13:45", 24-hour, as app.common.dates does) whatever the browser's language;
//    the studio's zone is named once, in the note above the slots.
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
      return;  // the server already wrote studio times, in the same pattern
    }
    const locale = picker.dataset.locale || "en-GB";
    const timeFmt = new Intl.DateTimeFormat(locale, {
      hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone,
    });
    const dayFmt = new Intl.DateTimeFormat(locale, {
      weekday: "short", day: "numeric", month: "short", timeZone: zone,
    });
    let differs = false;
    picker.querySelectorAll("time[data-utc]").forEach(function (el) {
      const instant = new Date(el.dataset.utc);
      if (Number.isNaN(instant.getTime())) {
        return;
      }
      let local = timeFmt.format(instant);
      if (dayKey(instant, zone) !== dayKey(instant, studio)) {
        // Slots are grouped by the studio's day; say so when the customer's day is another.
        local = dayFmt.format(instant) + ", " + local;
      }
      if (local !== el.textContent.trim()) {
        differs = true;
      }
      el.textContent = local;
    });
    const note = picker.querySelector("#tz-note");
    if (note && differs) {
      note.textContent = "Times are in your time zone (" + zone + "). The studio works on " +
        studio + " time; your confirmation shows both.";
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
