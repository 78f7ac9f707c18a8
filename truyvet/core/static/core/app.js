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
