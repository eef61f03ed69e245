// Small helpers shared by the portal's pages (no libraries: plain DOM and fetch).
(function () {
  "use strict";

  function cookie(name) {
    const match = document.cookie.split("; ").find(function (part) { return part.startsWith(name + "="); });
    return match ? decodeURIComponent(match.slice(name.length + 1)) : "";
  }

  // Session-authenticated API calls need Django's CSRF token in a header.
  function csrfToken() {
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : cookie("csrftoken");
  }

  async function postJSON(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch (err) { data = { detail: "The server answered " + response.status + "." }; }
    return { ok: response.ok, status: response.status, data: data };
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || isNaN(seconds)) return "—";
    let s = Math.round(seconds);
    if (s < 60) return s + " s";
    let m = Math.floor(s / 60); s = s % 60;
    if (m < 60) return m + " min " + String(s).padStart(2, "0") + " s";
    const h = Math.floor(m / 60); m = m % 60;
    return h + " h " + String(m).padStart(2, "0") + " min";
  }

  function number(value, digits) {
    if (value === null || value === undefined || isNaN(value)) return "—";
    return Number(value).toLocaleString(undefined, { maximumFractionDigits: digits || 0 });
  }

  function bytes(value) {
    if (value === null || value === undefined) return "—";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let v = Number(value), i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
    return (i === 0 ? v.toFixed(0) : v.toFixed(1)) + " " + units[i];
  }

  function loss(value) {
    return value === null || value === undefined ? "—" : Number(value).toFixed(4);
  }

  // As the job page's money filter (jobs/templatetags/job_format.py): cents, "< 0.01" below that.
  function money(value, currency) {
    if (value === null || value === undefined) return "—";
    const v = Number(value), unit = currency ? " " + currency : "";
    return (v > 0 && v < 0.01 ? "< 0.01" : v.toFixed(2)) + unit;
  }

  function debounce(fn, wait) {
    let timer = null;
    return function () {
      const args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, wait);
    };
  }

  window.Tuner = { csrfToken: csrfToken, postJSON: postJSON, duration: duration, number: number,
    bytes: bytes, loss: loss, money: money, debounce: debounce };
})();
