// Confirmation for destructive actions: any form or button with data-confirm asks first.
document.addEventListener("submit", function (event) {
  const form = event.target;
  const trigger = event.submitter && event.submitter.dataset.confirm ? event.submitter : form;
  const text = trigger.dataset ? trigger.dataset.confirm : null;
  if (!text || form.dataset.confirmed === "1") { form.dataset.confirmed = ""; return; }
  event.preventDefault();
  const dialog = document.getElementById("confirm-dialog");
  document.getElementById("confirm-text").textContent = text;
  dialog.returnValue = "";
  dialog.showModal();
  dialog.addEventListener("close", function onClose() {
    dialog.removeEventListener("close", onClose);
    if (dialog.returnValue === "ok") {
      form.dataset.confirmed = "1";
      if (event.submitter && event.submitter.name) {
        const hidden = document.createElement("input");
        hidden.type = "hidden"; hidden.name = event.submitter.name; hidden.value = event.submitter.value;
        form.appendChild(hidden);
      }
      form.requestSubmit ? form.requestSubmit() : form.submit();
    }
  });
}, true);
// Bulk selection: a "select all" checkbox toggles the row checkboxes of its table.
document.addEventListener("change", function (event) {
  if (event.target.matches("[data-select-all]")) {
    const table = event.target.closest("table");
    table.querySelectorAll("input[type=checkbox][name=selected]").forEach(function (box) {
      box.checked = event.target.checked;
    });
  }
});
// Copy buttons. The contract, for every template:
//   <code id="ID">text</code>
//   <button type="button" class="copy" data-copy-target="#ID" data-copied-label="{% trans 'Copied' %}">…</button>
// (templates/components/copy_button.html writes it). A click copies the value of the target
// (input, textarea, select) or its text (anything else) to the clipboard and shows
// data-copied-label (default "Copied") for two seconds. Without the Clipboard API (a page
// served over plain http, an old browser) the text is selected and copied with execCommand;
// it stays selected, so the person can still copy it by hand. Without JavaScript the
// buttons are hidden (manager.css), the text stays selectable.
document.documentElement.classList.add("js");
(function () {
  function textOf(target) {
    return target.matches("input, textarea, select") ? target.value : target.textContent.trim();
  }
  function copyBySelecting(target) {
    if (target.matches("input, textarea")) {
      target.focus();
      target.select();
    } else {
      const range = document.createRange();
      range.selectNodeContents(target);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
    }
    try { return document.execCommand("copy"); } catch (error) { return false; }
  }
  function showCopied(button) {
    if (button.dataset.copyOriginal === undefined) button.dataset.copyOriginal = button.innerHTML;
    button.textContent = button.dataset.copiedLabel || "Copied";
    button.classList.add("copied");
    clearTimeout(button.copyTimer);
    button.copyTimer = setTimeout(function () {
      button.innerHTML = button.dataset.copyOriginal;
      delete button.dataset.copyOriginal;
      button.classList.remove("copied");
    }, 2000);
  }
  document.addEventListener("click", function (event) {
    const button = event.target.closest("button.copy[data-copy-target]");
    const target = button && document.querySelector(button.dataset.copyTarget);
    if (!target) return;
    const text = textOf(target);
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { showCopied(button); }, function () {
        if (copyBySelecting(target)) showCopied(button);
      });
    } else if (copyBySelecting(target)) {
      showCopied(button);
    }
  });
})();
// Time zones: a hidden input with data-browser-time-zone that the server left empty gets the
// browser's IANA zone, so the date-times typed next to it are read in that zone; an element
// with data-time-zone-name (not data-known) then names it.
document.querySelectorAll("input[data-browser-time-zone]").forEach(function (input) {
  const zone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (input.value || !zone) return;
  input.value = zone;
  const name = (input.closest("section") || document).querySelector("[data-time-zone-name]:not([data-known])");
  if (name && name.dataset.template) name.textContent = name.dataset.template.replace("%s", zone);
});
// Selects that act at once (organisation and language switchers): a change submits their
// form. A listener here rather than an onchange attribute: the Content-Security-Policy
// refuses inline handlers.
document.addEventListener("change", function (event) {
  if (event.target.matches("select[data-submit-on-change]")) event.target.form.submit();
});
