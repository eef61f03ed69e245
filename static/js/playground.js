// The playground: posts the prompt to POST /api/v1/jobs/<id>/generate/ and shows the fine-tuned
// model's answer beside its base model's, without reloading the page.
(function () {
  "use strict";
  const form = document.getElementById("playground");
  if (!form) return;
  const T = window.Tuner;
  const note = document.getElementById("generate-status");
  const button = document.getElementById("generate");

  function value(name) { return form.elements.namedItem(name); }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const compare = value("compare_base").checked;
    const body = {
      prompt: value("prompt").value,
      max_new_tokens: Number(value("max_new_tokens").value),
      temperature: Number(value("temperature").value),
      top_p: Number(value("top_p").value),
      compare_base: compare,
    };
    button.disabled = true;
    note.className = "status-line";
    note.textContent = "Generating…";
    const result = await T.postJSON(form.getAttribute("data-generate-url"), body);
    button.disabled = false;
    if (!result.ok) {
      const data = result.data || {};
      note.className = "status-line error";
      note.textContent = data.detail || Object.keys(data).map(function (k) { return k + ": " + [].concat(data[k]).join(" "); }).join("; ");
      return;
    }
    document.getElementById("prompt-used").textContent = result.data.prompt_used;
    document.getElementById("prompt-used-card").hidden = false;
    document.getElementById("output").textContent = result.data.output;
    document.getElementById("base-card").hidden = !compare;
    if (compare) {
      document.getElementById("base-output").textContent = result.data.base_output;
      document.getElementById("base-label").textContent = result.data.base_label;
    }
    note.textContent = "Answered in " + result.data.seconds + " s.";
  });
})();
