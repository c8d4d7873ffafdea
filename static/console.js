// The console as redis-cli has it: ↑ and ↓ recall earlier commands, the result stays in view, and
// focus stays in the command line across htmx swaps. Without this file the console is plain forms.
(function () {
  "use strict";
  if (window.tutorConsole) return; // the fragment may bring this script again on every swap
  window.tutorConsole = true;
  var position = -1;
  var draft = "";
  function history(form) {
    try {
      var items = JSON.parse(form.getAttribute("data-history") || "[]");
      return Array.isArray(items) ? items : [];
    } catch (e) {
      return [];
    }
  }
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input || input.id !== "console-line" || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
    var items = history(input.form);
    if (!items.length) return;
    event.preventDefault();
    if (position === -1) draft = input.value;
    if (event.key === "ArrowUp") position = Math.min(position + 1, items.length - 1);
    else position = Math.max(position - 1, -1);
    input.value = position === -1 ? draft : items[items.length - 1 - position];
    input.setSelectionRange(input.value.length, input.value.length);
  });
  // On the swap itself (htmx has just put the focus back in the new line): a key pressed right
  // after it, before the settle, is then never undone here (typed text cleared, ↑ forgotten).
  function swapped() {
    position = -1;
    var line = document.getElementById("console-line");
    if (line && document.activeElement === line && !document.getElementById("console-output")) line.value = "";
  }
  function settle() {
    var log = document.getElementById("console-log");
    if (log) log.scrollTop = log.scrollHeight;
    var line = document.getElementById("console-line");
    if (line && document.activeElement === line) line.scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("htmx:afterSwap", swapped);
  document.addEventListener("htmx:afterSettle", settle);
  document.addEventListener("DOMContentLoaded", function () { swapped(); settle(); });
})();
