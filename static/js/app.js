// Loaded on every page: service worker, device token, background sync, persistent
// storage, the outbox badge, the offline pill, the sign-out guard and (where the page has a
// place for them) the photos the server could not process.

import { getMeta, setMeta } from "./db.js";
import { deviceFor, ensureDevice, forgetDevice, pageUser } from "./device.js";
import { listAll, onChange } from "./outbox.js";
import { showPhotoProblems } from "./photo-problems.js";
import { startSync } from "./sync.js";
import { t, toast } from "./ui.js";

// Pages a cadre may need offline before ever opening them online. The first four are what
// recording a visit offline needs (home, the household list, the visit form, the outbox):
// they are fetched first and the page is marked `data-offline-core` as soon as they are
// cached; the rest follow, then `data-offline-ready`.
const CORE_URLS = ["/m/", "/m/households", "/m/visits/new", "/m/outbox"];
const WARM_URLS = [...CORE_URLS, "/m/meetings", "/m/meetings/new",
  "/m/actions", "/m/actions/new", "/m/goals/new", "/m/ledger", "/m/ledger/new", "/m/attendance", "/m/attendance/mark", "/m/leave",
  "/m/leave/new", "/m/month", "/m/returned", "/register/", "/register/coverage"];
const WARM_EVERY_MS = 10 * 60_000;
const PAGES_CACHE = "fieldlog-pages";
const TOAST_KEY = "fieldlog:toast";

/** Count the visits of `userId` not yet (fully) on the server: records or their photos. */
export async function unsentVisits(userId) {
  const items = await listAll();
  const mine = items.filter((it) => userId == null || it.user_id === String(userId));
  return {
    visits: new Set(mine.map((it) => it.record_id)).size,
    failed: mine.filter((it) => it.state === "failed").length,
    items: mine.length,
  };
}

async function updateBadge() {
  const badges = document.querySelectorAll("[data-outbox-badge]");
  if (!badges.length) return;
  const user = pageUser();
  let count = 0;
  let failed = 0;
  try {
    ({ visits: count, failed } = await unsentVisits(user && user.id));
  } catch (_) { /* no IndexedDB: nothing queued either */ }
  for (const badge of badges) {
    badge.textContent = count > 99 ? "99+" : String(count);
    badge.hidden = count === 0;
    badge.classList.toggle("is-failed", failed > 0);
    badge.dataset.count = String(count);
  }
}

function updateNetwork() {
  const offline = navigator.onLine === false;
  document.documentElement.classList.toggle("is-offline", offline);
  for (const pill of document.querySelectorAll("[data-net-pill]")) pill.hidden = !offline;
}

/** Which of WARM_URLS the pages cache holds: {core, all}. */
async function pagesCached() {
  if (!("caches" in self)) return { core: false, all: false };
  const cache = await caches.open(PAGES_CACHE);
  const found = await Promise.all(WARM_URLS.map((u) => cache.match(u, { ignoreSearch: true })));
  return { core: found.slice(0, CORE_URLS.length).every(Boolean), all: found.every(Boolean) };
}

/** Ask the service worker to cache `urls`; resolve with how many it cached (null: no answer). */
function askWarm(worker, urls) {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve(null), 30_000);
    channel.port1.onmessage = (ev) => { clearTimeout(timer); resolve(ev.data); };
    worker.postMessage({ type: "warm", urls }, [channel.port2]);
  });
}

/** Say on the page (home has the place) how far this sign-in is with the offline pages. */
function tellOffline(key) {
  for (const note of document.querySelectorAll("[data-offline-note]")) {
    note.textContent = t(key);
    note.dataset.state = key;
    note.hidden = false;
  }
}

async function markReady(told = false) {
  const root = document.documentElement;
  const { core, all } = await pagesCached();
  if (core) root.dataset.offlineCore = "1";
  if (all) root.dataset.offlineReady = "1";
  if (told) tellOffline(all ? "offline_ready" : core ? "offline_core" : "offline_preparing");
}

/** Ask the service worker to fetch and cache the app's pages, so they open offline: what a
 *  visit needs first, then the rest. */
async function warmPages(registration) {
  const user = pageUser();
  if (!user || user.role !== "secretary") return;
  const last = await getMeta("warmed").catch(() => null);
  const fresh = last && last.user_id === user.id && Date.now() - last.at < WARM_EVERY_MS;
  if (!(fresh && (await pagesCached()).all) && navigator.onLine !== false) {
    const worker = registration.active || registration.waiting || registration.installing;
    if (!worker) return;
    // Only a phone without the pages yet is told (a first sign-in); a refresh stays quiet.
    const tell = !(await pagesCached()).core;
    if (tell) tellOffline("offline_preparing");
    const core = await askWarm(worker, CORE_URLS);
    await markReady(tell);
    const rest = await askWarm(worker, WARM_URLS.slice(CORE_URLS.length));
    if (core && rest && core.cached + rest.cached === WARM_URLS.length) {
      await setMeta("warmed", { user_id: user.id, at: Date.now() });
    }
    await markReady(tell);
    return;
  }
  await markReady();
}

async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  try {
    await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    const registration = await navigator.serviceWorker.ready;
    await warmPages(registration);
  } catch (err) {
    console.warn("fieldlog: service worker not available", err);
  }
}

/** Ask once, after sign-in, that the browser never clear the outbox to make room; show the
 *  answer where the page has a place for it (the outbox page). */
