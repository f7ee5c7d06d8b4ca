// The outbox: records and photos waiting to reach the server, kept in IndexedDB.
// Items are never expired; only a server "stored" answer or an explicit, confirmed
// discard by the user removes them.
//
// A record item: {id, kind: "record", seq, user_id, user_name, record_id (= id), state,
//   queued_at, attempts, last_try_at, note, error, message, fields, record, label, photo_count}
// A photo item:  {id, kind: "photo", seq, user_id, record_id, state, blob | buffer, mime,
//   filename, size, taken_at, lat, lon, width, height, original, queued_at, attempts, ...}
// state: "waiting" | "sending" | "failed" (failed = the server refused it for good).
// A waiting item also keeps why its last try did not get through (`note`) and how many tries
// in a row did not (`fails`): the outbox page says "needs attention" after a few.

import { getAll, promisify, tx } from "./db.js";

const SENT_KEEP = 20;
const listeners = new Set();
const channel = "BroadcastChannel" in self ? new BroadcastChannel("fieldlog-outbox") : null;
if (channel) channel.onmessage = (ev) => emit(ev.data, false);

function emit(detail, broadcast = true) {
  for (const fn of listeners) {
    try { fn(detail); } catch (err) { console.error(err); }
  }
  if (broadcast && channel) {
    try { channel.postMessage(detail); } catch (_) { /* closed */ }
  }
}

/** Call `fn(detail)` whenever the outbox or the sync state changes (in any tab). */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Tell every listener (here and in other tabs) that something changed. */
export function notify(detail = { type: "outbox" }) {
  emit(detail);
}

