// Offers widget loader: the file a host page's <script src=".../widget/offers.js"> names.
// It reads the tag's data-* attributes, starts fetching the offers while the WebAssembly bundle
// downloads and compiles, boots the widget and hands it the feed; after the first offer is
// painted it loads the extras module (src/extras.js: live stream, events, window.Offers) and
// the wasm's after-paint module (src/after_paint.rs).
// scripts/bundle-widget.mjs replaces __BUNDLE_JS__, __BUNDLE_WASM__ and __BUNDLE_EXTRAS__ with
// the content-hashed file names, so this file is the only one that is not cached forever.
//
// Single-page chats drive it through window.Offers (calls made before the extras are there are
// queued): setRoom(room), login(user, sig), logout(), setLanguage(lang), mountFeed(element),
// track(name, props, options) (an event the host reports: it may trigger offers). A framing app
// reports events by postMessage({type: "offers.track", body: {name, props}}), accepted only from
// window.parent at the configured data-parent-origin.
// The language sent with the feed (`lang=`) is data-lang, else the browser's; a language in the
// user's profile on the server wins over both.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src || window.Offers) return;
  var d = script.dataset;
  var base = new URL(".", script.src);
  var config = {
    api: (d.api || new URL("/", script.src).href).replace(/\/+$/, ""),
    project: d.project || "",
    room: d.room || "",
    user: d.user || "",
    sig: d.sig || "",
    lang: d.lang || navigator.language || "",
    parentOrigin: d.parentOrigin || "",
    feed: d.feed || "",
    position: d.position || "",
    anchor: d.anchor || ""
  };
  // Calls made before the extras module is there wait in `calls`; impressions the wasm reports
  // before then wait in `reports` with their time.
  var calls = [];
  var reports = [];
  var extras = null;
  function call(name, args) {
    if (extras) extras[name].apply(null, args);
    else calls.push([name, args]);
  }
  window.Offers = {
    setRoom: function (room) { call("setRoom", [String(room)]); },
    login: function (user, sig) { call("login", [String(user), sig == null ? "" : String(sig)]); },
    logout: function () { call("logout", []); },
    setLanguage: function (lang) { call("setLanguage", [lang == null ? "" : String(lang)]); },
    mountFeed: function (element) { call("mountFeed", [element]); },
    // Checked by the extras module (one console.warn for bad input, never a throw).
    track: function (name, props, options) { call("track", [name, props, options]); }
  };
  if (!config.project) {
    console.warn("offers: the script tag has no data-project; the widget is off");
    return;
  }
  // The wasm reports each event with its id (a pop-up's impression id is also its entry in the
  // caps log) and its variant (undefined for an offer without variants).
  config.report = function (offerId, kind, id, variant) {
    var r = [offerId, kind, new Date().toISOString(), id, variant];
    if (extras) extras.report.apply(null, r);
    else reports.push(r);
  };
  addEventListener("message", function (e) {
    var m = e.data;
    if (m && m.type === "offers.track" && m.body && e.source === parent && parent !== window &&
        config.parentOrigin && e.origin === config.parentOrigin.trim()) {
      call("track", [m.body.name, m.body.props]);
    }
  });
  var params = new URLSearchParams({ key: config.project, room: config.room });
  if (config.user.trim()) {
    params.set("user", config.user.trim());
    if (config.sig) params.set("sig", config.sig);
  }
  if (config.lang) params.set("lang", config.lang);
  var feed = fetch(config.api + "/widget/v1/offers?" + params.toString(), { credentials: "omit" })
    .then(function (r) { return r.ok ? r.json() : { offers: [] }; })
    .catch(function () { return { offers: [] }; });
  // The glue module, the wasm and the feed load in parallel: the wasm is compiled while it
  // streams in (compileStreaming; a server that sends it without application/wasm falls back to
  // compiling the downloaded bytes), the glue only instantiates the compiled module, and the
  // feed is handed to the booted widget as soon as both are there.
  var wasmUrl = new URL("__BUNDLE_WASM__", base);
  function compileBytes() {
    return fetch(wasmUrl).then(function (r) { return r.arrayBuffer(); }).then(WebAssembly.compile);
  }
  var compiled = WebAssembly.compileStreaming
    ? WebAssembly.compileStreaming(fetch(wasmUrl)).catch(compileBytes)
    : compileBytes();
  // The compiled module is instantiated at once (the glue's `initSync`: no await between
  // instance and boot).
  var started = Promise.all([import(new URL("__BUNDLE_JS__", base).href), compiled])
    .then(function (loaded) {
      loaded[0].initSync({ module: loaded[1] });
      return loaded[0].boot(config);
    });
  Promise.all([started, feed])
    .then(function (ready) {
      var handle = ready[0];
      handle.schedule(ready[1], handle.entry());
      // After the frame that paints the first offer and the one after it: the stream, the
      // events outbox and the window.Offers methods (src/extras.js), and the wasm's
      // after-paint module (clicks, stream updates, in-feed), off the critical path. Started
      // one frame earlier, fetching and instantiating that module held up the next frame by
      // ~9 ms (BENCHMARKS.md). (A hidden page paints nothing and runs no animation frames:
      // load them at once there.)
      function load() {
        handle.preload();
        import(new URL("__BUNDLE_EXTRAS__", base).href).then(function (x) {
          extras = x.start(handle, config, reports, calls);
        });
      }
      if (document.hidden) setTimeout(load);
      else requestAnimationFrame(function () { requestAnimationFrame(function () { setTimeout(load); }); });
    })
    .catch(function (e) { console.warn("offers: the widget failed to start", e); });
})();