async function askPersistentStorage() {
  if (!navigator.storage || !navigator.storage.persist || !pageUser()) return;
  let granted = false;
  try {
    granted = await navigator.storage.persisted();
    const asked = await getMeta("storage-persist").catch(() => null);
    if (!granted && !asked) {
      granted = await navigator.storage.persist();
      await setMeta("storage-persist", { granted, at: new Date().toISOString() });
    }
  } catch (_) { /* the browser decides; records are kept either way */ }
  for (const note of document.querySelectorAll("[data-storage-persist]")) {
    note.textContent = t(granted ? "storage_persisted" : "storage_not_persisted");
    note.dataset.state = granted ? "granted" : "denied";
    note.hidden = false;
  }
}

function showBlockedDialog(visits) {
  const dialog = document.getElementById("signout-blocked");
  const text = t("signout_count", { n: visits });
  if (!dialog || typeof dialog.showModal !== "function") {
    window.alert(text);
    return;
  }
  dialog.querySelector("[data-count-text]").textContent = text;
  closeMenus();
  dialog.showModal();
}

async function signOut(form) {
  const user = pageUser();
  if (user) {
    const { visits } = await unsentVisits(user.id).catch(() => ({ visits: 0 }));
    if (visits > 0) {
      showBlockedDialog(visits);
      return;
    }
  }
  if (navigator.onLine === false) {
    toast(t("signout_offline"));
    return;
  }
  const device = user ? await deviceFor(user.id).catch(() => null) : null;
  form.elements.device_id.value = device ? device.device_id : "";
  let res;
  try {
    res = await fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin", cache: "no-store",
    });
  } catch (_) {
    res = null;
  }
  if (!res || !res.ok) {
    toast(t("signout_failed"));
    return;
  }
  if (user) await forgetDevice(user.id).catch(() => {});
  if ("caches" in self) await caches.delete(PAGES_CACHE).catch(() => {});
  await setMeta("warmed", null).catch(() => {});
  window.location.assign(res.url || "/login");
}

function closeMenus(except = null) {
  for (const menu of document.querySelectorAll("details.usermenu[open]")) {
    if (menu !== except) menu.open = false;
  }
}

function guardSignOut() {
  document.addEventListener("click", (ev) => {
    closeMenus(ev.target.closest("details.usermenu"));
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") closeMenus();
  });
  for (const form of document.querySelectorAll("form.logout-form")) {
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      signOut(form);
    });
  }
  const dialog = document.getElementById("signout-blocked");
  if (dialog) {
    dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  }
}

/** Take the toast a form left for this page ({message, action, record_id}), if any. */
function takePendingToast() {
  let raw = null;
  try {
    raw = sessionStorage.getItem(TOAST_KEY);
    sessionStorage.removeItem(TOAST_KEY);
  } catch (_) { /* storage blocked */ }
  if (!raw) return null;
  try {
    return JSON.parse(raw);
  } catch (_) {
    return null;
  }
}

/** Once a record that waited for a network has been sent from this page, say so. */
function announceWhenSent(recordId) {
  const stop = onChange(async (detail) => {
    if (!detail || detail.type !== "sync" || detail.phase !== "idle") return;
    const items = await listAll().catch(() => null);
    if (items && !items.some((it) => it.record_id === recordId)) {
      stop();
      toast(t("saved_sent"));
    }
  });
}

/** Say what became of a record just saved: sent, waiting for a network, or refused. */
async function announceSave(recordId, action, round) {
  const show = (message) => toast(message, { action, ms: 6000 });
  if (navigator.onLine === false) {
    show(t("saved_queued"));
    announceWhenSent(recordId);
    return;
  }
  const slow = setTimeout(() => show(t("sending_now")), 1500);
  await round.catch(() => null);
  clearTimeout(slow);
  const items = await listAll().catch(() => []);
  const mine = items.filter((it) => it.record_id === recordId);
  const failed = mine.find((it) => it.state === "failed");
  if (!mine.length) show(t("saved_sent"));
  else if (failed) show(t("saved_failed", { e: failed.message || failed.error || "?" }));
  else {
    show(t(navigator.onLine === false ? "saved_queued" : "saved_retry"));
    announceWhenSent(recordId);
  }
}

function showPendingToast(pending, round) {
  if (!pending) return;
  const { message, action, record_id: recordId } = pending;
  if (recordId && round) announceSave(recordId, action, round);
  else if (message) toast(message, { action, ms: 6000 });
}

async function fillDeviceField() {
  const user = pageUser();
  if (!user) return;
  const device = (await ensureDevice().catch(() => null)) || (await deviceFor(user.id));
  for (const input of document.querySelectorAll('form.logout-form input[name="device_id"]')) {
    input.value = device ? device.device_id : "";
  }
}

function main() {
  updateNetwork();
  self.addEventListener("online", updateNetwork);
  self.addEventListener("offline", updateNetwork);
  guardSignOut();
  const pending = takePendingToast();
  if ("indexedDB" in self) {
    updateBadge();
    onChange(() => updateBadge());
    fillDeviceField().finally(() => showPendingToast(pending, startSync()));
    // Home and the outbox page list photos the server could not process after taking them.
    if (document.querySelector("[data-photo-problems]")) showPhotoProblems();
  } else {
    showPendingToast(pending, null);
  }
  askPersistentStorage();
  registerServiceWorker();
}

main();
