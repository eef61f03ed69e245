// The dashboard keeps its queued and running rows current: every few seconds each one asks its
// job's live endpoint for the state only (cursors far ahead, so no rows come back).
(function () {
  "use strict";
  const T = window.Tuner;
  const EVERY_MS = 3000;
  const AHEAD = "?after_step=2147483647&after_event=9223372036854775807&after_checkpoint=9223372036854775807";

  function field(row, name) { return row.querySelector("[data-field=" + name + "]"); }

  async function refresh(row) {
    let data;
    try {
      const response = await fetch(row.dataset.liveUrl + AHEAD, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return;
      data = await response.json();
    } catch (err) { return; }
    const job = data.job;
    const badge = field(row, "status");
    badge.className = "badge " + job.status;
    badge.textContent = job.status_display;
    row.querySelector("progress").value = job.percent;
    field(row, "progress-text").textContent = job.percent + "%" + (job.total_steps ? " · " + job.step + "/" + job.total_steps : "");
    field(row, "duration").textContent = T.duration(job.duration_seconds);
    field(row, "loss").textContent = T.loss(job.train_loss);
    if (job.is_finished) delete row.dataset.liveUrl;
  }

  function tick() {
    if (!document.hidden) document.querySelectorAll("tr[data-live-url]").forEach(refresh);
    if (document.querySelector("tr[data-live-url]")) setTimeout(tick, EVERY_MS);
  }

  if (document.querySelector("tr[data-live-url]")) setTimeout(tick, EVERY_MS);
})();
