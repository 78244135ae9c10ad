/*
 * In-app QR scanner for asset labels.
 *
 * Expected markup (IDs are fixed, messages come from data-* attributes so the
 * template can translate them):
 *
 *   <video id="scanner-video" playsinline muted
 *          data-msg-denied="…" data-msg-notfound="…" data-msg-unsupported="…"
 *          data-msg-error="…" data-msg-invalid="…" data-msg-opening="…"></video>
 *   <canvas id="scanner-canvas" hidden></canvas>
 *   <div id="scanner-result" aria-live="polite"></div>
 *   <form id="scanner-manual"><input name="token"> <button>…</button></form>
 *
 * Requires the vendored jsQR (static/vendor/jsqr/jsQR.js) to be loaded first;
 * it defines window.jsQR. Works as a classic script or as type="module".
 *
 * Note: browsers only expose getUserMedia on secure origins (HTTPS or
 * localhost); on a plain-HTTP intranet the "unsupported" message is shown and
 * the manual form remains usable.
 */
(function () {
  "use strict";

  var LABEL_PREFIX = "/a/";
  // Longest side of the frame handed to jsQR; labels fill most of the view,
  // so downscaling keeps decoding fast on phones without hurting accuracy.
  var MAX_SCAN_SIDE = 640;

  var DEFAULT_MESSAGES = {
    denied: "Camera access was denied. Allow camera access or enter the code below.",
    notfound: "No camera was found. Enter the code below.",
    unsupported: "This browser cannot open the camera here. Enter the code below.",
    error: "The camera could not be started. Enter the code below.",
    invalid: "This QR code is not an asset label.",
    opening: "Opening…",
  };

  /**
   * Map decoded QR text to a same-origin path, or null if it is not a label.
   *  - same-origin URL whose path starts with /a/  -> its path (+ query)
   *  - any other http(s) URL whose path contains /a/ -> the part from /a/ on
   */
  function targetFromText(text, origin) {
    if (typeof text !== "string") return null;
    text = text.trim();
    if (!text) return null;
    origin = origin || window.location.origin;

    var url;
    try {
      url = new URL(text, origin);
    } catch (e) {
      return null;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    // Relative input (e.g. "/a/xyz") resolves against origin; plain words
    // like "abc" also resolve, but will not match the /a/ test below.
    if (url.origin === origin && url.pathname.indexOf(LABEL_PREFIX) === 0) {
      return tokenPath(url.pathname) ? url.pathname + url.search : null;
    }
    if (!/^https?:\/\//i.test(text)) return null;
    var at = url.pathname.indexOf(LABEL_PREFIX);
    if (at < 0) return null;
    var path = url.pathname.slice(at);
    return tokenPath(path) ? path : null;
  }

  // True when the path has a non-empty token segment after /a/.
  function tokenPath(path) {
    var rest = path.slice(LABEL_PREFIX.length);
    return rest.length > 0 && rest.charAt(0) !== "/";
  }

  function manualTarget(value, base) {
    value = (value || "").trim();
    if (!value) return null;
    // People paste whole URLs into the box too.
    var fromUrl = targetFromText(value);
    if (fromUrl) return fromUrl;
    if (value.indexOf(LABEL_PREFIX) === 0) value = value.slice(LABEL_PREFIX.length);
    value = value.replace(/^\/+|\/+$/g, "");
    if (!value) return null;
    return (base || LABEL_PREFIX) + encodeURIComponent(value);
  }

  function init() {
    var video = document.getElementById("scanner-video");
    var canvas = document.getElementById("scanner-canvas");
    var result = document.getElementById("scanner-result");
    var manual = document.getElementById("scanner-manual");

    function msg(key) {
      var v = video && video.dataset ? video.dataset["msg" + key.charAt(0).toUpperCase() + key.slice(1)] : null;
      return v || DEFAULT_MESSAGES[key];
    }

    function show(text, state) {
      if (!result) return;
      result.textContent = text;
      result.dataset.state = state || "info";
      result.hidden = false;
    }

    var stream = null;
    var running = false;
    var lastInvalid = null;

    function stop() {
      running = false;
      if (stream) {
        stream.getTracks().forEach(function (t) {
          t.stop();
        });
        stream = null;
      }
    }

    function go(path) {
      stop();
      show(msg("opening"), "info");
      window.location.assign(window.location.origin + path);
    }

    if (manual) {
      manual.addEventListener("submit", function (ev) {
        var input = manual.elements.namedItem("code") || manual.elements.namedItem("token");
        var value = input && input.value.trim();
        if (!value) {
          ev.preventDefault();
          if (input) input.focus();
          return;
        }
        // A pasted label URL opens directly; a typed asset code, 设备代码 or label token
        // goes to the server, which looks it up within the user's scope.
        var target = targetFromText(value);
        if (target) {
          ev.preventDefault();
          go(target);
        }
      });
    }

    if (!video || !canvas) return;
    video.setAttribute("playsinline", "");
    video.muted = true;

    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      show(msg("unsupported"), "error");
      return;
    }
    if (typeof window.jsQR !== "function") {
      show(msg("error"), "error");
      return;
    }

    var ctx = canvas.getContext("2d", { willReadFrequently: true });

    // The torch, where the camera offers one (Android Chrome): for labels in dark plant
    // rooms and lift machine rooms.
    function offerTorch(stream) {
      var button = document.getElementById("scanner-torch");
      var track = stream && stream.getVideoTracks && stream.getVideoTracks()[0];
      if (!button || !track || !track.getCapabilities) return;
      var caps = track.getCapabilities();
      if (!caps || !caps.torch) return;
      var on = false;
      button.hidden = false;
      button.addEventListener("click", function () {
        on = !on;
        track.applyConstraints({ advanced: [{ torch: on }] }).catch(function () {});
        button.setAttribute("aria-pressed", on ? "true" : "false");
      });
    }

    function tick() {
      if (!running) return;
      if (video.readyState >= video.HAVE_ENOUGH_DATA && video.videoWidth) {
        var scale = Math.min(1, MAX_SCAN_SIDE / Math.max(video.videoWidth, video.videoHeight));
        var w = Math.round(video.videoWidth * scale);
        var h = Math.round(video.videoHeight * scale);
        if (canvas.width !== w) canvas.width = w;
        if (canvas.height !== h) canvas.height = h;
        ctx.drawImage(video, 0, 0, w, h);
        var img = ctx.getImageData(0, 0, w, h);
        var code = window.jsQR(img.data, w, h, { inversionAttempts: "dontInvert" });
        if (code && code.data) {
          var target = targetFromText(code.data);
          if (target) {
            go(target);
            return;
          }
          if (code.data !== lastInvalid) {
            lastInvalid = code.data;
            show(msg("invalid"), "warning");
          }
        }
      }
      window.requestAnimationFrame(tick);
    }

    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        offerTorch(s);
        running = true;
        var played = video.play();
        if (played && played.catch) played.catch(function () {});
        window.requestAnimationFrame(tick);
      })
      .catch(function (err) {
        var name = err && err.name;
        var key = "error";
        if (name === "NotAllowedError" || name === "SecurityError") key = "denied";
        else if (name === "NotFoundError" || name === "OverconstrainedError") key = "notfound";
        else if (name === "NotSupportedError" || name === "TypeError") key = "unsupported";
        show(msg(key), "error");
      });

    // Release the camera when the page is left or hidden (bfcache, tab switch).
    window.addEventListener("pagehide", stop);
  }

  // Exposed for tests and for pages that want to reuse the mapping.
  window.AssetScanner = { targetFromText: targetFromText, manualTarget: manualTarget };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
