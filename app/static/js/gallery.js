// The product gallery: thumbnails swap the main picture, and the chosen metal's pictures come
// first (then pictures of any metal, then the other metals'), as the page itself orders them.
(function () {
  "use strict";
  const gallery = document.querySelector("[data-gallery]");
  if (!gallery) return;
  const main = gallery.querySelector("[data-gallery-main]");
  const strip = gallery.querySelector("[data-gallery-thumbs]");
  if (!main || !strip) return;

  const thumbs = () => Array.from(strip.querySelectorAll("[data-gallery-thumb]"));

  function show(button) {
    const data = button.dataset;
    // srcset before src, so the browser picks once from the new set.
    if (data.srcset) {
      main.sizes = main.dataset.sizes;
      main.srcset = data.srcset;
    } else {
      main.removeAttribute("srcset");
      main.removeAttribute("sizes");
    }
    main.src = data.src;
    main.width = Number(data.width);
    main.height = Number(data.height);
    main.alt = data.alt;
    for (const thumb of thumbs()) {
      thumb.setAttribute("aria-pressed", thumb === button ? "true" : "false");
    }
  }

  function rank(button, metal) {
    const own = button.dataset.metal;
    if (own && own === metal) return 0;
    return own ? 2 : 1;
  }

  // Reorder the thumbnails for this metal and show the first of them.
  function follow(metal) {
    const ordered = thumbs().sort(
      (a, b) => rank(a, metal) - rank(b, metal) || Number(a.dataset.order) - Number(b.dataset.order)
    );
    for (const button of ordered) strip.append(button.closest("li"));
    gallery.dataset.metal = metal;
    show(ordered[0]);
  }

  strip.addEventListener("click", (event) => {
    const button = event.target.closest("[data-gallery-thumb]");
    if (button && strip.contains(button)) show(button);
  });

  // Arrow keys, Home and End move between thumbnails; Enter or Space shows one.
  strip.addEventListener("keydown", (event) => {
    const list = thumbs();
    const at = list.indexOf(document.activeElement);
    if (at < 0) return;
    const next = {
      ArrowLeft: at - 1,
      ArrowRight: at + 1,
      Home: 0,
      End: list.length - 1,
    }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    list[Math.max(0, Math.min(list.length - 1, next))].focus();
  });

  const select = document.getElementById("metal");
  if (select) {
    select.addEventListener("change", () => follow(select.value));
    // A browser restoring the form (back button) may have picked another metal than the page.
    if (select.value && select.value !== gallery.dataset.metal) follow(select.value);
  }
  strip.hidden = false;
})();
