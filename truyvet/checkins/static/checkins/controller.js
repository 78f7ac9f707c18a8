// The controller's door page, minimal version: a handheld scanner types the
// code into the focused field and presses Enter; the text is posted to
// /api/v1/checkins/staff-scan and the result fills the big panel. Manual
// entry posts to /api/v1/checkins/manual. (Camera scanning, the offline
// queue and counters are added on top of this.)
(function () {
  "use strict";
  const root = document.getElementById("controller");
  if (!root) return;
  const panel = document.getElementById("scan-result");
  const wedge = document.getElementById("wedge");
  const wedgeForm = document.getElementById("wedge-form");
  const manualForm = document.getElementById("manual-form");

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
      (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16));
  }

  function show(kind, title, detail, colour) {
    panel.className = "scan-result is-" + kind;
    panel.querySelector('[data-field="title"]').textContent = title;
    panel.querySelector('[data-field="detail"]').textContent = detail || "";
    let colourEl = panel.querySelector('[data-field="colour"]');
    if (colour !== undefined) {
      if (!colourEl) {
        colourEl = document.createElement("p");
        colourEl.dataset.field = "colour";
        panel.appendChild(colourEl);
      }
      colourEl.className = "result-colour colour-" + (colour || "none");
      colourEl.textContent = colour || root.dataset.msgNoColour;
    } else if (colourEl) {
      colourEl.remove();
    }
    if (navigator.vibrate) navigator.vibrate(kind === "error" ? [80, 60, 80] : 60);
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    return { response, data };
  }

  async function record(url, body) {
    body.venue = root.dataset.venue;
    body.id = uuid();
    body.scanned_at = new Date().toISOString();
    try {
      const { response, data } = await post(url, body);
      if (response.ok) {
        const d = data.display;
        show(data.outcome, d.name + (d.birth_year ? " · " + d.birth_year : ""),
             d.outcome_label + " · " + d.method_label, d.card_colour);
        return true;
      }
      show("error", root.dataset.msgRejected, data.error || response.statusText);
    } catch (error) {
      show("error", root.dataset.msgRejected, root.dataset.msgNetwork);
    }
    return false;
  }

  wedgeForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const payload = wedge.value.trim();
    wedge.value = "";
    wedge.focus();
    if (payload) await record(root.dataset.staffScanUrl, { payload });
  });

  // Keep the scanner's field focused, unless the user is typing elsewhere.
  document.addEventListener("click", (event) => {
    if (!event.target.closest("input, textarea, select, button, summary, a")) wedge.focus();
  });

  if (manualForm) {
    document.addEventListener("click", (event) => {
      const pick = event.target.closest(".pick");
      if (!pick) return;
      manualForm.elements.person_id.value = pick.dataset.personId;
      // The number the visitor told, sent along: the server accepts a
      // picked person only with their phone or document number (or a
      // recent visit here), so ids cannot be guessed.
      const asked = document.getElementById("lookup").value.trim();
      manualForm.dataset.asked = /\d/.test(asked) ? asked : "";
      const picked = document.getElementById("picked");
      picked.textContent = pick.dataset.name;
      picked.hidden = false;
    });
    manualForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const f = manualForm.elements;
      const body = {
        full_name: f.full_name.value, phone: f.phone.value, id_number: f.id_number.value,
      };
      if (f.person_id.value) {
        body.person_id = parseInt(f.person_id.value, 10);
        const asked = manualForm.dataset.asked || "";
        if (asked && !body.phone && !body.id_number) {
          body.phone = asked;
          body.id_number = asked;
        }
      }
      if (await record(root.dataset.manualUrl, body)) {
        manualForm.reset();
        f.person_id.value = "";
        manualForm.dataset.asked = "";
        document.getElementById("picked").hidden = true;
        wedge.focus();
      }
    });
  }
})();
