// Offers widget extras: what the widget needs only after its first offer is painted, loaded by
// the loader (src/loader.js) once the first frame after the feed is on screen, so none of it is
// on the critical path. scripts/bundle-widget.mjs minifies it into offers-extras-<hash>.js.
//
// - the events outbox: impressions, clicks and closes (reported by the wasm through the
//   loader's `config.report`), batched per entry identity and posted to /widget/v1/events as
//   an `offers_core::api::EventsRequest`, each with a client-generated id so a retried batch is
//   never counted twice; handed to `sendBeacon` when the page is hidden or left;
// - the live stream: one EventSource on /widget/v1/stream per entry. `offer.created` /
//   `offer.updated` carry a feed offer (the wasm reads it through the core's types, so an
//   invalid one is dropped there), `offer.deleted` its id, `resync` asks for the feed again; on
//   every (re)open the feed is fetched again, since the stream only carries changes;
// - `window.Offers` for single-page chats: setRoom, login, logout, setLanguage (each a new entry: the wasm's
//   `enter`, a fresh feed and stream) and mountFeed;
// - `Offers.track(name, props, options)` (and the framing app's `offers.track` message, which
//   the loader hands over): checked here, handed to the wasm's `track` (which asks the core
//   which held offers it triggers) and queued into the outbox as a `tracked` entry of the batch
//   (`offers_core::api::EventsRequest`); `options.conversion === true` marks a conversion,
//   `options.value` its value.
//
// The stream event names and event kinds are those of `offers_core::api::{StreamEventName,
// EventKind}` (a native test in src/lib.rs checks this file names each of them).

const MAX_BATCH = 100; // the server's limit per batch
const FLUSH_MS = 2000; // how long events wait to be batched together
const MAX_PROPS = 4096; // characters of a tracked event's props, as JSON

