// Offers widget loader: the file a host page's <script src=".../widget/offers.js"> names.
// It reads the tag's data-* attributes, starts fetching the offers while the WebAssembly bundle
// downloads, then boots the widget. scripts/build-widget.sh replaces __BUNDLE_JS__ and
// __BUNDLE_WASM__ with the content-hashed file names, so this file is the only one that is not
// cached forever.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var d = script.dataset;
  var base = new URL(".", script.src);
  var api = (d.api || new URL("/", script.src).href).replace(/\/+$/, "");
  var config = {
    api: api,
    project: d.project || "",
    room: d.room || "",
    user: d.user || "",
    parentOrigin: d.parentOrigin || "",
    feed: d.feed || ""
  };
  if (!config.project) {
    console.warn("offers: the script tag has no data-project; the widget is off");
    return;
  }
  var params = new URLSearchParams({ key: config.project, room: config.room });
  if (config.user) params.set("user", config.user);
  if (d.sig) params.set("sig", d.sig);
  var feed = fetch(api + "/widget/v1/offers?" + params.toString(), { credentials: "omit" })
    .then(function (r) { return r.ok ? r.json() : { offers: [] }; })
    .catch(function () { return { offers: [] }; });
  import(new URL("__BUNDLE_JS__", base).href)
    .then(function (m) {
      return m.default({ module_or_path: new URL("__BUNDLE_WASM__", base) }).then(function () {
        m.boot(config, feed);
      });
    })
    .catch(function (e) { console.warn("offers: the widget failed to start", e); });
})();
