// Behaviour shared by every page, added to plain HTML through data attributes:
//   <form data-confirm="Question?" data-confirm-yes="Yes, do it">: asks in a dialog first;
//   <button data-copy-target="ID">: copies that element's text to the clipboard.
(function () {
  "use strict";

  function confirmDialog(question, yes) {
    return new Promise(function (resolve) {
      const dialog = document.createElement("dialog");
      dialog.className = "confirm-dialog";
      dialog.setAttribute("aria-labelledby", "confirm-question");
      const text = document.createElement("p");
      text.id = "confirm-question";
      text.textContent = question;
      const row = document.createElement("div");
      row.className = "row";
      const ok = document.createElement("button");
      ok.type = "button";
      ok.className = "danger";
      ok.id = "confirm-yes";
      ok.textContent = yes || "Yes";
      const back = document.createElement("button");
      back.type = "button";
      back.id = "confirm-no";
      back.textContent = "No, go back";
      row.append(ok, back);
      dialog.append(text, row);
      document.body.appendChild(dialog);
      function close(answer) { dialog.close(); dialog.remove(); resolve(answer); }
      ok.addEventListener("click", function () { close(true); });
      back.addEventListener("click", function () { close(false); });
      dialog.addEventListener("cancel", function (event) { event.preventDefault(); close(false); });
      dialog.showModal();
      back.focus();
    });
  }

  document.addEventListener("submit", async function (event) {
    const form = event.target;
    if (!form.dataset || !form.dataset.confirm || form.dataset.confirmed === "1") return;
    event.preventDefault();
    if (await confirmDialog(form.dataset.confirm, form.dataset.confirmYes)) {
      form.dataset.confirmed = "1";
      form.requestSubmit ? form.requestSubmit() : form.submit();
    }
  });

  document.addEventListener("click", async function (event) {
    const button = event.target.closest("[data-copy-target]");
    if (!button) return;
    const source = document.getElementById(button.dataset.copyTarget);
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = "Copied";
    } catch (err) {  // no clipboard (an insecure origin): select the text for Ctrl+C instead
      const range = document.createRange();
      range.selectNodeContents(source);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      button.textContent = "Selected: press Ctrl+C";
    }
  });
})();
