// A form that undoes something (removing a cart line, deleting a snapshot, cancelling a
// consultation) asks first: <form data-confirm="Remove this?">. Without JavaScript it posts.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
})();
