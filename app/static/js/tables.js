// On a phone each row of a list table is shown as a small card (site.css, "Tables on phones"):
// label every cell with its column's heading so the card still says what each value is.
// Without JavaScript the cards simply go unlabelled; nothing else depends on this.
(function () {
  "use strict";
  document.querySelectorAll("table.list, table.payments").forEach(function (table) {
    const headings = Array.from(table.querySelectorAll("thead th"), (th) => th.textContent.trim());
    table.querySelectorAll("tbody tr, tfoot tr").forEach(function (row) {
      let column = 0;
      Array.from(row.cells).forEach(function (cell) {
        const heading = headings[column];
        if (heading && !cell.hasAttribute("data-label")) cell.dataset.label = heading;
        column += cell.colSpan || 1;
      });
    });
  });
})();
