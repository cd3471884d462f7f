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
