// The new-job wizard: inline dataset upload, auto-configure, inline validation and a live
// estimate of time, memory and cost (POST /api/v1/jobs/estimate/, debounced on every change).
// Without this script the form still works: it posts to the server, which launches the job.
(function () {
  "use strict";
  const form = document.getElementById("wizard");
  if (!form) return;
  const T = window.Tuner;
  const hpInputs = Array.from(form.querySelectorAll("[data-hyperparameter]"));
  const status = document.getElementById("est-status");
  // form.dataset is the form's data-* attributes, so the select is looked up by name.
  const datasetSelect = form.elements.namedItem("dataset");
  const validationSelect = form.elements.namedItem("validation_dataset");
  const estimateUrl = form.getAttribute("data-estimate-url");
  const uploadUrl = form.getAttribute("data-upload-url");
  let requestNumber = 0;

  function radioValue(name) {
    const checked = form.querySelector("input[name=" + name + "]:checked");
    return checked ? checked.value : "";
  }

  // Fields filled by auto-configure stay "auto" (data-auto) until the user edits them; only the
  // user's own values are sent as requested, so the server resolves the rest the same way.
  function requested() {
    const values = {};
    hpInputs.forEach(function (input) {
      const field = input.closest(".field");
      if (input.value === "" || input.dataset.auto === "1" || field.hidden) return;
      values[input.name] = input.type === "number" ? Number(input.value) : input.value;
    });
    return values;
  }

  function payload() {
    return {
      dataset: datasetSelect.value ? Number(datasetSelect.value) : null,
      validation_dataset: validationSelect.value ? Number(validationSelect.value) : null,
      base_model: radioValue("base_model"),
      method: radioValue("method") || "full",
      hyperparameters: requested(),
    };
  }

  function setError(name, text) {
    const node = document.getElementById("error-" + name);
    if (!node) return false;
    node.textContent = text || "";
    const field = node.closest(".field");
    if (field) field.classList.toggle("has-error", !!text);
    return true;
  }

  // The estimate's errors are redrawn on every answer. The server's errors from a refused launch
  // (data-server) stay until the user edits that field: the estimate does not check them all.
  function clearErrors() {
    form.querySelectorAll("p.error[id^=error-]").forEach(function (node) {
      if (node.dataset.server !== "1") setError(node.id.slice(6), "");
    });
  }

  function markServerErrors() {
    form.querySelectorAll("p.error[id^=error-]").forEach(function (node) {
      if (node.textContent.trim()) node.dataset.server = "1";
    });
  }

  function clearServerError(event) {
    const group = event.target.closest && event.target.closest(".field, fieldset");
    const node = group && group.querySelector("p.error[data-server]");
    if (!node) return;
    delete node.dataset.server;
    setError(node.id.slice(6), "");
  }

  // Errors arrive as {"field": [...]}, {"hyperparameters.name": [...]} or {"hyperparameters": {name: [...]}}.
  function showErrors(errors) {
    const leftover = [];
    Object.keys(errors).forEach(function (key) {
      const value = errors[key];
      if (key === "hyperparameters" && value && !Array.isArray(value) && typeof value === "object") {
        Object.keys(value).forEach(function (name) { if (!setError(name, [].concat(value[name]).join(" "))) leftover.push(value[name]); });
        return;
      }
      const text = [].concat(value).join(" ");
      if (!setError(key.replace(/^hyperparameters\./, ""), text)) leftover.push(text);
    });
    return leftover.join(" ");
  }

  function fill(resolved, reasons, fillAuto) {
    hpInputs.forEach(function (input) {
      const name = input.name;
      if (!(name in resolved)) return;
      const value = resolved[name] === null ? "" : String(resolved[name]);
      const reason = document.getElementById("reason-" + name);
      const userSet = input.value !== "" && input.dataset.auto !== "1";
      if (userSet) {
        reason.textContent = "Your value.";
        reason.classList.add("user");
        return;
      }
      input.placeholder = "auto: " + value;
      if (fillAuto || input.dataset.auto === "1") { input.value = value; input.dataset.auto = "1"; }
      reason.textContent = reasons[name] ? "Auto: " + reasons[name] : "Auto.";
      reason.classList.remove("user");
    });
  }

  function showEstimate(data) {
    const est = data.estimate || data;
    const setText = function (id, text) { document.getElementById(id).textContent = text; };
    setText("est-time", T.duration(est.seconds));
    setText("est-wall", T.duration(est.wall_seconds !== undefined ? est.wall_seconds : est.seconds));
    setText("est-memory", T.bytes(est.peak_memory_bytes));
    setText("est-cost", T.money(est.cost, est.currency));
    setText("est-steps", T.number(data.total_steps !== undefined ? data.total_steps : est.total_steps));
    setText("est-tokens", T.number(data.total_tokens !== undefined ? data.total_tokens : est.total_tokens));
    const fit = document.getElementById("est-fit");
    fit.className = est.fits === false ? "warn" : "";
    fit.textContent = est.fits === false
      ? "This will not fit in the worker's memory (" + T.bytes(est.device_memory_bytes) + "): try LoRA, a smaller batch or a smaller model."
      : (est.device_kind ? "Fits a " + est.device_kind + " worker." : "");
    setText("est-basis", est.basis ? "Basis: " + est.basis + "." : "");
    showPools(est.pools || []);
    setText("est-summary", "Estimate: " + T.duration(est.seconds) + " of training (" + T.duration(est.wall_seconds !== undefined ? est.wall_seconds : est.seconds) + " in all), " + T.bytes(est.peak_memory_bytes) + " peak memory, " + document.getElementById("est-cost").textContent + ".");
  }

  function showPools(pools) {
    // One row per live pool of workers: its own estimate, and whether the job fits its memory.
    const table = document.getElementById("est-pools");
    const body = table.querySelector("tbody");
    body.replaceChildren();
    pools.forEach(function (offer) {
      const row = document.createElement("tr");
      const memory = T.bytes(offer.peak_memory_bytes) + " of " + T.bytes(offer.device_memory_bytes) + (offer.fits ? "" : " (does not fit)");
      [offer.pool + " (" + offer.kind + ")", T.duration(offer.wall_seconds), memory, T.money(offer.cost, offer.currency)].forEach(function (text) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.appendChild(cell);
      });
      if (!offer.fits) row.classList.add("warn");
      body.appendChild(row);
    });
    table.hidden = pools.length === 0;
  }

  async function refresh(fillAuto) {
    const body = payload();
    if (!body.dataset || !body.base_model) {
      status.textContent = "Choose a dataset and a base model to see an estimate.";
      return;
    }
    const mine = ++requestNumber;
    status.textContent = "Estimating…";
    status.classList.remove("error");
    const result = await T.postJSON(estimateUrl, body);
    if (mine !== requestNumber) return; // a newer request has been sent since
    clearErrors();
    if (!result.ok) {
      const rest = showErrors(result.data || {});
      status.textContent = rest || "Fix the fields marked in red.";
      status.classList.add("error");
      return;
    }
    fill(result.data.hyperparameters || {}, result.data.reasons || result.data.hyperparameter_reasons || {}, fillAuto);
    showEstimate(result.data);
    status.textContent = fillAuto ? "Every field is filled in; edit any of them." : "Up to date.";
  }

  const refreshSoon = T.debounce(function () { refresh(false); }, 350);

  function showMethodFields() {
    const lora = radioValue("method") === "lora";
    form.querySelectorAll("[data-lora-only]").forEach(function (field) { field.hidden = !lora; });
  }

  function describeDataset() {
    const option = datasetSelect.selectedOptions[0];
    const summary = document.getElementById("dataset-summary");
    summary.textContent = option && option.value
      ? option.dataset.kind + " · " + T.number(Number(option.dataset.examples)) + " examples · " + T.number(Number(option.dataset.tokens)) + " tokens"
      : "";
  }

  async function upload() {
    const file = document.getElementById("upload-file").files[0];
    const note = document.getElementById("upload-status");
    if (!file) { note.textContent = "Choose a file first."; note.className = "status-line error"; return; }
    const body = new FormData();
    body.append("file", file);
    body.append("name", document.getElementById("upload-name").value || file.name.replace(/\.[^.]+$/, ""));
    const mapping = document.getElementById("upload-mapping").value.trim();
    if (mapping) body.append("column_mapping", mapping);
    body.append("encoding", document.getElementById("upload-encoding").value);
    body.append("skip_invalid_rows", document.getElementById("upload-skip").checked ? "true" : "false");
    note.textContent = "Uploading and validating…";
    note.className = "status-line";
    const response = await fetch(uploadUrl, {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "X-CSRFToken": T.csrfToken(), Accept: "application/json" },
    });
    let data = {};
    try { data = await response.json(); } catch (err) { data = { detail: "The server answered " + response.status + "." }; }
    if (!response.ok || data.is_valid === false) {
      const problems = data.errors && data.errors.length ? data.errors.slice(0, 3).map(function (e) { return (e.line ? "line " + e.line + ": " : "") + e.message; }) : [];
      note.textContent = "Not usable: " + (problems.join("; ") || Object.values(data).flat().join(" "));
      note.className = "status-line error";
      return;
    }
    addDatasetOption(data);
    const skipped = data.skipped_rows ? " (" + data.skipped_rows + " invalid rows skipped)" : "";
    const notes = (data.notes || []).filter(function (n) { return n.indexOf("skipped") < 0; }).join(" ");
    note.textContent = "Uploaded “" + data.name + "”: " + data.num_examples + " examples" + skipped + ", read as " + (data.detected_format || data.kind) + ", selected above. " + notes;
  }

  function addDatasetOption(data) {
    [datasetSelect, validationSelect].forEach(function (select) {
      const option = new Option(data.name + " (" + data.num_examples + " examples)", data.id);
      option.dataset.examples = data.num_examples;
      option.dataset.tokens = data.total_tokens;
      option.dataset.kind = data.kind || "";
      select.appendChild(option);
    });
    datasetSelect.value = String(data.id);
    describeDataset();
    refresh(false);
  }

  hpInputs.forEach(function (input) {
    input.addEventListener("input", function () { delete input.dataset.auto; refreshSoon(); });
    input.addEventListener("change", function () { delete input.dataset.auto; refreshSoon(); });
  });
  [datasetSelect, validationSelect].forEach(function (select) { select.addEventListener("change", function () { describeDataset(); refreshSoon(); }); });
  form.querySelectorAll("input[name=base_model], input[name=method]").forEach(function (radio) {
    radio.addEventListener("change", function () { showMethodFields(); refreshSoon(); });
  });
  document.getElementById("autoconfigure").addEventListener("click", function () {
    hpInputs.forEach(function (input) { input.value = ""; input.dataset.auto = "1"; });
    refresh(true);
  });
  document.getElementById("upload-button").addEventListener("click", upload);
  form.addEventListener("submit", function () {
    // Auto-filled values are not the user's choice: leave them to the server's auto-config.
    hpInputs.forEach(function (input) {
      if (input.dataset.auto === "1" || input.closest(".field").hidden) input.disabled = true;
    });
    document.getElementById("launch").disabled = true;
  });
  window.addEventListener("pageshow", function () {
    hpInputs.forEach(function (input) { input.disabled = false; });
    document.getElementById("launch").disabled = false;
  });
  form.addEventListener("input", clearServerError);
  form.addEventListener("change", clearServerError);
  markServerErrors();
  showMethodFields();
  describeDataset();
  refresh(false);
})();
