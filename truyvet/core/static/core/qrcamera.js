// Reading QR codes with the phone's camera, shared by the pages that scan
// (the controller's door page, the certificate verifier).
//
// getUserMedia on the rear camera. Where the browser has a BarcodeDetector
// for QR codes it reads them itself; otherwise a downscaled frame goes to
// the page's decode endpoint every ~400 ms (zxing-cpp on the server), which
// answers {"results": [{"text", "kind"}]}. A frame that did not change is
// not sent again, and the same code seen again within a few seconds is not
// reported twice.
//
//   const camera = TruyvetQrCamera({
//     video,                  // the <video> element
//     decodeUrl,              // POST multipart "image" -> {"results": [...]}
//     csrfToken: () => "...",
//     pick: (results) => result,   // which of a frame's codes to report (default: the first)
//     onCode: async (text) => {},  // a code read; the camera waits for it
//     onStatus: (name, values) => {},  // starting, looking, denied, unsupported,
//                                      // needsNetwork, busy {seconds}, on, off, stopping
//   });
//   camera.start(); camera.stop(); camera.running();
//
// Plain ES2017 for cheap Android phones: no build step, no libraries.
(function () {
  "use strict";

  const FRAME_INTERVAL_MS = 400;
  const SAME_CODE_PAUSE_MS = 5000;

  async function qrDetector() {
    if (!("BarcodeDetector" in window)) return null;
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.indexOf("qr_code") < 0) return null;
      return new window.BarcodeDetector({ formats: ["qr_code"] });
    } catch (error) {
      return null;
    }
  }

  window.TruyvetQrCamera = function (options) {
    const video = options.video;
    const status = options.onStatus || function () {};
    const pick = options.pick || ((results) => results[0]);
    let stream = null;
    let detector = null;
    let timer = null;
    let lastCode = { text: "", at: 0 };
    let canvas = null;
    let thumb = null;
    let lastFrame = { sig: null, at: 0, found: false };

    // A 16 × 12 grey thumbnail: frames that did not change need not be sent again.
    function frameSignature(source) {
      if (!thumb) {
        thumb = document.createElement("canvas");
        thumb.width = 16;
        thumb.height = 12;
      }
      const ctx = thumb.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(source, 0, 0, 16, 12);
      const pixels = ctx.getImageData(0, 0, 16, 12).data;
      const sig = new Uint8Array(192);
      for (let i = 0; i < 192; i++) sig[i] = (pixels[i * 4] + pixels[i * 4 + 1] + pixels[i * 4 + 2]) / 3;
      return sig;
    }

    function sameFrame(a, b) {
      if (!a || !b) return false;
      let diff = 0;
      for (let i = 0; i < a.length; i++) diff += Math.abs(a[i] - b[i]);
      return diff / a.length < 4;
    }

    async function decodeOnServer() {
      const width = video.videoWidth;
      const height = video.videoHeight;
      if (!width || !height) return { text: null };
      const sig = frameSignature(video);
      const now = Date.now();
      if (!lastFrame.found && sameFrame(sig, lastFrame.sig) && now - lastFrame.at < 2000) {
        return { text: null };
      }
      const scale = Math.min(1, 800 / Math.max(width, height));
      if (!canvas) canvas = document.createElement("canvas");
      canvas.width = Math.round(width * scale);
      canvas.height = Math.round(height * scale);
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
      if (!blob) return { text: null };
      const form = new FormData();
      form.append("image", blob, "frame.jpg");
      const response = await fetch(options.decodeUrl, {
        method: "POST", credentials: "same-origin", body: form,
        headers: { "X-CSRFToken": options.csrfToken() },
      });
      if (response.status === 429) {
        return { text: null, pause: parseInt(response.headers.get("Retry-After") || "5", 10) || 5 };
      }
      if (!response.ok) return { text: null };
      const body = await response.json();
      const results = body.results || [];
      const best = results.length ? pick(results) : null;
      lastFrame = { sig: sig, at: now, found: Boolean(best) };
      return { text: best ? best.text : null };
    }

    async function tick() {
      timer = null;
      if (!stream) return status("off");
      let delay = FRAME_INTERVAL_MS;
      if (!document.hidden && video.readyState >= 2) {
        let text = null;
        try {
          if (detector) {
            const codes = await detector.detect(video);
            text = codes.length ? codes[0].rawValue : null;
          } else if (!navigator.onLine) {
            status("needsNetwork");
            delay = 2000;
          } else {
            const found = await decodeOnServer();
            text = found.text;
            if (found.pause) {
              status("busy", { seconds: found.pause });
              delay = found.pause * 1000;
            } else {
              status("looking");
            }
          }
        } catch (error) {
          status(navigator.onLine ? "looking" : "needsNetwork");
          delay = 1500;
        }
        // The same code is reported once while it stays in view, and again
        // only after it has been out of view for SAME_CODE_PAUSE_MS.
        const now = Date.now();
        if (text) {
          const repeat = text === lastCode.text && now - lastCode.at < SAME_CODE_PAUSE_MS;
          lastCode = { text: text, at: now };
          if (!repeat && stream) await options.onCode(text.trim());
        }
      }
      if (!stream) return status("off");
      timer = setTimeout(tick, delay);
    }

    async function start() {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        status("unsupported");
        return false;
      }
      status("starting");
      try {
        stream = await navigator.mediaDevices.getUserMedia({
          audio: false,
          video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
        });
      } catch (error) {
        stream = null;
        status("denied");
        return false;
      }
      video.srcObject = stream;
      try { await video.play(); } catch (error) { /* autoplay muted video normally plays */ }
      detector = await qrDetector();
      status("on", { decoder: detector ? "browser" : "server" });
      timer = setTimeout(tick, 0);
      return true;
    }

    function stop() {
      if (stream) stream.getTracks().forEach((track) => track.stop());
      stream = null;
      video.srcObject = null;
      if (timer) {
        // No frame is being read: stopped now. Otherwise tick stops after
        // the frame in flight.
        clearTimeout(timer);
        timer = null;
        status("off");
      } else {
        status("stopping");
      }
    }

    return { start: start, stop: stop, running: () => Boolean(stream) };
  };
})();
