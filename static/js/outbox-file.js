// The outbox as one file, for when the phone cannot reach the server for days: the cadre sends
// it by other means (WeChat, a USB stick) and an administrator imports it
// (/admin/outbox-import; fieldlog/services/records/outbox_file.py reads it).
// {"format": "fieldlog-outbox", "version": 1, "sha256": hex of the payload's UTF-8 bytes,
//  "payload": JSON text of {user, exported_at, records, photos (bytes as base64)}}.
// Exporting changes nothing in the outbox: only the server's answer makes a record delivered.

import { photoBlob } from "./outbox.js";

export const FORMAT = "fieldlog-outbox";
export const VERSION = 1;

function base64(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function localStamp(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}`
    + `-${pad(date.getHours())}${pad(date.getMinutes())}`;
}

function offsetIso(date) {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes >= 0 ? "+" : "-";
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
  const local = new Date(date.getTime() + minutes * 60_000).toISOString().slice(0, 19);
  return `${local}${sign}${pad(minutes / 60)}:${pad(minutes % 60)}`;
}

/** Build the outbox file of `user` ({id, username, name}) from its outbox items.
 *  Resolve with {blob, filename, records, photos}. */
export async function buildOutboxFile(user, items) {
  const mine = items.filter((it) => it.user_id === String(user.id));
  const records = mine.filter((it) => it.kind === "record").map((it) => it.record);
  const photos = [];
  for (const it of mine.filter((p) => p.kind === "photo")) {
    const blob = photoBlob(it);
    if (!blob) continue; // nothing left to send of it; the page says so
    photos.push({
      id: it.id, record_id: it.record_id, record_type: it.record_type || "visit",
      slot: it.slot || null, taken_at: it.taken_at || null, lat: it.lat ?? null,
      lon: it.lon ?? null, mime: it.mime || blob.type || "image/jpeg",
      filename: it.filename || `${it.id}.jpg`, data: base64(await blob.arrayBuffer()),
    });
  }
  const now = new Date();
  const payload = JSON.stringify({
    user: { id: Number(user.id), username: user.username, name: user.name },
    exported_at: offsetIso(now), records, photos,
  });
  const file = { format: FORMAT, version: VERSION, sha256: await sha256Hex(payload), payload };
  const filename = `fieldlog-outbox-${user.username || user.id}-${localStamp(now)}.json`;
  return {
    blob: new Blob([JSON.stringify(file)], { type: "application/json" }),
    filename, records: records.length, photos: photos.length,
  };
}

/** Save a Blob as a download (works offline: nothing leaves the phone but through the user). */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
