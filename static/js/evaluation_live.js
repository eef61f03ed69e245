// An evaluation's page while it is queued or running: every 2 s, the server renders the progress
// card again (/evaluations/<id>/live/) and it replaces the one on the page; once the evaluation
// has finished, the whole page is loaded once more for its results. Hidden tabs poll slowly.
(function () {
  "use strict";
  const box = document.getElementById("evaluation-live");
  if (!box) return;
  const VISIBLE_MS = 2000, HIDDEN_MS = 10000, ERROR_MS = 5000;
  const badge = document.getElementById("evaluation-status");
  let timer = null;

  function show(card) {
    const log = document.getElementById("evaluation-log");
    const atBottom = !log || log.scrollHeight - log.scrollTop - log.clientHeight < 30;
    box.replaceChildren(card);
    badge.className = "badge big " + card.dataset.status;
    badge.textContent = card.dataset.statusLabel;
    const fresh = document.getElementById("evaluation-log");
    if (fresh && atBottom) fresh.scrollTop = fresh.scrollHeight;
  }

  async function poll() {
    timer = null;
    let card;
    try {
      const response = await fetch(box.dataset.liveUrl, { credentials: "same-origin" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const html = new DOMParser().parseFromString(await response.text(), "text/html");
      card = html.getElementById("evaluation-progress");
      if (!card) throw new Error("no progress card");
    } catch (err) {
      return schedule(ERROR_MS);
    }
    show(document.adoptNode(card));
    if (card.dataset.finished === "1") return window.location.reload();
    schedule(document.hidden ? HIDDEN_MS : VISIBLE_MS);
  }

  function schedule(ms) {
    if (timer === null) timer = setTimeout(poll, ms);
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && timer !== null) { clearTimeout(timer); timer = null; poll(); }
  });
  schedule(VISIBLE_MS);
})();
