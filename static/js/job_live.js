// The job page, live: polls /jobs/<id>/live/ for what is new since the last answer (progress,
// metric points, log lines, checkpoints) every 1.5 s while the job is queued or running.
// Hidden tabs poll slowly and finished jobs stop, so many open pages stay cheap.
(function () {
  "use strict";
  const page = document.getElementById("job-page");
  if (!page) return;
  const T = window.Tuner;
  // Every 1.5 s while the tab is visible: what the worker writes shows within 2 s, and a hundred
  // open pages cost the server a few tenths of a core (bench/live_pages.py).
  const VISIBLE_MS = 1500, HIDDEN_MS = 10000, ERROR_MS = 5000, MAX_LOG_LINES = 500;
  const startedFinished = page.dataset.finished === "1";
  // Metric points are fetched by id, not step: an eval point arrives after its step's train point.
  const cursor = { metric: 0, event: Number(page.dataset.afterEvent || 0), checkpoint: Number(page.dataset.afterCheckpoint || 0) };
  const points = { train: [], eval: [], lr: [], trainAcc: [], evalAcc: [] };
  const lossChart = T.lineChart(document.getElementById("loss-chart"), { yLabel: "loss" });
  const lrChart = T.lineChart(document.getElementById("lr-chart"), { yLabel: "learning rate" });
  const accuracyChart = T.lineChart(document.getElementById("accuracy-chart"), { yLabel: "token accuracy" });
  const logScale = document.getElementById("log-scale");
  let timer = null;
  let chartDrawn = false;

  function setText(id, text) {
    const node = document.getElementById(id);
    if (node && node.textContent !== text) node.textContent = text;
  }

  function showJob(job) {
    const badge = document.getElementById("job-status");
    badge.className = "badge big " + job.status;
    setText("job-status", job.status_display + (job.cancel_requested && !job.is_finished ? " (cancelling)" : ""));
    const bar = document.getElementById("job-progress");
    bar.value = job.percent;
    bar.textContent = job.percent + "%";
    setText("fig-step", job.step + " / " + (job.total_steps || "?"));
    setText("fig-percent", job.percent + "%");
    setText("fig-epoch", T.number(job.epoch, 2));
    setText("fig-tps", T.number(job.tokens_per_second));
    setText("fig-eta", job.is_finished ? "—" : T.duration(job.eta_seconds));
    setText("fig-elapsed", T.duration(job.duration_seconds));
    setText("fig-train-loss", T.loss(job.train_loss));
    setText("fig-eval-loss", T.loss(job.eval_loss));
    if (job.status !== "queued") {
      // "Job … is queued." said so at launch; it is no longer true once the job has started.
      document.querySelectorAll(".message.queued-note").forEach(function (note) { note.remove(); });
    }
    if (job.status === "failed" && job.error) {
      document.getElementById("live-failure").hidden = startedFinished;
      setText("live-error-text", job.error);
    }
  }

  // A job resumed from a checkpoint writes its steps again: a point at or before a series' last
  // step replaces that series' points from there on, so the line does not double back.
  function push(series, step, value) {
    while (series.length && series[series.length - 1][0] >= step) series.pop();
    series.push([step, value]);
  }

  function addMetrics(rows) {
    rows.forEach(function (row) {
      if (row.train_loss !== null) push(points.train, row.step, row.train_loss);
      if (row.eval_loss !== null) push(points.eval, row.step, row.eval_loss);
      if (row.learning_rate !== null) push(points.lr, row.step, row.learning_rate);
      if (row.train_accuracy != null) push(points.trainAcc, row.step, row.train_accuracy);
      if (row.eval_accuracy != null) push(points.evalAcc, row.step, row.eval_accuracy);
      cursor.metric = Math.max(cursor.metric, row.id);
    });
  }

  function drawCharts() {
    const hasPoints = points.train.length + points.eval.length > 0;
    document.getElementById("chart-empty").hidden = hasPoints;
    lossChart.update([
      { label: "train loss", color: "#2f5bd3", points: points.train },
      { label: "eval loss", color: "#c2410c", dashed: true, dots: true, markBest: true, points: points.eval },
    ]);
    lrChart.update([{ label: "learning rate", color: "#047857", points: points.lr }]);
    accuracyChart.update([
      { label: "train token accuracy", color: "#2f5bd3", points: points.trainAcc },
      { label: "eval token accuracy", color: "#c2410c", dashed: true, dots: true, points: points.evalAcc },
    ]);
  }

  function addEvents(rows) {
    const log = document.getElementById("job-log");
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 30;
    rows.forEach(function (row) {
      const line = document.createElement("li");
      line.className = "log-line " + row.level;
      const time = document.createElement("time");
      time.dateTime = row.time;
      time.textContent = new Date(row.time).toTimeString().slice(0, 8);
      const level = document.createElement("span");
      level.className = "level " + row.level;
      level.textContent = row.level;
      const msg = document.createElement("span");
      msg.className = "msg";
      msg.textContent = row.message;
      line.append(time, " ", level, " ", msg);
      log.appendChild(line);
      cursor.event = Math.max(cursor.event, row.id);
    });
    while (log.children.length > MAX_LOG_LINES) log.removeChild(log.firstChild);
    if (rows.length && atBottom) log.scrollTop = log.scrollHeight;
  }

  function addCheckpoints(rows) {
    const body = document.getElementById("checkpoint-rows");
    rows.forEach(function (row) {
      const tr = document.createElement("tr");
      [String(row.step), T.bytes(row.size_bytes), T.loss(row.eval_loss), row.is_final ? "final model" : "checkpoint", ""].forEach(function (text) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      });
      body.appendChild(tr);
      cursor.checkpoint = Math.max(cursor.checkpoint, row.id);
    });
    if (rows.length) document.getElementById("no-checkpoints").hidden = true;
  }

  function finish() {
    // The actions, results and estimate-against-actual are rendered by the server: load them once.
    document.getElementById("finished-note").hidden = false;
    const cancel = document.getElementById("cancel-form");
    if (cancel) cancel.hidden = true;
    setTimeout(function () { window.location.reload(); }, 1500);
  }

  async function poll() {
    timer = null;
    const url = page.dataset.liveUrl + "?after_metric=" + cursor.metric + "&after_event=" + cursor.event + "&after_checkpoint=" + cursor.checkpoint;
    let data;
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error("HTTP " + response.status);
      data = await response.json();
    } catch (err) {
      schedule(ERROR_MS);
      return;
    }
    showJob(data.job);
    addMetrics(data.metrics);
    if (data.metrics.length || !chartDrawn) { drawCharts(); chartDrawn = true; }
    addEvents(data.events);
    addCheckpoints(data.checkpoints);
    page.dataset.step = data.job.step;
    if (data.more) return schedule(0);
    if (data.job.is_finished) {
      if (!startedFinished) finish();
      return;
    }
    schedule(document.hidden ? HIDDEN_MS : VISIBLE_MS);
  }

  function schedule(ms) {
    if (timer === null) timer = setTimeout(poll, ms);
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && timer !== null) { clearTimeout(timer); timer = null; poll(); }
  });
  logScale.addEventListener("change", function () { lossChart.setLog(logScale.checked); });
  poll();
})();
