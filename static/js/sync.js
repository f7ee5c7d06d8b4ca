// Replays the outbox to the server, after Workbox's Queue: oldest first; on a transient
// failure put the item back and stop this round; try again on page load, on `online`,
// when the page becomes visible and on a timer with backoff. One loop at a time per tab
// and (with navigator.locks) across tabs.

import { getMeta, setMeta } from "./db.js";
import { deviceFor, ensureDevice, pageUser } from "./device.js";
import {
  listAll, markTransient, notify, onChange, photoBlob, photoStored, recordStored, setState, update,
} from "./outbox.js";

const BATCH = 50;
const BASE_DELAY = 30_000;
const MAX_DELAY = 10 * 60_000;
const SYNC_TIMEOUT = 60_000;
const PHOTO_TIMEOUT = 180_000;
const PERMANENT = new Set(["conflict", "invalid", "forbidden"]);
// After the network comes back, a failed round is retried soon, not after the backoff: the
// `online` event often comes a moment before the connection really works.
const QUICK_DELAYS = [2_000, 5_000, 15_000];
// Another tab holds the sync lock: look again soon (no network), not after the backoff. That
// tab may be closing mid-round (seed 20261203 cycle 32: 30 s until the tab left alone synced).
const BUSY_DELAY = 3_000;

let current = null;
let again = false; // a round was asked for while one ran: run one more right after it
let failures = 0;
let quick = 0; // quick retries left (QUICK_DELAYS) since the network came back
let timer = null;
let started = false;
const status = { phase: "idle", outcome: null, at: null };

/** Why a round stopped early without losing anything. */
class Transient extends Error {
  constructor(kind, message = "") {
    super(message || kind);
    this.kind = kind;
  }
}

/** The user cannot send now (no token, not signed in on this page): skip their items. */
class SkipUser extends Error {}

/** Return the current sync state {phase: "idle"|"sending", outcome, at}. */
export function syncStatus() {
  return { ...status };
}

function setPhase(phase, outcome = status.outcome) {
  Object.assign(status, { phase, outcome, at: new Date().toISOString() });
  notify({ type: "sync", ...status });
}

async function call(device, method, path, body, headers, timeoutMs) {
  const ctrl = "AbortController" in self ? new AbortController() : null;
  const t = ctrl ? setTimeout(() => ctrl.abort(), timeoutMs) : null;
  let res;
  try {
    res = await fetch(path, {
      method, body, credentials: "omit", cache: "no-store", signal: ctrl ? ctrl.signal : undefined,
      headers: { Authorization: `Bearer ${device.token}`, ...headers },
    });
  } catch (err) {
    throw new Transient("offline", String(err && err.message));
  } finally {
    if (t) clearTimeout(t);
  }
  let data = null;
  try { data = await res.json(); } catch (_) { /* not JSON */ }
  return { status: res.status, data: data || {} };
}

/** Call the API for `userId`; on 401 get a fresh token once (only for this page's user). */
async function authed(ctx, fn) {
  let res = await fn(ctx.device);
  if (res.status !== 401) return res;
  const user = pageUser();
  if (user && user.id === ctx.userId) {
    const fresh = await ensureDevice({ force: true });
    if (fresh) {
      ctx.device = fresh;
      res = await fn(fresh);
      if (res.status !== 401) return res;
    }
  }
  throw new SkipUser();
}

function isTransientStatus(code) {
  return code >= 500 || code === 408 || code === 429 || code === 0;
}

async function putBack(items, note) {
  if (note) await markTransient(items.map((it) => it.id), note);
  else await setState(items.map((it) => it.id), { state: "waiting", note, last_try_at: new Date().toISOString() });
}

/** Return when this phone last finished sending `userId`'s outbox (ISO time), or null. */
export async function lastSynced(userId) {
  try {
    return (await getMeta(`synced:${userId}`)) || null;
  } catch (_) {
    return null;
  }
}

