// The playground: posts the prompt to POST /api/v1/jobs/<id>/generate/ and shows the fine-tuned
// model's answer beside its base model's, without reloading the page. For a chat-trained job it
// keeps the conversation (sent back as `history` with the system prompt) and shows its turns.
(function () {
  "use strict";
  const form = document.getElementById("playground");
  if (!form) return;
  const T = window.Tuner;
  const note = document.getElementById("generate-status");
  const button = document.getElementById("generate");

  const chat = form.dataset.chat === "1";
  let history = [];

  function value(name) { return form.elements.namedItem(name); }

  function showConversation() {
    const list = document.getElementById("conversation");
    list.textContent = "";
    history.forEach(function (turn) {
      const item = document.createElement("li");
      item.className = "turn " + turn.role;
      const who = document.createElement("strong");
      who.textContent = turn.role === "user" ? "You" : "Assistant";
      const text = document.createElement("p");
      text.className = "turn-text";
      text.textContent = turn.content || "(empty answer)";
      item.append(who, text);
      list.appendChild(item);
    });
    document.getElementById("conversation-empty").hidden = history.length > 0;
  }

  if (chat) {
    document.getElementById("new-conversation").addEventListener("click", function () {
      history = [];
      showConversation();
      value("prompt").focus();
    });
  }

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
    if (chat) {
      body.system = value("system").value;
      body.history = history;
    }
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
    if (chat) {
      history = history.concat([{ role: "user", content: body.prompt }, { role: "assistant", content: result.data.output }]);
      showConversation();
      value("prompt").value = "";
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
