// fieldlog service worker (served at /sw.js, scope /).
// Shell: precached on install, cache-first. Pages under /m/ and the register pages a
// secretary reads in the village: network-first with a short timeout, then the cached copy,
// then /offline. Never cached: /api/, non-GET requests,
// /login, /logout. Static files are fingerprinted (fieldlog/assets.py): the server fills in
// ASSETS and ASSETS_VERSION below when it serves this file, so a changed file changes this
// script, which installs again and precaches the new names. Bump CACHE_VERSION when this
// script's own logic changes.

const CACHE_VERSION = "v9";
// Filled in by the server (views/pwa.py): {"/static/js/app.js": "/static/js/app.<hash>.js", …}.
const ASSETS = {};
const ASSETS_VERSION = "";
const SHELL_CACHE = `fieldlog-shell-${CACHE_VERSION}-${ASSETS_VERSION}`;
const PAGES_CACHE = "fieldlog-pages"; // survives shell updates: offline pages stay usable
const NAV_TIMEOUT_MS = 3000;
const WARM_PARALLEL = 4; // pages fetched at once when warming (browsers open 6 connections)
// A warm-up gives up on what it has not fetched after this long: its message event keeps this
// worker busy, and a new release's worker cannot activate (nor a navigation be answered) until
// it is done, so a page fetch hanging on a dead connection must not hold it for minutes.
const WARM_DEADLINE_MS = 20_000;
const OFFLINE_URL = "/offline";
// Phone pages outside /m/ that home links to: read-only offline copies (户籍台账, 走访覆盖).
const OTHER_PAGES = new Set(["/register/", "/register/coverage"]);

const SHELL = [
  OFFLINE_URL,
  "/manifest.webmanifest",
  "/static/css/app.css",
  "/static/css/print.css",
  "/static/js/app.js",
  "/static/js/attendance.js",
  "/static/js/attendance-mark.js",
  "/static/js/leave-form.js",
  "/static/js/leave-list.js",
  "/static/js/camera.js",
  "/static/js/db.js",
  "/static/js/device.js",
  "/static/js/exif.js",
  "/static/js/home.js",
  "/static/js/household-marks.js",
  "/static/js/households.js",
  "/static/js/ledger-cats.js",
  "/static/js/ledger-item.js",
  "/static/js/ledger-list.js",
  "/static/js/ledger-local.js",
  "/static/js/ledger-new.js",
  "/static/js/ledger-offer.js",
  "/static/js/outbox-page.js",
  "/static/js/outbox-file.js",
  "/static/js/outbox.js",
  "/static/js/photo-problems.js",
  "/static/js/sync.js",
  "/static/js/ui.js",
  "/static/js/visit-form.js",
  "/static/js/visit-edit.js",
  "/static/js/record-form.js",
  "/static/js/meeting-form.js",
  "/static/js/action-form.js",
  "/static/js/goal-form.js",
  "/static/js/records-list.js",
  "/static/js/record-label.js",
  "/static/js/photo-check.js",
  // The pages' own icons. The manifest's 512-pixel icons (38 KB) are left to the browser,
  // which fetches them when the app is installed, online.
  "/static/icons/icon-192.png",
  "/static/icons/apple-touch-icon.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    // A fingerprinted file never changes, so the copy the page just loaded will do; plain
    // names (`reload`) come from the network, not from the HTTP cache.
    await cache.addAll(SHELL.map((url) => (ASSETS[url]
      ? new Request(ASSETS[url], { credentials: "same-origin" })
      : new Request(url, { cache: "reload", credentials: "same-origin" }))));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names
      .filter((name) => name.startsWith("fieldlog-shell-") && name !== SHELL_CACHE)
      .map((name) => caches.delete(name)));
    await self.clients.claim();
  })());
});

/** Cache a page response if it is a plain same-origin 200 for an app page without a query. */
async function keepPage(url, response) {
  const u = new URL(url);
  if (u.origin !== self.location.origin || !isAppPage(u) || u.search) return false;
  if (!response || response.status !== 200 || response.redirected || response.type !== "basic") return false;
  const cache = await caches.open(PAGES_CACHE);
  await cache.put(u.pathname, response);
  return true;
}

function isAppPage(u) {
  return u.pathname === "/m" || u.pathname.startsWith("/m/") || OTHER_PAGES.has(u.pathname);
}