export function start(handle, config, reports, calls) {
  let current = config;
  let entry = handle.entry();

  // ------------------------------------------------------------------ events
  let pending = [];
  let scheduled = false;
  let sending = false;

  const identity = (c, body) => {
    const user = c.user.trim();
    if (user) {
      body.user = user;
      if (c.sig) body.sig = c.sig;
    }
    return body;
  };
  // The feed's and the stream's query: the identity and the language.
  const query = (c) => {
    const params = identity(c, { key: c.project, room: c.room });
    if (c.lang) params.lang = c.lang;
    return params;
  };

  // Time plus randomness: unique for practical purposes (crypto.randomUUID is missing on
  // plain-http hosts).
  const newId = () => Date.now().toString(16) + "-" + Math.floor(Math.random() * Number.MAX_SAFE_INTEGER).toString(16);

  function queue(item) {
    item.config = current;
    pending.push(item);
    if (!scheduled) {
      scheduled = true;
      setTimeout(flush, FLUSH_MS);
    }
  }

  // An impression, click or close the wasm reported (`id`: the wasm's, so a pop-up's caps log
  // and the server's `recentPopups` name the same event).
  function report(offerId, kind, at, id, variant) {
    const event = { id, offerId, kind, at };
    if (!event.id) event.id = newId();
    if (typeof variant === "number") event.variant = variant;
    queue({ event });
  }

  // The oldest batch: events and tracked events of one entry, at most MAX_BATCH in all.
  function takeBatch() {
    if (!pending.length) return null;
    const c = pending[0].config;
    const events = [];
    const tracked = [];
    pending = pending.filter((p) => {
      if (events.length + tracked.length < MAX_BATCH && p.config === c) {
        if (p.event) events.push(p.event);
        else tracked.push(p.tracked);
        return false;
      }
      return true;
    });
    return { c, events, tracked };
  }

  // The batch's body (`tracked` only when there are some).
  const body = (b) => {
    const json = identity(b.c, { key: b.c.project, room: b.c.room, events: b.events });
    if (b.tracked.length) json.tracked = b.tracked;
    return JSON.stringify(json);
  };
  const unsend = (b) => b.events.map((event) => ({ config: b.c, event })).concat(b.tracked.map((tracked) => ({ config: b.c, tracked })));
  const eventsUrl = (c) => c.api + "/widget/v1/events";

  // Sends what is pending, one batch at a time; a batch that fails goes back to the queue (same
  // ids) and is retried later. Done with a batch: accepted, or refused for good (a 4xx other
  // than 429, which a retry would not change).
  async function flush() {
    scheduled = false;
    if (sending) return;
    sending = true;
    let failed = [];
    for (let b; (b = takeBatch()); ) {
      let done = false;
      try {
        // A string body is text/plain: a CORS simple request, like sendBeacon's; keepalive so
        // it survives navigation.
        const r = await fetch(eventsUrl(b.c), { method: "POST", credentials: "omit", keepalive: true, body: body(b) });
        done = r.ok || (r.status >= 400 && r.status < 500 && r.status !== 429);
      } catch (e) {}
      if (!done) failed = failed.concat(unsend(b));
    }
    sending = false;
    const retry = failed.length > 0 && !scheduled;
    pending = failed.concat(pending);
    if (retry) {
      scheduled = true;
      setTimeout(flush, FLUSH_MS * 5);
    }
  }

  // The page is going away: hand everything pending to sendBeacon.
  function flushOnHide() {
    const unsent = [];
    for (let b; (b = takeBatch()); ) {
      let sent = false;
      try {
        sent = navigator.sendBeacon(eventsUrl(b.c), body(b));
      } catch (e) {}
      if (!sent) unsent.push(...unsend(b));
    }
    pending = unsent;
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flushOnHide();
  });
  addEventListener("pagehide", flushOnHide);

  // ------------------------------------------------------------------ stream
  const url = (c, path) => {
    const params = new URLSearchParams(query(c));
    return c.api + "/widget/v1/" + path + "?" + params;
  };
  const feed = (c) =>
    fetch(url(c, "offers"), { credentials: "omit" }).then((r) => (r.ok ? r.json() : Promise.reject(r.status)));

  let source = null;
  function close() {
    if (source) source.close();
    source = null;
  }

  // Fetches the feed again; the wasm reconciles what is on screen with it (if still entry `e`).
  const resync = (e) => feed(current).then((b) => handle.resync(b, e), () => {});

  // Reconnect delay after `attempt` failures: 1 s doubling to 30 s, plus up to 1 s of jitter so
  // a restarted server is not hit by every widget at once.
  const backoff = (attempt) => Math.min(1000 * 2 ** Math.min(attempt, 5), 30000) + Math.random() * 1000;

  function open(attempt) {
    close();
    const e = entry;
    const s = new EventSource(url(current, "stream"));
    const data = (event) => {
      try {
        return JSON.parse(event.data);
      } catch (err) {
        return null;
      }
    };
    const upsert = (event) => {
      const offer = data(event);
      if (offer) handle.upsert(offer, e);
    };
    s.addEventListener("offer.created", upsert);
    s.addEventListener("offer.updated", upsert);
    s.addEventListener("offer.deleted", (event) => {
      const d = data(event);
      if (d && typeof d.id === "number") handle.withdraw(d.id, e);
    });
    s.addEventListener("resync", () => resync(e));
    // Whatever happened between the feed fetch and this (re)connection is picked up by
    // fetching the feed again.
    s.addEventListener("open", () => resync(e));
    s.addEventListener("error", () => {
      // The browser retries by itself while CONNECTING; a CLOSED stream is ours to retry.
      if (source === s && s.readyState === EventSource.CLOSED) {
        setTimeout(() => {
          if (entry === e) open(attempt + 1);
        }, backoff(attempt));
      }
    });
    source = s;
  }

  // ------------------------------------------------------------------ window.Offers
  // Offers.track calls made between an entry and its feed: the wasm holds none of the entry's
  // offers yet, so they are asked again once the feed is scheduled (null: no feed pending).
  let early = null;
  // A new entry (room switch, login, logout): pending events go out under the old identity,
  // the wasm clears the screen and voids the old entry's timers, a fresh feed and stream follow.
  function enter(c) {
    flush();
    current = c;
    entry = handle.enter(c);
    close();
    const e = entry;
    const waiting = (early = []);
    const done = () => {
      if (early === waiting) early = null;
    };
    feed(c).then(
      (b) => {
        handle.schedule(b, e);
        done();
        waiting.forEach((t) => handle.track(t[0], t[1], e));
      },
      (err) => {
        done();
        console.warn("offers: feed unavailable:", err);
      },
    );
    open(0);
  }

  // Offers.track: bad input is ignored with one warning; nothing here throws into the host.
  function track(name, props, options) {
    try {
      const badName = () => console.warn("offers: Offers.track needs an event name of 1-64 letters, digits or _.:-, got", name);
      if (typeof name !== "string") return badName();
      if (props != null && (typeof props !== "object" || Array.isArray(props))) {
        return console.warn("offers: Offers.track's props must be an object, got", props);
      }
      // A plain JSON copy: what the server stores and the core matches against.
      const text = JSON.stringify(props || {});
      if (text.length > MAX_PROPS) {
        return console.warn("offers: Offers.track's props are over " + MAX_PROPS + " characters as JSON");
      }
      const copy = JSON.parse(text);
      const at = new Date().toISOString();
      // The wasm checks the name with the core's EventName (false: not a valid name).
      if (!handle.track(name, copy, entry)) return badName();
      if (early) early.push([name, copy]);
      const tracked = { id: newId(), name, props: copy, at };
      if (options && options.conversion === true) {
        tracked.conversion = true;
        const value = options.value;
        if (typeof value === "number" && Math.abs(value) <= 1e15) tracked.value = value;
      }
      queue({ tracked });
    } catch (e) {
      console.warn("offers: Offers.track failed", e);
    }
  }

  const api = {
    report,
    track,
    setRoom: (room) => enter({ ...current, room }),
    login: (user, sig) => enter({ ...current, user, sig: sig || "" }),
    logout: () => enter({ ...current, user: "", sig: "" }),
    // Another language is a new entry too: the feed is rendered for it on the server.
    setLanguage: (lang) => enter({ ...current, lang: lang || navigator.language || "" }),
    mountFeed: (element) => handle.mountFeed(element),
  };
  reports.forEach((r) => report.apply(null, r));
  open(0);
  calls.forEach((c) => api[c[0]].apply(null, c[1]));
  return api;
}
