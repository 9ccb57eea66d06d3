// Recompute the price breakdown on the server whenever size or metal changes.
(function () {
  "use strict";
  const form = document.getElementById("options");
  if (!form) return;
  const target = document.getElementById("breakdown");
  const errorBox = document.getElementById("price-error");

  function cell(tag, text, cls) {
    const el = document.createElement(tag);
    el.textContent = text;
    if (cls) el.className = cls;
    return el;
  }

  function render(data) {
    const fmt = (minor) => new Intl.NumberFormat("en-US", { style: "currency", currency: data.currency }).format(minor / 100);
    const table = target.querySelector("table");
    const body = table.querySelector("tbody");
    body.replaceChildren();
    for (const line of data.lines) {
      const row = document.createElement("tr");
      const th = cell("th", line.label);
      th.scope = "row";
      const amount = cell("td", fmt(line.amount_minor), "num");
      amount.dataset.amountMinor = String(line.amount_minor);
      row.append(th, cell("td", line.detail), amount);
      body.append(row);
    }
    const totalCell = table.querySelector("[data-total-minor]");
    totalCell.dataset.totalMinor = String(data.total_minor);
    totalCell.textContent = fmt(data.total_minor);
    const headline = document.querySelector("[data-headline-total]");
    if (headline) headline.textContent = fmt(data.total_minor);
  }

  // Answers can arrive out of order when options change quickly; only the newest may win.
  let latest = 0;

  async function update() {
    const ticket = ++latest;
    const params = new URLSearchParams(new FormData(form));
    const url = form.dataset.priceUrl + "?" + params.toString();
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      const data = await response.json();
      if (ticket !== latest) return;
      if (!response.ok) {
        errorBox.textContent = data.error || "That option is not available.";
        errorBox.hidden = false;
        return;
      }
      errorBox.hidden = true;
      render(data);
      history.replaceState(null, "", "?" + params.toString());
      document.dispatchEvent(new CustomEvent("diadem:options", { detail: Object.fromEntries(params) }));
    } catch (err) {
      if (ticket !== latest) return;
      errorBox.textContent = "Could not update the price; check your connection.";
      errorBox.hidden = false;
    }
  }

  form.addEventListener("change", update);
})();