/** Return an RFC 4122 version-4 UUID (crypto.randomUUID needs a secure context). */
export function uuid4() {
  if (self.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = new Uint8Array(16);
  if (self.crypto && crypto.getRandomValues) crypto.getRandomValues(b);
  else for (let i = 0; i < 16; i += 1) b[i] = Math.floor(Math.random() * 256);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** True when saving failed because the browser's storage for the app is full. */
export function isQuotaError(err) {
  return Boolean(err) && (err.name === "QuotaExceededError"
    || /quota/i.test(String(err.message || "")));
}

/** Return a photo item's bytes as a Blob (old Safari stored ArrayBuffers instead). */
export function photoBlob(item) {
  if (item.blob instanceof Blob) return item.blob;
  if (item.buffer) return new Blob([item.buffer], { type: item.mime || "image/jpeg" });
  return null;
}

function putAll(store, items) {
  return Promise.all(items.map((it) => promisify(store.put(it))));
}

/**
 * Queue a record (any type) and its photos in one transaction; resolve once it is on disk.
 * `photos`: [{id, blob, mime, filename, taken_at, lat, lon, width, height, original, slot}]
 * An edit carries `record.base_version`. If the record still waits in the outbox, the new content
 * replaces it there (keeping what the server has already seen of it).
 */
export async function queueRecord({ record, label, userId, userName }, photos = []) {
  const now = new Date().toISOString();
  const base = Date.now() * 100;
  const recordItem = {
    id: record.id, kind: "record", seq: base, rev: base, user_id: String(userId),
    user_name: userName || "", record_id: record.id, state: "waiting", queued_at: now,
    attempts: 0, record, label, photo_count: photos.length,
  };
  const photoItems = photos.map((p, i) => ({
    ...p, kind: "photo", seq: base + 1 + i, user_id: String(userId), record_id: record.id,
    record_type: record.type, slot: p.slot || null,
    state: "waiting", queued_at: now, attempts: 0, size: p.blob ? p.blob.size : 0,
  }));
  const write = (s) => putAll(s.outbox, [recordItem, ...photoItems]);
  const put = async (s) => {
    const waiting = await promisify(s.outbox.get(record.id));
    if (waiting && waiting.kind === "record") {
      // Never sent: it stays new. Sent before: the edit still changes what the server saw.
      const { base_version: _ignored, ...rest } = record;
      recordItem.record = waiting.record.base_version == null
        ? rest : { ...rest, base_version: waiting.record.base_version };
      recordItem.seq = waiting.seq;
      recordItem.photo_count = (waiting.photo_count || 0) + photos.length;
    }
    await write(s);
  };
  try {
    await tx("outbox", "readwrite", put);
  } catch (err) {
    // Some older WebKit builds cannot store Blobs: store the bytes instead.
    if (!photoItems.length) throw err;
    const buffers = await Promise.all(photoItems.map((p) => p.blob.arrayBuffer()));
    photoItems.forEach((p, i) => { p.buffer = buffers[i]; delete p.blob; });
    await tx("outbox", "readwrite", put);
  }
  notify({ type: "outbox", reason: "queued", id: record.id });
  return recordItem;
}

/** Queue a visit (the first record type; kept for the visit form). */
export const queueVisit = queueRecord;

/** Return every outbox item, oldest first. */
export function listAll() {
  return getAll("outbox", "seq");
}

/** Merge `patch` into an item, if it still exists. */
export async function update(id, patch) {
  await tx("outbox", "readwrite", async (s) => {
    const item = await promisify(s.outbox.get(id));
    if (item) await promisify(s.outbox.put({ ...item, ...patch }));
  });
}

/** Set many items' state at once (e.g. a batch goes out). */
export async function setState(ids, patch) {
  await tx("outbox", "readwrite", async (s) => {
    for (const id of ids) {
      const item = await promisify(s.outbox.get(id));
      if (item) await promisify(s.outbox.put({ ...item, ...patch }));
    }
  });
}

async function trimSent(store) {
  const all = await promisify(store.index("sent_at").getAll());
  const extra = all.length - SENT_KEEP;
  for (let i = 0; i < extra; i += 1) await promisify(store.delete(all[i].id));
}

/** A try did not get through (no network, server down, signed out): put the items back as
 *  waiting, say why (`note`) and count the failed tries (`fails`, reset once delivered). */
export async function markTransient(ids, note, patch = {}) {
  await tx("outbox", "readwrite", async (s) => {
    for (const id of ids) {
      const item = await promisify(s.outbox.get(id));
      if (item) {
        await promisify(s.outbox.put({
          ...item, ...patch, state: "waiting", note, fails: (item.fails || 0) + 1,
          last_try_at: new Date().toISOString(),
        }));
      }
    }
  });
}

/** The server stored a record: move it to the "recently sent" list. */
export async function recordStored(item, result = {}) {
  await tx(["outbox", "sent"], "readwrite", async (s) => {
    const current = await promisify(s.outbox.get(item.id));
    if (current && current.rev !== undefined && current.rev !== item.rev) {
      // Edited while this version was on its way: the edit now changes the stored version.
      if (current.record.base_version == null) current.record.base_version = result.version || 1;
      if (current.state === "sending") current.state = "waiting";
      await promisify(s.outbox.put(current));
    } else {
      await promisify(s.outbox.delete(item.id));
    }
    await promisify(s.sent.put({
      id: item.id, kind: item.record.type, label: item.label, user_id: item.user_id,
      version: result.version || null, review_status: result.review_status || null,
      household_id: item.record.household_id || null, item_id: item.record.item_id || null, occurred_at: item.record.occurred_at, sent_at: new Date().toISOString(),
      received_at: result.received_at || null, photos_total: item.photo_count || 0,
      photos_sent: 0,
    }));
    await trimSent(s.sent);
  });
}

/** The server has a photo: drop its bytes from the phone and count it as sent. */
export async function photoStored(item) {
  await tx(["outbox", "sent"], "readwrite", async (s) => {
    await promisify(s.outbox.delete(item.id));
    const entry = await promisify(s.sent.get(item.record_id));
    if (entry) {
      entry.photos_sent = (entry.photos_sent || 0) + 1;
      entry.sent_at = new Date().toISOString();
      await promisify(s.sent.put(entry));
    }
  });
}

/** Return the recently sent list, newest first. */
export async function listSent() {
  const rows = await getAll("sent", "sent_at");
  return rows.reverse();
}

/** Put a failed record (and its failed photos) back in the queue. */
export async function retry(recordId) {
  await tx("outbox", "readwrite", async (s) => {
    const items = await promisify(s.outbox.index("record_id").getAll(recordId));
    for (const item of items) {
      if (item.state !== "waiting") {
        await promisify(s.outbox.put({
          ...item, state: "waiting", error: null, message: null, fields: null, note: null,
        }));
      }
    }
  });
  notify({ type: "outbox", reason: "retry", id: recordId });
}

/** Delete a record and its photos, or one photo. Only after the user confirmed it. */
export async function discard(id) {
  await tx("outbox", "readwrite", async (s) => {
    const item = await promisify(s.outbox.get(id));
    if (!item) return;
    if (item.kind === "record") {
      const items = await promisify(s.outbox.index("record_id").getAll(id));
      for (const it of items) await promisify(s.outbox.delete(it.id));
    } else {
      await promisify(s.outbox.delete(id));
    }
  });
  notify({ type: "outbox", reason: "discard", id });
}