async function sendBatch(ctx, batch) {
  const ids = batch.map((it) => it.id);
  await setState(ids, { state: "sending" });
  notify({ type: "outbox", reason: "sending" });
  let res;
  try {
    res = await authed(ctx, (dev) => call(dev, "POST", "/api/v1/sync",
      // The phone's clock as it sends: the server corrects device times by the offset.
      JSON.stringify({ records: batch.map((it) => it.record), device_now: new Date().toISOString() }),
      { "Content-Type": "application/json" }, SYNC_TIMEOUT));
  } catch (err) {
    await putBack(batch, err instanceof SkipUser ? "signed_out" : "network");
    throw err;
  }
  for (const it of batch) it.attempts = (it.attempts || 0) + 1;
  if (res.status === 200 && Array.isArray(res.data.results)) {
    const byId = new Map(res.data.results.map((r) => [String(r.id).toLowerCase(), r]));
    for (const [i, item] of batch.entries()) {
      const r = byId.get(item.id.toLowerCase()) || res.data.results[i];
      if (r && r.status === "stored") {
        await recordStored(item, r);
      } else if (r && PERMANENT.has(r.status)) {
        await update(item.id, {
          state: "failed", attempts: item.attempts, error: r.error || r.status,
          message: r.message || "", fields: r.fields || null, note: null,
        });
      } else {
        await update(item.id, { state: "waiting", attempts: item.attempts, note: "retry" });
      }
    }
    notify({ type: "outbox", reason: "sent" });
    return;
  }
  if (isTransientStatus(res.status) || res.status === 404) {
    await putBack(batch, "server");
    throw new Transient("server", `HTTP ${res.status}`);
  }
  // The whole batch was refused: find the bad record by sending one at a time.
  if (batch.length > 1) {
    await putBack(batch, null);
    for (const item of batch) await sendBatch(ctx, [item]);
    return;
  }
  await update(batch[0].id, {
    state: "failed", attempts: batch[0].attempts, error: res.data.error || `http_${res.status}`,
    message: res.data.message || "", fields: res.data.fields || null, note: null,
  });
  notify({ type: "outbox", reason: "failed" });
}

async function sendPhoto(ctx, item) {
  const blob = photoBlob(item);
  await update(item.id, { state: "sending" });
  notify({ type: "outbox", reason: "sending" });
  if (!blob) {
    await update(item.id, { state: "failed", error: "missing_data", message: "" });
    return;
  }
  const attempts = (item.attempts || 0) + 1;
  let res;
  try {
    res = await authed(ctx, (dev) => {
      const form = new FormData();
      form.append("file", blob, item.filename || `${item.id}.jpg`);
      form.append("record_type", item.record_type || "visit");
      if (item.slot) form.append("slot", item.slot);
      form.append("record_id", item.record_id);
      if (item.taken_at) form.append("taken_at", item.taken_at);
      if (item.lat != null && item.lon != null) {
        form.append("lat", String(item.lat));
        form.append("lon", String(item.lon));
      }
      return call(dev, "PUT", `/api/v1/photos/${encodeURIComponent(item.id)}`, form, {}, PHOTO_TIMEOUT);
    });
  } catch (err) {
    await putBack([item], err instanceof SkipUser ? "signed_out" : "network");
    throw err;
  }
  if (res.status === 200 || res.status === 201) {
    await photoStored(item);
  } else if (isTransientStatus(res.status) || res.status === 404) {
    // 404 record_not_found: the visit has not reached the server yet (not a failed try).
    const note = res.data.error || "server";
    if (note === "record_not_found") await update(item.id, { state: "waiting", attempts, note });
    else await markTransient([item.id], note, { attempts });
    notify({ type: "outbox", reason: "waiting" });
    throw new Transient("server", `HTTP ${res.status}`);
  } else {
    await update(item.id, {
      state: "failed", attempts, error: res.data.error || `http_${res.status}`,
      message: res.data.message || "", fields: res.data.fields || null, note: null,
    });
  }
  notify({ type: "outbox", reason: "sent" });
}

async function sendForUser(userId) {
  let device = await deviceFor(userId);
  const user = pageUser();
  if (!device && user && user.id === userId) device = await ensureDevice();
  if (!device) throw new SkipUser();
  const ctx = { userId, device };

  const records = (await listAll()).filter(
    (it) => it.kind === "record" && it.user_id === userId && it.state !== "failed",
  );
  for (let i = 0; i < records.length; i += BATCH) {
    await sendBatch(ctx, records.slice(i, i + BATCH));
  }
  // A visit's photos go only after the visit itself is on the server (out of the outbox).
  const items = await listAll();
  const unsentRecords = new Set(items.filter((it) => it.kind === "record").map((it) => it.id));
  const photos = items.filter((it) => it.kind === "photo" && it.user_id === userId
    && it.state !== "failed" && !unsentRecords.has(it.record_id));
  for (const photo of photos) await sendPhoto(ctx, photo);
}