function neverCache(u) {
  return u.pathname.startsWith("/api/") || u.pathname === "/login" || u.pathname === "/logout"
    || u.pathname === "/sw.js";
}

async function cachedPage(request) {
  const u = new URL(request.url);
  if (!isAppPage(u)) return null;
  const cache = await caches.open(PAGES_CACHE);
  // The query (?household=…) is read by the page script; the cached page has none.
  return (await cache.match(u.pathname, { ignoreSearch: true })) || null;
}

async function offlinePage() {
  return (await caches.match(OFFLINE_URL))
    || new Response("<!doctype html><meta charset=utf-8><title>Offline</title><p>离线 / Offline</p>",
      { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

/** Network first with a short timeout, then the cached page, then /offline. */
async function navigate(event) {
  const { request } = event;
  const network = fetch(request);
  // Registered before the page reads the body, so the clone happens first.
  event.waitUntil(network.then((response) => keepPage(request.url, response.clone())).catch(() => {}));
  const timeout = new Promise((resolve) => setTimeout(() => resolve("timeout"), NAV_TIMEOUT_MS));
  try {
    const first = await Promise.race([network, timeout]);
    if (first !== "timeout") return first;
    // Slow network: show the cached copy if there is one, else keep waiting for the network.
    const cached = await cachedPage(request);
    if (cached) {
      network.catch(() => {}); // it may still arrive and refresh the cache
      return cached;
    }
    return await network;
  } catch (_) {
    return (await cachedPage(request)) || offlinePage();
  }
}

/** The current fingerprinted URL of a static path, plain ("/static/js/db.js") or with an older hash. */
function currentName(pathname) {
  if (ASSETS[pathname]) return ASSETS[pathname];
  const plain = pathname.replace(/\.[0-9a-f]{10}(\.[^./]+)$/, "$1");
  return ASSETS[plain] || null;
}

/** Static files: cache first, fill the cache on a miss. A page cached before an update may
 * ask for an older name: offline, it gets today's file of that name. */
async function staticAsset(event) {
  const { request } = event;
  const cached = await caches.match(request, { ignoreSearch: true });
  if (cached) return cached;
  const current = currentName(new URL(request.url).pathname);
  let response;
  try {
    response = await fetch(request);
  } catch (err) {
    const fallback = current && (await caches.match(current));
    if (fallback) return fallback;
    throw err;
  }
  if (response.ok && response.type === "basic") {
    const copy = response.clone();
    event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.put(request, copy)).catch(() => {}));
  }
  return response;
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return; // POSTs (sign-in, sync) go straight to the network
  const u = new URL(request.url);
  if (u.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    if (neverCache(u)) {
      event.respondWith(fetch(request).catch(() => offlinePage()));
    } else {
      event.respondWith(navigate(event));
    }
    return;
  }
  if (neverCache(u)) return;
  if (u.pathname.startsWith("/static/") || u.pathname === "/manifest.webmanifest") {
    event.respondWith(staticAsset(event));
  }
});

/** Fetch and cache the given app pages with the user's cookies (after sign-in), a few at a
 * time: on a slow link each page costs a round trip, and one after another they add up. */
async function warm(urls) {
  const queue = [...(urls || [])];
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), WARM_DEADLINE_MS);
  let cached = 0;
  async function next() {
    for (let url = queue.shift(); url !== undefined && !stop.signal.aborted; url = queue.shift()) {
      try {
        const u = new URL(url, self.location.origin);
        const response = await fetch(u.href, { credentials: "same-origin", cache: "no-store",
          redirect: "follow", signal: stop.signal });
        if (await keepPage(u.href, response)) cached += 1;
      } catch (_) { /* offline, refused or given up: the next page load tries again */ }
    }
  }
  try {
    await Promise.all(Array.from({ length: WARM_PARALLEL }, next));
  } finally {
    clearTimeout(timer);
  }
  return cached;
}

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "warm") {
    event.waitUntil(warm(data.urls).then((cached) => {
      const port = event.ports && event.ports[0];
      if (port) port.postMessage({ type: "warmed", cached });
    }));
  } else if (data.type === "skip-waiting") {
    self.skipWaiting();
  }
});

// Background Sync is an extra nudge where it exists (not in Safari): wake the open pages,
// which own the outbox logic. Pages also sync on load, on `online` and on a timer.
self.addEventListener("sync", (event) => {
  if (event.tag !== "fieldlog-outbox") return;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const client of windows) client.postMessage({ type: "sync" });
  })());
});
