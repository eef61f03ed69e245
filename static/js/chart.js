// A small line chart drawn as SVG: several series over training steps, linear or log y axis.
// Usage: const chart = Tuner.lineChart(element, {yLabel: "loss"});
//        chart.update([{label, color, dashed, dots, markBest, points: [[step, value], ...]}]);
//        (markBest rings the series' lowest point and labels it "best")
//        chart.setLog(true);
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const MARGIN = { top: 10, right: 14, bottom: 36, left: 62 };

  function el(name, attrs, text) {
    const node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Round numbers for a linear axis: steps of 1, 2 or 5 times a power of ten.
  function linearTicks(min, max, count) {
    if (min === max) { min -= 1; max += 1; }
    const raw = (max - min) / count;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map(function (m) { return m * power; }).find(function (s) { return s >= raw; });
    // Each tick is a whole number of steps (not a running sum, whose rounding error once
    // labelled zero "-6e-17").
    const ticks = [];
    for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k += 1) ticks.push(+(k * step).toPrecision(12));
    return ticks;
  }

  // Log axis: 1, 2 and 5 of each decade in range; thinned when there are many decades.
  function logTicks(min, max) {
    const ticks = [];
    for (let d = Math.floor(Math.log10(min)); d <= Math.ceil(Math.log10(max)); d += 1) {
      [1, 2, 5].forEach(function (m) {
        const v = m * Math.pow(10, d);
        if (v >= min && v <= max) ticks.push(v);
      });
    }
    if (ticks.length > 8) return ticks.filter(function (v) { return Math.abs(Math.log10(v) % 1) < 1e-9; });
    // A narrow range (say 10.3 to 10.9) holds no 1-2-5 value: use evenly spaced ones instead.
    return ticks.length >= 2 ? ticks : linearTicks(min, max, 4).filter(function (v) { return v >= min && v <= max; });
  }

  // Enough digits to tell neighbouring ticks apart (`step` is their spacing).
  function label(value, step) {
    if (value === 0) return "0";
    const abs = Math.abs(value);
    // Ticks: one form per axis, decided by their spacing (0.006 beside 0.01, not 6e−3).
    const tiny = step ? step < 1e-3 : abs < 0.01;
    if (tiny || abs >= 1e5) {
      const digits = step ? Math.floor(Math.log10(abs)) - Math.floor(Math.log10(step)) : 1;
      return value.toExponential(Math.max(0, Math.min(3, digits))).replace("e-", "e−");
    }
    const decimals = step ? Math.min(6, Math.max(0, -Math.floor(Math.log10(step)))) : 2;
    return String(+value.toFixed(Math.max(decimals, abs < 1 ? 2 : 0)));
  }

  function spacing(ticks) {
    return ticks.length > 1 ? Math.min.apply(null, ticks.slice(1).map(function (v, i) { return v - ticks[i]; })) : 0;
  }

  function extent(series, index, positiveOnly) {
    let lo = Infinity, hi = -Infinity;
    series.forEach(function (s) {
      s.points.forEach(function (p) {
        const v = p[index];
        if (v === null || v === undefined || !isFinite(v) || (positiveOnly && v <= 0)) return;
        lo = Math.min(lo, v); hi = Math.max(hi, v);
      });
    });
    return lo === Infinity ? null : [lo, hi];
  }

  // The first point with the lowest value (the best eval loss), or null.
  function lowest(points) {
    let best = null;
    points.forEach(function (p) {
      if (p[1] !== null && isFinite(p[1]) && (best === null || p[1] < best[1])) best = p;
    });
    return best;
  }

  function lineChart(container, options) {
    const opts = Object.assign({ yLabel: "", xLabel: "step", log: false }, options || {});
    let series = [];
    const svg = el("svg", { class: "chart", role: "img", "aria-label": container.getAttribute("aria-label") || opts.yLabel + " by step" });
    const legend = document.createElement("ul");
    legend.className = "legend";
    container.appendChild(svg);
    container.appendChild(legend);

    function scale(domain, range, log) {
      const f = log ? Math.log10 : function (v) { return v; };
      const d0 = f(domain[0]), d1 = f(domain[1]);
      return function (v) { return range[0] + ((f(v) - d0) / (d1 - d0 || 1)) * (range[1] - range[0]); };
    }

    function draw() {
      const width = Math.max(260, container.clientWidth || 600);
      const height = container.classList.contains("small") ? 150 : 260;
      svg.setAttribute("viewBox", "0 0 " + width + " " + height);
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      const xs = extent(series, 0, false);
      let ys = extent(series, 1, opts.log);
      if (!xs || !ys) return;
      // A flat series (a constant learning rate) sits mid-chart on an axis around its value,
      // not at the top of one that runs a whole unit below it (into negative rates).
      if (!opts.log && ys[0] === ys[1]) ys = ys[0] === 0 ? [-1, 1] : [ys[0] - Math.abs(ys[0]) / 2, ys[1] + Math.abs(ys[1]) / 2];
      if (opts.log && ys[0] === ys[1]) ys = [ys[0] / 2, ys[1] * 2];
      const yTicks = opts.log ? logTicks(ys[0], ys[1]) : linearTicks(ys[0], ys[1], 5);
      const yStep = spacing(yTicks);
      if (!opts.log) ys = [Math.min(ys[0], yTicks[0]), Math.max(ys[1], yTicks[yTicks.length - 1])];
      const x = scale(xs[0] === xs[1] ? [xs[0] - 1, xs[1] + 1] : xs, [MARGIN.left, width - MARGIN.right], false);
      const y = scale(ys, [height - MARGIN.bottom, MARGIN.top], opts.log);
      const axes = el("g", { class: "axes" });
      yTicks.forEach(function (v) {
        axes.appendChild(el("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: y(v), y2: y(v), class: "grid" }));
        axes.appendChild(el("text", { x: MARGIN.left - 6, y: y(v) + 4, "text-anchor": "end" }, label(v, yStep)));
      });
      linearTicks(xs[0], xs[1], Math.max(2, Math.floor(width / 110))).forEach(function (v) {
        if (v < xs[0] || v > xs[1] || v % 1) return;
        axes.appendChild(el("text", { x: x(v), y: height - MARGIN.bottom + 16, "text-anchor": "middle" }, label(v)));
      });
      axes.appendChild(el("text", { x: width - MARGIN.right, y: height - 4, "text-anchor": "end", class: "axis-label" }, opts.xLabel));
      svg.appendChild(axes);
      series.forEach(function (s) { drawSeries(s, x, y); });
    }

    function drawSeries(s, x, y) {
      const points = s.points.filter(function (p) { return p[1] !== null && isFinite(p[1]) && (!opts.log || p[1] > 0); });
      if (!points.length) return;
      const d = points.map(function (p, i) { return (i ? "L" : "M") + x(p[0]).toFixed(1) + " " + y(p[1]).toFixed(1); }).join(" ");
      const attrs = { d: d, fill: "none", stroke: s.color, "stroke-width": 2, class: "series" };
      if (s.dashed) attrs["stroke-dasharray"] = "6 4";
      svg.appendChild(el("path", attrs));
      if (s.markBest) drawBest(s, lowest(points), x, y);
      if (s.dots || points.length === 1) {
        points.forEach(function (p) {
          const dot = el("circle", { cx: x(p[0]), cy: y(p[1]), r: 3, fill: s.color });
          dot.appendChild(el("title", {}, s.label + " at step " + p[0] + ": " + label(p[1])));
          svg.appendChild(dot);
        });
      }
    }

    function drawBest(s, p, x, y) {
      const mark = el("g", { class: "best-marker", "data-step": p[0] });
      mark.appendChild(el("circle", { cx: x(p[0]), cy: y(p[1]), r: 7, fill: "none", stroke: s.color, "stroke-width": 2 }));
      mark.appendChild(el("text", { x: x(p[0]), y: y(p[1]) - 11, "text-anchor": "middle", class: "best-label" }, "best"));
      mark.appendChild(el("title", {}, "Best " + s.label + ": " + label(p[1]) + " at step " + p[0]));
      svg.appendChild(mark);
    }

    function drawLegend() {
      legend.textContent = "";
      series.forEach(function (s) {
        const item = document.createElement("li");
        const swatch = document.createElement("span");
        swatch.className = "swatch" + (s.dashed ? " dashed" : "");
        swatch.style.borderColor = s.color;
        item.appendChild(swatch);
        const last = s.points.length ? s.points[s.points.length - 1][1] : null;
        let text = s.label + (last !== null && last !== undefined ? " (" + label(last) + ")" : "");
        const best = s.markBest ? lowest(s.points) : null;
        if (best) text += "; best " + label(best[1]) + " at step " + best[0];
        item.appendChild(document.createTextNode(text));
        legend.appendChild(item);
      });
    }

    if (window.ResizeObserver) new ResizeObserver(function () { draw(); }).observe(container);
    return {
      update: function (newSeries) { series = newSeries; draw(); drawLegend(); },
      setLog: function (on) { opts.log = !!on; draw(); },
    };
  }

  window.Tuner = window.Tuner || {};
  window.Tuner.lineChart = lineChart;
})();
