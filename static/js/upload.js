// Dataset upload: drag and drop onto the zone (which is also the file input), XHR upload with a
// progress bar, then go to the new dataset's page. Without JavaScript the form posts normally.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  var zone = document.getElementById("drop-zone");
  var input = document.getElementById("id_file");
  var chosen = document.getElementById("file-chosen");
  var errors = document.getElementById("file-errors");
  var progress = document.getElementById("upload-progress");
  var bar = document.getElementById("upload-bar");
  var statusText = document.getElementById("upload-status");
  var submit = document.getElementById("upload-submit");
  var droppedFile = null;

  function showChosen(file) {
    chosen.textContent = file ? "Selected: " + file.name + " (" + formatSize(file.size) + ")" : "";
  }

  function formatSize(bytes) {
    var units = ["bytes", "KB", "MB", "GB"];
    var i = 0;
    while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i += 1; }
    return (i ? bytes.toFixed(1) : bytes) + " " + units[i];
  }

  function showErrors(messages) {
    errors.textContent = "";
    messages.forEach(function (text) {
      var p = document.createElement("p");
      p.className = "error";
      p.setAttribute("role", "alert");
      p.textContent = text;
      errors.appendChild(p);
    });
    zone.classList.toggle("has-error", messages.length > 0);
  }

  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) {
      event.preventDefault();
      zone.classList.add("dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) return;
    droppedFile = files[0];
    showChosen(droppedFile);
    showErrors([]);
  });
  input.addEventListener("change", function () {
    droppedFile = null;
    showChosen(input.files[0]);
    showErrors([]);
  });

  function collectErrors(body) {
    var messages = [];
    var fields = (body && body.errors) || {};
    Object.keys(fields).forEach(function (key) {
      fields[key].forEach(function (e) { messages.push(e.message || String(e)); });
    });
    return messages.length ? messages : ["The upload failed. Please try again."];
  }

  form.addEventListener("submit", function (event) {
    var file = droppedFile || input.files[0];
    event.preventDefault();
    if (!file) { showErrors(["Choose a file to upload."]); input.focus(); return; }
    var maxMb = Number(form.getAttribute("data-max-upload-mb"));
    if (maxMb && file.size > maxMb * 1024 * 1024) {
      // Refuse before sending: the server would only say so after receiving the whole file.
      showErrors(["The file is " + formatSize(file.size) + "; the limit is " + maxMb + " MB per file."]);
      return;
    }
    var data = new FormData(form);
    data.set("file", file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var percent = Math.round(100 * e.loaded / e.total);
      bar.value = percent;
      bar.textContent = percent + "%";
      statusText.textContent = "Uploading… " + percent + "%";
    });
    xhr.upload.addEventListener("load", function () {
      bar.removeAttribute("value");  // indeterminate while the server validates
      statusText.textContent = "Uploaded. Checking every row and counting tokens…";
    });
    xhr.addEventListener("load", function () {
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
      if (xhr.status === 201 && body && body.url) { window.location.assign(body.url); return; }
      finish();
      showErrors(xhr.status === 403 ? ["Your session has expired: reload the page and sign in again."] : collectErrors(body));
    });
    xhr.addEventListener("error", function () {
      finish();
      showErrors(["The connection was lost during the upload. Please try again."]);
    });
    progress.hidden = false;
    submit.disabled = true;
    bar.value = 0;
    statusText.textContent = "Uploading…";
    xhr.send(data);
  });

  function finish() {
    progress.hidden = true;
    submit.disabled = false;
  }
})();
