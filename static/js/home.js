// Home page: the outbox card (all sent / N waiting / sending / failed), kept live, and the
// server's figures and lists ([data-live] parts) fetched again after every sync that sent
// something, so home never shows the month as it was before the save.

import { pageUser } from "./device.js";
import { markHouseholds, visitStates } from "./household-marks.js";
import { onChange } from "./outbox.js";
import { lastSynced, syncStatus } from "./sync.js";
import { syncedTime, t } from "./ui.js";

const card = document.getElementById("outbox-card");
let sending = false;

async function render() {
  if (!card) return;
  const user = pageUser();
  const { items, sent } = await visitStates(user);
  const visits = new Set(items.map((it) => it.record_id)).size;
  const failedVisits = new Set(items.filter((it) => it.state === "failed").map((it) => it.record_id)).size;
  const busy = sending || items.some((it) => it.state === "sending");
  const title = card.querySelector("[data-outbox-title]");
  const sub = card.querySelector("[data-outbox-sub]");

  const syncedAt = user ? await lastSynced(user.id) : null;
  const synced = syncedAt ? t("last_synced", { t: syncedTime(syncedAt) }) : "";
  card.dataset.syncedAt = syncedAt || "";
  let state;
  if (!visits) {
    state = "empty";
    title.textContent = t("all_sent");
    sub.textContent = synced;
  } else if (failedVisits) {
    state = "failed";
    title.textContent = t("n_failed", { n: failedVisits });
    sub.textContent = visits > failedVisits ? t("n_waiting", { n: visits - failedVisits }) : "";
  } else if (busy) {
    state = "sending";
    title.textContent = t("n_waiting", { n: visits });
    sub.textContent = t("sending_now");
  } else {
    state = "waiting";
    title.textContent = t("n_waiting", { n: visits });
    const stalled = ["offline", "server", "error"].includes(syncStatus().outcome);
    sub.textContent = navigator.onLine === false ? `${t("no_network")} · ${t("will_send")}`
      : stalled ? t("note_retry") : t("will_send");
    if (synced) sub.textContent = `${sub.textContent} ${synced}`;
  }
  card.dataset.state = state;
  card.dataset.count = String(visits);
  markHouseholds("[data-testid=unvisited-item]", items, sent);
}

/** Keep this month's record (/m/month) cached for offline use: ask the service worker to
 *  fetch it now and then while online, so it opens without signal too. */
const WARM_EVERY_MS = 30 * 60 * 1000;

function warmMonth() {
  const user = pageUser();
  const worker = navigator.serviceWorker && navigator.serviceWorker.controller;
  if (!user || !worker || navigator.onLine === false) return;
  const key = `fieldlog:month-warmed:${user.id}`;
  let last = 0;
  try { last = Number(localStorage.getItem(key) || 0); } catch (_) { /* private mode */ }
  if (Date.now() - last < WARM_EVERY_MS) return;
  worker.postMessage({ type: "warm", urls: ["/m/month"] });
  try { localStorage.setItem(key, String(Date.now())); } catch (_) { /* private mode */ }
}

let refreshing = null;
let refreshes = 0;

/** Put the server's current home (figures, hub badges, lists) in place of the rendered one. */
async function refreshFromServer() {
  if (navigator.onLine === false) return;
  let html = null;
  try {
    const res = await fetch("/m/", { credentials: "same-origin", cache: "no-store" });
    if (res.ok && !res.redirected) html = await res.text();
  } catch (_) { /* no network after all: the next sync tries again */ }
  if (!html) return;
  const fresh = new DOMParser().parseFromString(html, "text/html");
  for (const part of document.querySelectorAll("[data-live]")) {
    const next = fresh.querySelector(`[data-live="${part.dataset.live}"]`);
    if (next) part.replaceWith(document.importNode(next, true));
  }
  refreshes += 1;
  document.body.dataset.homeRefreshed = String(refreshes);
  await render();
  // Keep the offline copy of home as fresh as what is on the screen.
  const worker = navigator.serviceWorker && navigator.serviceWorker.controller;
  if (worker) worker.postMessage({ type: "warm", urls: ["/m/"] });
}

let refreshAgain = false;

/** Refresh now, or once more after the running refresh (a sync may end while it runs). */
function refreshSoon() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshing = refreshFromServer().catch((err) => console.error(err)).finally(() => {
    refreshing = null;
    if (refreshAgain) {
      refreshAgain = false;
      refreshSoon();
    }
  });
  return refreshing;
}

onChange((detail) => {
  if (detail && detail.type === "sync") {
    sending = detail.phase === "sending";
    if (detail.phase === "idle" && detail.outcome === "done") refreshSoon();
  }
  render();
});
self.addEventListener("online", render);
self.addEventListener("offline", render);
sending = syncStatus().phase === "sending";
render();
warmMonth();
