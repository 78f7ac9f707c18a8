// The controller's door page (templates/checkins/control.html).
//
// - Camera: core/qrcamera.js (BarcodeDetector where the browser has one,
//   otherwise frames to POST /api/v1/checkins/decode, zxing-cpp on the
//   server). The same code seen again within a few seconds is not sent twice.
// - Keyboard wedge: a handheld scanner types the code into #wedge and
//   presses Enter; the field keeps the focus.
// - Every scan gets a client UUID and the device time. Online it goes to
//   /staff-scan (or /manual) and the big panel shows the answer at once.
//   Offline, or when the request fails, it is queued in localStorage and
//   the panel shows what the device can tell by itself (the name on a chip
//   ID card or national QR; for our personal QR, whether its Ed25519
//   signature is right, with the key from /personal-qr/public-key). The
//   queue goes to /batch when the network returns (the "online" event and
//   retries with backoff). The batch API is idempotent on the UUIDs, so a
//   retry after a lost answer records nothing twice.
//
// Plain ES2017 for cheap Android phones: no build step, no libraries. All
// user-visible text comes from the template's data-msg-* attributes.
(function () {
  "use strict";
  const root = document.getElementById("controller");
  if (!root) return;

  const $ = (id) => document.getElementById(id);
  const data = root.dataset;
  const panel = $("scan-result");
  const wedge = $("wedge");
  const wedgeForm = $("wedge-form");
  const manualForm = $("manual-form");

  const FRAME_INTERVAL_MS = 400;
  const SAME_CODE_PAUSE_MS = 5000;
  const REQUEST_TIMEOUT_MS = 10000;
  const BATCH_SIZE = 100;
  const RETRY_FIRST_MS = 2000;
  const RETRY_MAX_MS = 60000;
  const PERIODIC_SYNC_MS = 30000;
  const REJECTED_KEEP = 30;
  const QUEUE_KEY = "truyvet.controller.queue.v1." + data.user;
  const REJECTED_KEY = "truyvet.controller.rejected.v1." + data.user;
  const PUBLIC_KEY_KEY = "truyvet.personalQrKey.v1";

  function msg(name, values) {
    const key = "msg" + name.charAt(0).toUpperCase() + name.slice(1);
    let text = data[key] || "";
    if (values) {
      Object.keys(values).forEach((k) => { text = text.split("{" + k + "}").join(values[k]); });
    }
    return text;
  }

  // --- Small helpers -------------------------------------------------------------------

  function uuid() {
    if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(bytes);
    else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.prototype.map.call(bytes, (b) => (b + 0x100).toString(16).slice(1)).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // localStorage survives a reload and a restart of the phone; where it
  // cannot be used (private mode, a full disk) the page keeps going in memory.
  const memoryStore = {};
  let memoryOnly = false;
  function load(key) {
    if (!memoryOnly) {
      try { return JSON.parse(localStorage.getItem(key) || "null"); } catch (error) { memoryOnly = true; }
    }
    return memoryStore[key] === undefined ? null : memoryStore[key];
  }
  function save(key, value) {
    memoryStore[key] = value;
    if (memoryOnly) return;
    try { localStorage.setItem(key, JSON.stringify(value)); } catch (error) { memoryOnly = true; }
  }

  function csrfToken() {
    const found = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return found ? decodeURIComponent(found[1]) : data.csrf;
  }

  function maskName(fullName) {
    const parts = (fullName || "").trim().split(/\s+/).filter(Boolean);
    if (parts.length <= 1) return parts.join("");
    return parts.slice(0, -1).map((p) => p.charAt(0) + ".").join(" ") + " " + parts[parts.length - 1];
  }

  function titleCase(text) {
    return (text || "").toLowerCase().replace(/(^|\s)(\S)/g, (m, space, ch) => space + ch.toUpperCase());
  }

  // --- Sound and vibration ------------------------------------------------------------

  let audio = null;
  function unlockAudio() {
    // Browsers allow sound only after a user gesture; the first one creates it.
    if (audio || !(window.AudioContext || window.webkitAudioContext)) return;
    try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (error) { audio = null; }
  }
  document.addEventListener("pointerdown", unlockAudio, { passive: true });
  document.addEventListener("keydown", unlockAudio);

  function tone(frequency, start, length) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = frequency;
    osc.type = "square";
    gain.gain.value = 0.08;
    osc.connect(gain);
    gain.connect(audio.destination);
    osc.start(audio.currentTime + start);
    osc.stop(audio.currentTime + start + length);
  }

  function cue(good) {
    if (audio) {
      try {
        if (audio.state === "suspended") audio.resume();
        if (good) tone(1320, 0, 0.09);
        else { tone(330, 0, 0.12); tone(330, 0.18, 0.12); }
      } catch (error) { /* no sound is fine */ }
    }
    if (navigator.vibrate) navigator.vibrate(good ? 60 : [90, 60, 90]);
  }

  // --- The result panel -----------------------------------------------------------------

  const field = (name) => panel.querySelector('[data-field="' + name + '"]');
  let shownId = null;

  function colourLabel(colour) {
    if (colour === "green") return msg("colourGreen");
    if (colour === "yellow") return msg("colourYellow");
    if (colour === "red") return msg("colourRed");
    return msg("noColour");
  }

  // Renders synchronously: the panel must change within 300 ms of an answer.
  function show(state, opts) {
    panel.className = "scan-result is-" + state;
    field("title").textContent = opts.title || "";
    field("detail").textContent = opts.detail || "";
    const colour = field("colour");
    if (opts.colour === undefined) {
      colour.hidden = true;
    } else {
      colour.hidden = false;
      colour.className = "result-colour colour-" + (opts.colour || "none");
      colour.textContent = opts.colourText || colourLabel(opts.colour);
    }
    const note = field("note");
    note.textContent = opts.note || "";
    note.hidden = !opts.note;
    // Further lines of a code claimed by another app (a declaration QR at a checkpoint).
    const lines = field("lines");
    if (lines) {
      lines.replaceChildren();
      (opts.lines || []).forEach((text) => {
        const item = document.createElement("li");
        item.textContent = text;
        lines.appendChild(item);
      });
      lines.hidden = !(opts.lines && opts.lines.length);
    }
    shownId = opts.id || null;
  }

  function showServerDisplay(display, id) {
    show(display.outcome, {
      id: id,
      title: display.name + (display.birth_year ? " · " + display.birth_year : ""),
      detail: display.outcome_label + " · " + display.method_label,
      colour: display.card_colour || null,
      lines: display.lines || [],
    });
  }

  // The API's error with the details it lists (e.g. which field of a card is wrong).
  function reasonFrom(body, fallback) {
    if (!body) return String(fallback || "");
    const details = (body.errors || []).map((e) => e.message).filter(Boolean);
    return [body.error || String(fallback || "")].concat(details).join(" ");
  }

  function showRejected(reason, id, label) {
    show("error", { id: id, title: msg("rejected"), detail: reason, note: label || "" });
  }

  // --- What the device can tell by itself (offline) -----------------------------------

  const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  // Optionally followed by a signed colour claim (issue 16):
  // .<G|Y|R><expires, Unix seconds>.<signature over TV1C.<ref>.<version>.<G|Y|R><expires>>
  const PERSONAL_QR = /^TV1\.([A-Z2-7]{12})\.([1-9][0-9]{0,4})\.([A-Z2-7]{103})(?:\.([GYR])([0-9]{10})\.([A-Z2-7]{103}))?$/;
  const CLAIM_COLOURS = { G: "green", Y: "yellow", R: "red" };

  // RFC 4648 base32 without padding; null unless canonical (unused bits 0).
  function base32Decode(text) {
    const out = [];
    let bits = 0;
    let value = 0;
    for (let i = 0; i < text.length; i++) {
      const index = BASE32.indexOf(text.charAt(i));
      if (index < 0) return null;
      value = (value << 5) | index;
      bits += 5;
      if (bits >= 8) {
        bits -= 8;
        out.push((value >>> bits) & 0xff);
      }
    }
    if (bits && (value & ((1 << bits) - 1))) return null;
    return new Uint8Array(out);
  }

  let verifyKey = null;
  async function loadPublicKey() {
    let known = load(PUBLIC_KEY_KEY);
    if (navigator.onLine) {
      try {
        const response = await fetch(data.publicKeyUrl, { credentials: "same-origin" });
        if (response.ok) {
          const body = await response.json();
          known = { key_id: body.key_id, public_key: body.public_key };
          save(PUBLIC_KEY_KEY, known);
        }
      } catch (error) { /* the stored key will do */ }
    }
    if (!known || !window.crypto || !crypto.subtle) return;
    try {
      const raw = Uint8Array.from(atob(known.public_key), (c) => c.charCodeAt(0));
      verifyKey = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    } catch (error) {
      verifyKey = null; // No Ed25519 in this browser: "will check when online".
    }
  }

  // true (signed by us), false (forged or malformed), null (cannot tell).
  async function personalQrSignatureOk(token) {
    const match = PERSONAL_QR.exec(token);
    if (!match) return false;
    if (!verifyKey) return null;
    const signature = base32Decode(match[3]);
    if (!signature || signature.length !== 64) return false;
    const signed = new TextEncoder().encode("TV1." + match[1] + "." + match[2]);
    try {
      const ok = await crypto.subtle.verify({ name: "Ed25519" }, verifyKey, signature, signed);
      // A colour claim that is not ours makes the whole code a forgery,
      // as the server holds it (an expired one is still ours, just stale).
      return ok && (!match[4] || (await claimSignatureOk(match)));
    } catch (error) {
      return null;
    }
  }

  async function claimSignatureOk(match) {
    const signature = base32Decode(match[6]);
    if (!signature || signature.length !== 64) return false;
    const signed = new TextEncoder().encode(
      "TV1C." + match[1] + "." + match[2] + "." + match[4] + match[5]);
    return crypto.subtle.verify({ name: "Ed25519" }, verifyKey, signature, signed);
  }

  // The colour a personal QR's signed claim states, while it has not
  // expired; null without a claim, or one that is expired or not ours.
  async function personalQrClaim(token) {
    const match = PERSONAL_QR.exec(token);
    if (!match || !match[4] || !verifyKey) return null;
    const expires = parseInt(match[5], 10);
    if (!(expires * 1000 > Date.now())) return null;
    try {
      return (await claimSignatureOk(match)) ? CLAIM_COLOURS[match[4]] : null;
    } catch (error) {
      return null;
    }
  }

  // Mirrors checkins/parsers.py classify_payload, by shape only.
  function payloadKind(text) {
    if (/^TV1\./i.test(text)) return "personal_qr";
    if (/^https?:\/\/\S+\/v\/\S+$/i.test(text)) return "venue";
    if (text.indexOf("|") < 0) return "unknown";
    const fields = text.split("|").map((f) => f.trim());
    const third = fields[2] || "";
    const fourth = fields[3] || "";
    if (third.indexOf("-") >= 0 && /^[0-9*]{4}(-[0-9*]{2}-[0-9*]{2})?$/.test(third)) return "national_qr";
    if (fields[0].indexOf("*") >= 0 || fourth === "0" || fourth === "1") return "national_qr";
    if (/^\d{8}$/.test(fourth) || /^\d+$/.test(fields[0])) return "cccd";
    return "unknown";
  }

  // {title, detail, reject}: what to show before the server has answered.
  async function localVerdict(payload) {
    const kind = payloadKind(payload);
    const fields = payload.split("|").map((f) => f.trim());
    if (kind === "personal_qr") {
      const ok = await personalQrSignatureOk(payload);
      if (ok === false) {
        return {
          title: msg("personalQr"),
          reject: PERSONAL_QR.test(payload) ? msg("personalQrForged") : msg("personalQrMalformed"),
        };
      }
      const claimed = ok ? await personalQrClaim(payload) : null;
      return {
        title: msg("personalQr"),
        detail: ok ? msg("personalQrValid") : msg("checkLater"),
        colour: claimed || undefined,
      };
    }
    if (kind === "cccd") {
      const year = /^\d{8}$/.test(fields[3] || "") ? " · " + fields[3].slice(4) : "";
      return { title: maskName(fields[2]) + year, detail: "CCCD" };
    }
    if (kind === "national_qr") {
      const year = /^\d{4}/.test(fields[2] || "") ? " · " + fields[2].slice(0, 4) : "";
      return { title: maskName(titleCase(fields[1])) + year, detail: "PC-Covid / VNEID" };
    }
    if (/^TVD1\./i.test(payload)) {
      // A declaration QR carries its expiry (Unix seconds, signed; the server checks the signature).
      const expires = parseInt(payload.split(".")[2] || "0", 10) * 1000;
      if (expires && expires < Date.now()) {
        return { title: msg("declarationQr"), reject: msg("declarationQrExpired") };
      }
      return { title: msg("declarationQr"), detail: msg("checkLater") };
    }
    return { title: msg("unknownCode"), detail: msg("checkLater") };
  }

  // --- The offline queue ----------------------------------------------------------------

  const queueRead = () => load(QUEUE_KEY) || [];
  const queueWrite = (items) => { save(QUEUE_KEY, items); renderQueue(); };
  let networkDown = false;

  function syncMessage(text, withLogin) {
    const line = $("sync-message");
    line.textContent = text;
    if (withLogin) {
      const link = document.createElement("a");
      link.href = data.loginUrl;
      link.textContent = msg("login");
      line.appendChild(document.createTextNode(" "));
      line.appendChild(link);
    }
  }

  function renderQueue() {
    const count = queueRead().length;
    $("queue-count").textContent = String(count);
    root.dataset.queued = String(count);
    $("queue-status").classList.toggle("has-waiting", count > 0);
    $("sync-now").hidden = count === 0;
    $("offline-banner").hidden = navigator.onLine && !networkDown;
  }

  function enqueue(item) {
    const items = queueRead();
    items.push(item);
    queueWrite(items);
  }

  function rememberRejected(item, reason) {
    const list = load(REJECTED_KEY) || [];
    list.unshift({ at: item.scanned_at, label: item.label || "", reason: reason });
    save(REJECTED_KEY, list.slice(0, REJECTED_KEEP));
    renderRejected();
  }

  function renderRejected() {
    const list = load(REJECTED_KEY) || [];
    const ul = $("rejected-list");
    ul.textContent = "";
    list.forEach((entry) => {
      const li = document.createElement("li");
      const when = new Date(entry.at);
      const strong = document.createElement("strong");
      strong.textContent = (isNaN(when) ? "" : when.toLocaleTimeString() + " · ") + (entry.label || "");
      li.appendChild(strong);
      li.appendChild(document.createTextNode(" — " + entry.reason));
      ul.appendChild(li);
    });
    $("rejected").hidden = list.length === 0;
  }

  // The body the API takes: the queue item without what is only for display.
  function wireItem(item) {
    const body = { id: item.id, kind: item.kind, venue: item.venue, scanned_at: item.scanned_at };
    ["payload", "full_name", "phone", "id_number", "id_kind", "street", "birth_date",
     "separate", "person_id"].forEach((name) => {
      if (item[name] !== undefined && item[name] !== null && item[name] !== "") body[name] = item[name];
    });
    return body;
  }

  let syncing = false;
  let retryTimer = null;
  let failures = 0;

  function scheduleSync(delay) {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => { retryTimer = null; sync(); }, delay);
  }

  function retryLater(retryAfterSeconds) {
    failures += 1;
    let delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * Math.pow(2, failures - 1));
    if (retryAfterSeconds) delay = Math.max(delay, retryAfterSeconds * 1000);
    delay += Math.floor(Math.random() * 500);
    syncMessage(msg("retry", { seconds: Math.round(delay / 1000) }));
    scheduleSync(delay);
  }

  function applyResults(results, sent) {
    const byId = {};
    results.forEach((r) => { byId[r.id] = r; });
    const done = {};
    sent.forEach((item) => {
      const result = byId[item.id];
      if (!result) return;
      done[item.id] = true;
      if (result.ok) {
        if (shownId === item.id && result.display) showServerDisplay(result.display, item.id);
      } else {
        const reason = reasonFrom(result, result.code);
        rememberRejected(item, reason);
        if (shownId === item.id) showRejected(reason, item.id, item.label);
      }
    });
    queueWrite(queueRead().filter((item) => !done[item.id]));
    return Object.keys(done).length;
  }

  // Sends the queue, BATCH_SIZE items at a time, until it is empty or a
  // request fails (then it retries with backoff).
  async function sync(chunkSize) {
    if (syncing) return;
    const size = chunkSize || BATCH_SIZE;
    const items = queueRead().slice(0, size);
    if (!items.length) { failures = 0; return; }
    syncing = true;
    clearTimeout(retryTimer);
    retryTimer = null;
    let next = null;
    try {
      const answer = await postJson(data.batchUrl, { items: items.map(wireItem) });
      networkDown = false;
      if (answer.status === 200 && answer.body && Array.isArray(answer.body.results)) {
        if (applyResults(answer.body.results, items)) {
          failures = 0;
          if (!queueRead().length) syncMessage(msg("synced"));
          next = 0;
        } else {
          retryLater(0); // An answer about none of the items: do not spin.
        }
      } else if (answer.status === 401 || answer.status === 403) {
        // Logged out (or the CSRF cookie changed): keep everything until the
        // controller logs in again; the next "online" or the button retries.
        syncMessage(msg("sessionExpired"), true);
      } else if (answer.status !== 400 && answer.status !== 422) {
        retryLater(answer.retryAfter);
      } else if (items.length > 1) {
        // The batch as a whole was refused (an item the API cannot read):
        // send one at a time so that only that item is set aside.
        next = 1;
      } else {
        const reason = reasonFrom(answer.body, answer.status);
        rememberRejected(items[0], reason);
        queueWrite(queueRead().filter((item) => item.id !== items[0].id));
        next = 1;
      }
    } catch (error) {
      networkDown = true;
      retryLater(0);
    } finally {
      syncing = false;
      renderQueue();
    }
    if (next !== null && queueRead().length) sync(next || BATCH_SIZE);
  }

  async function postJson(url, body) {
    const controller = window.AbortController ? new AbortController() : null;
    const timer = controller ? setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS) : null;
    try {
      const response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(body),
        signal: controller ? controller.signal : undefined,
      });
      const parsed = await response.json().catch(() => null);
      return {
        status: response.status,
        body: parsed,
        retryAfter: parseInt(response.headers.get("Retry-After") || "0", 10) || 0,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  // --- Recording one scan -----------------------------------------------------------------

  // Online and with nothing queued, the scan goes straight to the server,
  // which has the last word. Otherwise it joins the queue (so that scans
  // reach the server in order) and the panel shows what ``verdict()`` (the
  // device's own reading of the code) can tell; a code the device knows to
  // be forged is refused there and then, and not queued.
  async function record(item, url, body, verdict) {
    item.id = uuid();
    item.venue = data.venue;
    item.scanned_at = new Date().toISOString();
    if (navigator.onLine && !queueRead().length) {
      let answer = null;
      try {
        answer = await postJson(url, Object.assign({ id: item.id, venue: item.venue,
                                                     scanned_at: item.scanned_at }, body));
      } catch (error) {
        networkDown = true;
      }
      if (answer) {
        networkDown = false;
        if ((answer.status === 200 || answer.status === 201) && answer.body) {
          showServerDisplay(answer.body.display, item.id);
          cue(true);
          renderQueue();
          return true;
        }
        if (answer.status === 401) {
          showRejected(msg("sessionExpired"), item.id);
          cue(false);
          return false;
        }
        if (answer.status < 500 && answer.status !== 429) {
          showRejected(reasonFrom(answer.body, answer.status), item.id);
          cue(false);
          return false;
        }
        // 429 and 5xx: the scan is real, keep it for later.
        syncMessage(msg("serverError"));
      }
    }
    const local = await verdict();
    if (local.reject) {
      showRejected(local.reject, item.id, local.title);
      cue(false);
      renderQueue();
      return false;
    }
    item.label = local.title;
    enqueue(item);
    show("queued", {
      id: item.id,
      title: local.title,
      detail: local.detail,
      // A signed colour claim on the personal QR shows offline (issue 16).
      colour: local.colour || null,
      colourText: local.colour ? colourLabel(local.colour) + " " + msg("colourFromClaim")
        : msg("colourLater"),
      note: msg("queued"),
    });
    cue(true);
    renderQueue();
    if (navigator.onLine) scheduleSync(networkDown ? RETRY_FIRST_MS : 0);
    return true;
  }

  function scan(payload) {
    return record({ kind: "staff_scan", payload: payload }, data.staffScanUrl,
                  { payload: payload }, () => localVerdict(payload));
  }

  // --- Keyboard wedge ----------------------------------------------------------------------

  function focusWedge() {
    if (document.activeElement !== wedge) wedge.focus({ preventScroll: true });
  }

  // Back to the page: to the scanner's field, unless another field has the focus.
  function refocusWedge() {
    const active = document.activeElement;
    if (!active || active === document.body || active === wedge) focusWedge();
  }

  wedgeForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const payload = wedge.value.trim();
    wedge.value = "";
    focusWedge();
    if (payload) scan(payload);
  });

  // Keep the scanner's field focused, unless the user is typing elsewhere.
  document.addEventListener("click", (event) => {
    if (event.target.closest("input, textarea, select, summary, a, #manual")) return;
    focusWedge();
  });
  window.addEventListener("focus", refocusWedge);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refocusWedge(); });

  // --- Camera (core/qrcamera.js) ------------------------------------------------------

  const cameraButton = $("camera-toggle");
  const cameraStatus = (text) => { $("camera-status").textContent = text || ""; };
  const camera = window.TruyvetQrCamera({
    video: $("camera-video"),
    decodeUrl: data.decodeUrl,
    csrfToken: csrfToken,
    // A visitor's code rather than a venue poster seen in the background.
    pick: (results) => results.filter((r) => r.kind !== "venue")[0] || results[0],
    onCode: (text) => scan(text),
    onStatus: (name, values) => {
      if (name === "on") {
        root.dataset.camera = "on";
        root.dataset.decoder = values.decoder;
        cameraButton.textContent = msg("cameraOff");
        cameraButton.classList.add("secondary-button");
        cameraStatus(msg("cameraLooking"));
      } else if (name === "off" || name === "stopping") {
        root.dataset.camera = name;
      } else if (name === "starting") {
        root.dataset.camera = "starting";
        cameraStatus(msg("cameraStarting"));
      } else if (name === "denied") {
        root.dataset.camera = "off";
        cameraStatus(msg("cameraDenied"));
      } else if (name === "unsupported") {
        cameraStatus(msg("cameraUnsupported"));
      } else if (name === "needsNetwork") {
        cameraStatus(msg("cameraNeedsNetwork"));
      } else if (name === "busy") {
        cameraStatus(msg("cameraBusy", values));
      } else if (name === "looking") {
        cameraStatus(msg("cameraLooking"));
      }
    },
  });

  async function startCamera() {
    if (await camera.start()) $("camera-view").hidden = false;
  }

  function stopCamera() {
    camera.stop();
    $("camera-view").hidden = true;
    cameraButton.textContent = msg("cameraOn");
    cameraButton.classList.remove("secondary-button");
    cameraStatus("");
  }

  cameraButton.hidden = false;
  cameraButton.addEventListener("click", () => {
    unlockAudio();
    if (camera.running() || root.dataset.camera === "starting") stopCamera();
    else startCamera();
  });
  document.addEventListener("visibilitychange", () => {
    // A phone in a pocket should not keep the camera on.
    if (document.hidden && camera.running()) stopCamera();
  });

  // --- Manual entry ------------------------------------------------------------------------

  if (manualForm) {
    document.addEventListener("click", (event) => {
      const pick = event.target.closest(".pick");
      if (!pick) return;
      manualForm.elements.person_id.value = pick.dataset.personId;
      // The number the visitor told, sent along: the server accepts a
      // picked person only with their phone or document number (or a
      // recent visit here), so ids cannot be guessed; and someone with an
      // account or a document number only with their birth date.
      const asked = $("lookup").value.trim();
      manualForm.dataset.asked = /\d/.test(asked) ? asked : "";
      manualForm.dataset.pickedName = pick.dataset.name;
      const picked = $("picked");
      picked.textContent = pick.dataset.name;
      picked.hidden = false;
    });
    manualForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const f = manualForm.elements;
      const body = {
        full_name: f.full_name.value.trim(), phone: f.phone.value.trim(),
        id_number: f.id_number.value.trim(), id_kind: f.id_kind.value,
        street: f.street.value.trim(),
      };
      // The document type is an explicit choice: ask for it before sending.
      if (body.id_number && !body.id_kind && !f.person_id.value) {
        f.id_kind.setCustomValidity(f.id_kind.dataset.required || "");
        f.id_kind.reportValidity();
        f.id_kind.setCustomValidity("");
        return;
      }
      // Checked against the record of the number or of the person picked.
      if (f.birth_date.value) body.birth_date = f.birth_date.value;
      if (f.separate.checked) body.separate = true;
      if (f.person_id.value) {
        body.person_id = parseInt(f.person_id.value, 10);
        const asked = manualForm.dataset.asked || "";
        if (asked && !body.phone && !body.id_number) {
          body.phone = asked;
          body.id_number = asked;
        }
      }
      const name = body.person_id ? manualForm.dataset.pickedName : maskName(body.full_name);
      const item = Object.assign({ kind: "manual" }, body);
      const verdict = () => Promise.resolve({ title: name, detail: msg("manual") });
      if (await record(item, data.manualUrl, body, verdict)) {
        manualForm.reset();
        f.person_id.value = "";
        manualForm.dataset.asked = "";
        manualForm.dataset.pickedName = "";
        $("picked").hidden = true;
        focusWedge();
      }
    });
  }

  // --- Network state -----------------------------------------------------------------------

  window.addEventListener("online", () => {
    networkDown = false;
    failures = 0;
    renderQueue();
    scheduleSync(0);
    if (!verifyKey) loadPublicKey();
  });
  window.addEventListener("offline", renderQueue);
  $("sync-now").addEventListener("click", () => { failures = 0; scheduleSync(0); });
  $("rejected-clear").addEventListener("click", () => { save(REJECTED_KEY, []); renderRejected(); });
  setInterval(() => {
    if (!syncing && !retryTimer && queueRead().length) sync();
  }, PERIODIC_SYNC_MS);

  renderQueue();
  renderRejected();
  loadPublicKey();
  scheduleSync(0);
  focusWedge();
  root.dataset.ready = "true";
})();