/** Items a round could send: not failed, and not photos of a visit the server refused. */
function sendable(items) {
  const failedRecords = new Set(items
    .filter((it) => it.kind === "record" && it.state === "failed").map((it) => it.id));
  return items.filter((it) => it.state !== "failed" && !failedRecords.has(it.record_id));
}

async function round() {
  const pending = sendable(await listAll());
  if (!pending.length) return "empty";
  if (navigator.onLine === false) return "offline";
  // This page's user first, then anyone else who left items behind on this phone.
  const me = pageUser();
  const users = [...new Set(pending.map((it) => it.user_id))];
  users.sort((a, b) => (me && b === me.id) - (me && a === me.id));
  setPhase("sending");
  let outcome = "done";
  try {
    for (const userId of users) {
      try {
        await sendForUser(userId);
        await setMeta(`synced:${userId}`, new Date().toISOString()).catch(() => {});
      } catch (err) {
        if (!(err instanceof SkipUser)) throw err;
        outcome = "signed_out";
      }
    }
  } catch (err) {
    if (!(err instanceof Transient)) console.error("fieldlog sync:", err);
    outcome = err instanceof Transient ? err.kind : "error";
  }
  return outcome;
}

function withLock(fn) {
  if (navigator.locks && navigator.locks.request) {
    return navigator.locks.request("fieldlog-sync", { ifAvailable: true },
      (lock) => (lock ? fn() : "busy"));
  }
  return fn();
}

async function hasPending() {
  try {
    return sendable(await listAll()).length > 0;
  } catch (_) {
    return false;
  }
}

async function schedule(outcome) {
  clearTimeout(timer);
  timer = null;
  const failed = !["done", "empty", "busy"].includes(outcome);
  if (!failed && outcome !== "busy") {
    failures = 0;
    quick = 0;
  } else if (failed) {
    failures += 1;
  }
  if (!(await hasPending())) return;
  if (failed) registerBackgroundSync();
  let delay = outcome === "busy" ? BUSY_DELAY
    : Math.min(BASE_DELAY * 2 ** Math.max(0, failures - 1), MAX_DELAY);
  if (failed && quick > 0) {
    delay = QUICK_DELAYS[QUICK_DELAYS.length - quick];
    quick -= 1;
    failures = 0; // the backoff starts afresh after the quick retries
  }
  timer = setTimeout(() => syncNow(), delay);
}

/** Run a sync round now (or once more after the running one); resolve with its outcome. */
export function syncNow() {
  if (current) {
    again = true;
    return current;
  }
  current = (async () => {
    let outcome;
    do {
      again = false;
      try {
        outcome = await withLock(round);
      } catch (err) {
        console.error("fieldlog sync:", err);
        outcome = "error";
      }
      // Asked again meanwhile (the network came back, a record was saved, the page became
      // visible): go once more at once, even if this round failed, not after the backoff.
    } while (again && outcome !== "busy");
    return outcome;
  })();
  current.then((outcome) => {
    current = null;
    if (outcome !== "busy") setPhase("idle", outcome);
    schedule(outcome);
  });
  return current;
}

/** The user asked to send now, or the network came back: forget the backoff and run a round
 *  at once (right after the running one, if any); retry a failure soon. */
export function retryNow() {
  failures = 0;
  quick = QUICK_DELAYS.length;
  return syncNow();
}

/** Ask for a Background Sync wake-up where it exists (an extra trigger; Safari has none). */
function registerBackgroundSync() {
  if (!navigator.serviceWorker) return;
  navigator.serviceWorker.ready
    .then((reg) => (reg.sync ? reg.sync.register("fieldlog-outbox") : null))
    .catch(() => { /* not allowed or not supported */ });
}

/** Start syncing in the background: now, when online, when visible, on a timer.
 *  Resolve with the outcome of the first round. */
export function startSync() {
  if (started) return current || Promise.resolve(null);
  started = true;
  self.addEventListener("online", () => retryNow());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") syncNow();
  });
  onChange((detail) => {
    if (detail && (detail.reason === "queued" || detail.reason === "retry")) {
      registerBackgroundSync();
      syncNow();
    }
  });
  if (navigator.serviceWorker) {
    navigator.serviceWorker.addEventListener("message", (ev) => {
      if (ev.data && ev.data.type === "sync") syncNow();
    });
  }
  return syncNow();
}
