// Keyboard stepping (← → Home End) and focus kept across htmx swaps. Without this file every
// control still works as a plain link or form.
(function () {
  "use strict";
  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey || typing(document.activeElement)) return;
    var control = document.querySelector('#stepper [data-key="' + event.key + '"]');
    if (!control || control.getAttribute("aria-disabled") === "true") return;
    event.preventDefault();
    control.click();
  });
  var focusedId = null;
  document.addEventListener("htmx:beforeSwap", function () {
    var active = document.activeElement;
    focusedId = active && active.id && active.closest("#stepper") ? active.id : null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!focusedId) return;
    var again = document.getElementById(focusedId);
    if (again) again.focus();
    focusedId = null;
  });
})();
