// Communes typed in a declaration form are completed from the places API
// into the shared <datalist id="commune-options">, as "Name, District,
// Province (code)": the code is what the server reads. Keyboard only: the
// browser's datalist takes the arrow keys and Enter.
(function () {
  "use strict";
  const form = document.querySelector("form[data-units-url]");
  if (!form) return;
  const list = document.getElementById("commune-options");
  const url = form.dataset.unitsUrl;
  let timer = null;
  let controller = null;

  function label(unit) {
    return (unit.full_name || unit.name) + " (" + unit.code + ")";
  }

  async function fill(query) {
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const response = await fetch(url + "?level=3&limit=8&q=" + encodeURIComponent(query),
                                   { signal: controller.signal, credentials: "same-origin" });
      if (!response.ok) return;
      const body = await response.json();
      const units = Array.isArray(body) ? body : (body.items || []);
      list.replaceChildren();
      units.forEach((unit) => {
        const option = document.createElement("option");
        option.value = label(unit);
        list.appendChild(option);
      });
    } catch (error) {
      // Offline or aborted: typing the code or the exact name still works.
    }
  }

  form.querySelectorAll("input[data-commune-autocomplete]").forEach((input) => {
    input.addEventListener("input", () => {
      const query = input.value.trim();
      if (query.length < 2 || /\(\d{5}\)$/.test(query)) return;
      clearTimeout(timer);
      timer = setTimeout(() => fill(query), 200);
    });
  });
})();
