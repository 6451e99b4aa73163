// Offers widget loader: the file a host page's <script src=".../widget/offers.js"> names.
// It reads the tag's data-* attributes, starts fetching the offers while the WebAssembly bundle
// downloads, then boots the widget. scripts/bundle-widget.mjs replaces __BUNDLE_JS__ and
// __BUNDLE_WASM__ with the content-hashed file names, so this file is the only one that is not
// cached forever.
//
// Single-page chats drive it through window.Offers (calls made before the widget is ready are
// queued): setRoom(room), login(user, sig), logout(), mountFeed(element).
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
    parentOrigin: d.parentOrigin || "",
    feed: d.feed || "",
    position: d.position || "",
    anchor: d.anchor || ""
  };
  var queue = [];
  var handle = null;
  function call(name, args) {
    if (handle) handle[name].apply(handle, args);
    else queue.push([name, args]);
  }
  window.Offers = {
    setRoom: function (room) { call("setRoom", [String(room)]); },
    login: function (user, sig) { call("login", [String(user), sig == null ? undefined : String(sig)]); },
    logout: function () { call("logout", []); },
    mountFeed: function (element) { call("mountFeed", [element]); }
  };
  if (!config.project) {
    console.warn("offers: the script tag has no data-project; the widget is off");
    return;
  }
  var params = new URLSearchParams({ key: config.project, room: config.room });
  if (config.user) {
    params.set("user", config.user);
    if (config.sig) params.set("sig", config.sig);
  }
  var feed = fetch(config.api + "/widget/v1/offers?" + params.toString(), { credentials: "omit" })
    .then(function (r) { return r.ok ? r.json() : { offers: [] }; })
    .catch(function () { return { offers: [] }; });
  // The glue module, the wasm and the feed load in parallel: the wasm is compiled while it
  // streams in (compileStreaming; a server that sends it without application/wasm falls back to
  // compiling the downloaded bytes), and the glue only instantiates the compiled module.
  var wasmUrl = new URL("__BUNDLE_WASM__", base);
  function compileBytes() {
    return fetch(wasmUrl).then(function (r) { return r.arrayBuffer(); }).then(WebAssembly.compile);
  }
  var compiled = WebAssembly.compileStreaming
    ? WebAssembly.compileStreaming(fetch(wasmUrl)).catch(compileBytes)
    : compileBytes();
  Promise.all([import(new URL("__BUNDLE_JS__", base).href), compiled])
    .then(function (loaded) {
      var m = loaded[0];
      return m.default({ module_or_path: loaded[1] }).then(function () {
        handle = m.boot(config, feed);
        queue.forEach(function (c) { handle[c[0]].apply(handle, c[1]); });
        queue = [];
      });
    })
    .catch(function (e) { console.warn("offers: the widget failed to start", e); });
})();
