// The compare page: every chosen job's train (solid) and eval (dashed) loss on one chart, and
// their token accuracy on a second.
(function () {
  "use strict";
  const data = document.getElementById("compare-series");
  const box = document.getElementById("compare-chart");
  if (!data || !box) return;
  const jobs = JSON.parse(data.textContent);
  const series = [];
  jobs.forEach(function (job) {
    series.push({ label: job.label + " train", color: job.color, points: job.train });
    if (job.eval.length) series.push({ label: job.label + " eval", color: job.color, dashed: true, dots: true, points: job.eval });
  });
  const chart = window.Tuner.lineChart(box, { yLabel: "loss" });
  chart.update(series);
  const accuracyBox = document.getElementById("compare-accuracy-chart");
  if (accuracyBox) {
    const accuracy = [];
    jobs.forEach(function (job) {
      if (job.train_accuracy.length) accuracy.push({ label: job.label + " train", color: job.color, points: job.train_accuracy });
      if (job.eval_accuracy.length) accuracy.push({ label: job.label + " eval", color: job.color, dashed: true, dots: true, points: job.eval_accuracy });
    });
    window.Tuner.lineChart(accuracyBox, { yLabel: "token accuracy" }).update(accuracy);
  }
  const log = document.getElementById("log-scale");
  log.addEventListener("change", function () { chart.setLog(log.checked); });
})();
