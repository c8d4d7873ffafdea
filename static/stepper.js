// Keyboard stepping (← → Home End), focus kept across htmx swaps, and the current step kept in view
// inside its own scrolling boxes (code, tables, sequence diagram) without moving the page. Without
// this file every control still works as a plain link or form.
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

  // Scroll a box (not the page) so that its marked item is in view.
  function follow(box, item, sideways) {
    if (!box || !item) return;
    var b = box.getBoundingClientRect(), r = item.getBoundingClientRect();
    if (sideways) {
      box.scrollLeft += r.right - b.right + 8;
    } else {
      var head = box.querySelector("thead");
      var top = head ? head.getBoundingClientRect().height : 0;
      if (r.top < b.top + top || r.bottom > b.bottom) box.scrollTop += r.top - b.top - top - (b.height - top - r.height) / 2;
    }
  }
  function keepInView(root) {
    var stepper = root && root.querySelector ? (root.id === "stepper" ? root : root.querySelector("#stepper")) : null;
    if (!stepper) return;
    follow(stepper.querySelector("pre.code"), stepper.querySelector("pre.code .line.current"), false);
    stepper.querySelectorAll("[data-follow]").forEach(function (box) {
      follow(box, box.querySelector(box.getAttribute("data-follow")), false);
    });
    stepper.querySelectorAll("[data-follow-x]").forEach(function (box) {
      var cells = box.querySelectorAll(box.getAttribute("data-follow-x"));
      if (cells.length) follow(box, cells[cells.length - 1], true);
    });
  }
  // Arriving at a prediction: the question takes the focus (a screen reader reads it) without a jump.
  function focusPrediction() {
    var question = document.querySelector("#stepper form.prediction");
    if (!question || question.contains(document.activeElement)) return false;
    question.focus({ preventScroll: true });
    var r = question.getBoundingClientRect();
    if (r.top < 0 || r.top > window.innerHeight - 80) question.scrollIntoView({ block: "nearest" });
    return true;
  }

  // A step click says which predictions this page still shows locked (tutor/views.py): the server
  // sends the quiz section again only when the step opens one, without reading the learner's progress.
  document.addEventListener("htmx:configRequest", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "stepper" || event.detail.verb !== "get") return;
    var steps = [];
    document.querySelectorAll(".quiz-question.locked[data-opens-at]").forEach(function (q) {
      steps.push(q.getAttribute("data-opens-at"));
    });
    event.detail.headers["X-Tutor-Locked"] = steps.join(" ");
  });

  var focusedId = null;
  document.addEventListener("htmx:beforeSwap", function () {
    var active = document.activeElement;
    focusedId = active && active.id && active.closest("#stepper") ? active.id : null;
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    keepInView(document);
    if (focusPrediction()) { focusedId = null; return; }
    if (!focusedId) return;
    var again = document.getElementById(focusedId);
    if (again) again.focus();
    focusedId = null;
  });
  // A form that came in a fragment has no CSRF field: the page's hx-headers gives htmx the token. If
  // it is submitted before htmx has taken it over (Enter pressed while a swap settles), the browser
  // posts it itself; the token then goes along as a field, and the post is answered as without
  // JavaScript (the whole page), not refused as a forged form.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || form.tagName !== "FORM" || (form.getAttribute("method") || "").toLowerCase() !== "post") return;
    if (form.querySelector('input[name="csrf"]')) return;
    var token;
    try { token = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"]; } catch (e) { return; }
    if (!token) return;
    var field = document.createElement("input");
    field.type = "hidden";
    field.name = "csrf";
    field.value = token;
    form.appendChild(field);
  }, true);

  function ready() { keepInView(document); focusPrediction(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready); else ready();
})();
