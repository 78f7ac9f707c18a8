// Behaviour shared by every page. No page has inline script (the
// Content-Security-Policy forbids it), so small behaviours are declared with
// data- attributes and wired up here.

// Registers the service worker that makes truyvet installable and usable offline.
if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  });
}

// <select data-autosubmit>: submits its form as soon as the choice changes
// (the language switcher; a <noscript> button covers browsers without JS).
document.addEventListener("change", (event) => {
  const field = event.target.closest("[data-autosubmit]");
  if (field && field.form) field.form.submit();
});

// <form data-confirm="question">: asks before submitting.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

// <form data-busy="label">: once sent, its submit buttons are disabled and
// say what is happening, so that a slow action (tracing a busy market takes
// seconds) is not sent twice. Disabled just after the event, once the
// browser has read the form (a disabled button's own value is not sent).
// A page restored by the Back button gets its buttons back.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-busy]");
  if (!form || event.defaultPrevented) return;
  window.setTimeout(() => {
    form.setAttribute("aria-busy", "true");
    for (const button of form.querySelectorAll("button:not([type=button])")) {
      button.dataset.label = button.textContent;
      button.textContent = form.dataset.busy;
      button.disabled = true;
    }
  }, 0);
});
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  for (const form of document.querySelectorAll("form[data-busy][aria-busy]")) {
    form.removeAttribute("aria-busy");
    for (const button of form.querySelectorAll("button[data-label]")) {
      button.textContent = button.dataset.label;
      button.disabled = false;
    }
  }
});

// <input type="checkbox" data-check-all="name">: ticks or unticks every
// checkbox called "name" in its form (the rows of the page shown).
document.addEventListener("change", (event) => {
  const box = event.target.closest("[data-check-all]");
  if (!box || !box.form) return;
  for (const item of box.form.querySelectorAll(`input[type=checkbox][name="${box.dataset.checkAll}"]`)) {
    item.checked = box.checked;
  }
});
