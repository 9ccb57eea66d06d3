// Checkout: keep the add-to-cart choice in step with the product options, run Stripe's
// Payment Element on the pay page, refresh an order page while a payment is confirmed,
// and print the invoice. Every part checks for its elements and does nothing without them.
(function () {
  "use strict";

  // --- Product page: the add-to-cart form posts the size and metal chosen above it. ---
  function initAddToCart() {
    const form = document.getElementById("add-to-cart");
    if (!form) return;
    const metalInput = form.querySelector("[data-cart-metal]");
    const sizeInput = form.querySelector("[data-cart-size]");
    const choice = form.querySelector("[data-cart-choice]");
    const submit = form.querySelector("[data-cart-submit]");
    const unavailable = form.querySelector("[data-cart-unavailable]");
    let free = {};
    try { free = JSON.parse(form.dataset.free || "{}"); } catch (err) { free = {}; }

    function metalName(code) {
      const option = document.querySelector('#metal option[value="' + CSS.escape(code) + '"]');
      return option ? option.textContent.trim() : code;
    }

    function sync(size, metal) {
      if (size) sizeInput.value = size;
      if (metal) metalInput.value = metal;
      choice.textContent = "size " + sizeInput.value + " · " + metalName(metalInput.value);
      const soldOut = form.dataset.tier === "studio" && !(free[metalInput.value] > 0);
      submit.disabled = soldOut;
      unavailable.hidden = !soldOut;
    }

    document.addEventListener("diadem:options", (event) => {
      sync(event.detail.size, event.detail.metal);
    });
    // product.js announces changes after fetching the price; follow the pickers at once too.
    for (const id of ["size", "metal"]) {
      const select = document.getElementById(id);
      if (select) select.addEventListener("change", () => {
        sync(document.getElementById("size")?.value, document.getElementById("metal")?.value);
      });
    }
  }

  // --- Pay page: Stripe's Payment Element; the server fixed the amount in the intent. ---
  function initPayment() {
    const form = document.getElementById("payment-form");
    if (!form) return;
    const message = document.getElementById("payment-message");
    const button = document.getElementById("pay-button");
    function show(text) {
      message.textContent = text;
      message.hidden = false;
    }
    if (typeof window.Stripe !== "function") {
      // The page names where to go back to (an order, a repair) in its own words.
      show(form.dataset.unavailable ||
        "The secure card form could not load. Check your connection, or pay by bank transfer instead.");
      return;
    }
    const stripe = window.Stripe(form.dataset.publishableKey);
    const elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
    const target = document.getElementById("payment-element");
    target.replaceChildren();
    const paymentElement = elements.create("payment");
    paymentElement.mount(target);
    paymentElement.on("ready", () => { button.disabled = false; });

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      button.disabled = true;
      message.hidden = true;
      const { error } = await stripe.confirmPayment({
        elements,
        confirmParams: { return_url: form.dataset.returnUrl },
      });
      // Only reached on an immediate error; on success Stripe redirects to return_url.
      if (error.type === "card_error" || error.type === "validation_error") {
        show(error.message);
      } else {
        show("The payment could not be completed. Please try again.");
      }
      if (error.type === "card_error") {
        // A declined card ends this attempt; the order page offers to try again.
        setTimeout(() => { window.location.assign(form.dataset.orderUrl); }, 4000);
      } else {
        button.disabled = false;
      }
    });
  }

  // --- Order page: while a card payment is being confirmed, reload when the status moves. ---
  function initStatusPoll() {
    const holder = document.querySelector("[data-status-url]");
    if (!holder) return;
    const url = holder.dataset.statusUrl;
    const initial = holder.dataset.status;
    let tries = 0;
    const timer = setInterval(async () => {
      tries += 1;
      if (tries > 40) { clearInterval(timer); return; }
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        if (!response.ok) return;
        const data = await response.json();
        if (data.status !== initial) {
          clearInterval(timer);
          window.location.reload();
        }
      } catch (err) {
        /* offline for a moment: try again on the next tick */
      }
    }, 3000);
  }

  // --- Invoice: a print button (the page prints fine from the browser menu too). ---
  function initPrint() {
    const button = document.getElementById("print-invoice");
    if (!button) return;
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }

  function init() {
    initAddToCart();
    initPayment();
    initStatusPoll();
    initPrint();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
