// The certificate verifier page (templates/certificates/verify.html).
//
// The camera (core/qrcamera.js) reads a QR; the code is posted to this
// page with ?partial=1 and the server's result panel replaces the old one.
// The parts of a chunked SMART Health Card (shc:/i/n/…) are collected until
// the set is complete, then sent together. Pasting and uploading work
// without JavaScript through the page's form.
(function () {
  "use strict";
  const root = document.getElementById("verifier");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const data = root.dataset;
  const CHUNK = /^shc:\/(\d+)\/(\d+)\//;

  function msg(name, values) {
    const key = "msg" + name.charAt(0).toUpperCase() + name.slice(1);
    let text = data[key] || "";
    Object.keys(values || {}).forEach((k) => { text = text.split("{" + k + "}").join(values[k]); });
    return text;
  }

  function csrfToken() {
    const found = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return found ? decodeURIComponent(found[1]) : data.csrf;
  }

  const status = (text) => { $("camera-status").textContent = text || ""; };
  let chunks = { total: 0, parts: {} };

  async function verify(text) {
    status(msg("checking"));
    const form = new FormData();
    form.append("text", text);
    let response;
    try {
      response = await fetch(data.verifyUrl, {
        method: "POST", credentials: "same-origin", body: form,
        headers: { "X-CSRFToken": csrfToken() },
      });
    } catch (error) {
      status(msg("failed"));
      return;
    }
    const html = await response.text();
    // Our own server-rendered fragment (certificates/_results.html).
    $("cert-results").innerHTML = html;
    const first = $("cert-results").querySelector(".cert-result");
    root.dataset.result = first && first.dataset.valid === "true" ? "valid" : "invalid";
    status(camera.running() ? msg("cameraLooking") : "");
  }

  async function onCode(text) {
    const part = CHUNK.exec(text);
    if (!part || part[2] === "1") return verify(text);
    const index = parseInt(part[1], 10);
    const total = parseInt(part[2], 10);
    if (chunks.total !== total) chunks = { total: total, parts: {} };
    chunks.parts[index] = text;
    const have = Object.keys(chunks.parts).length;
    if (have < total) {
      status(msg("chunk", { have: have, total: total }));
      return undefined;
    }
    const joined = Object.keys(chunks.parts).sort((a, b) => a - b).map((k) => chunks.parts[k]);
    chunks = { total: 0, parts: {} };
    return verify(joined.join("\n"));
  }

  const button = $("camera-toggle");
  const camera = window.TruyvetQrCamera({
    video: $("camera-video"),
    decodeUrl: data.decodeUrl,
    csrfToken: csrfToken,
    pick: (results) => results.filter((r) => r.kind)[0] || results[0],
    onCode: onCode,
    onStatus: (name, values) => {
      root.dataset.camera = name === "on" || name === "off" || name === "starting" ? name : root.dataset.camera;
      if (name === "on") {
        root.dataset.decoder = values.decoder;
        button.textContent = msg("cameraOff");
        status(msg("cameraLooking"));
      } else if (name === "starting") status(msg("cameraStarting"));
      else if (name === "denied") { root.dataset.camera = "off"; status(msg("cameraDenied")); }
      else if (name === "unsupported") status(msg("cameraUnsupported"));
      else if (name === "needsNetwork") status(msg("cameraNeedsNetwork"));
      else if (name === "busy") status(msg("cameraBusy", values));
    },
  });

  button.hidden = false;
  button.addEventListener("click", async () => {
    if (camera.running()) {
      camera.stop();
      $("camera-view").hidden = true;
      button.textContent = msg("cameraOn");
      status("");
    } else if (await camera.start()) {
      $("camera-view").hidden = false;
    }
  });
  document.addEventListener("visibilitychange", () => {
    if (document.hidden && camera.running()) {
      camera.stop();
      $("camera-view").hidden = true;
      button.textContent = msg("cameraOn");
    }
  });
  root.dataset.ready = "true";
})();
