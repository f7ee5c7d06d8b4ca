// Device tokens: each signed-in user on this phone gets a bearer token once (while the
// session cookie and CSRF token are at hand), so records can be replayed hours later
// without a session. Tokens are kept per user in IndexedDB `meta` as "device:<user id>".

import { deleteMeta, getMeta, setMeta } from "./db.js";

const inflight = new Map();

/** Return the signed-in user the page was rendered for, or null. */
export function pageUser() {
  const body = document.body;
  if (!body || !body.dataset.userId) return null;
  return { id: body.dataset.userId, name: body.dataset.userName || "", role: body.dataset.role || "" };
}

/** Return the page's CSRF token (from the meta tag), or "". */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

/** Return the stored device {user_id, device_id, token} of a user, or null. */
export async function deviceFor(userId) {
  if (userId == null || userId === "") return null;
  return (await getMeta(`device:${userId}`)) || null;
}

/** Forget a user's device token (on sign-out). The outbox is never touched. */
export function forgetDevice(userId) {
  return deleteMeta(`device:${userId}`);
}

async function register(user) {
  let res;
  try {
    res = await fetch("/api/v1/devices", {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ label: (navigator.userAgent || "").slice(0, 200) }),
    });
  } catch (_) {
    return null; // offline: try again later
  }
  if (res.status !== 201) return null;
  let data = null;
  try { data = await res.json(); } catch (_) { return null; }
  if (!data || !data.token) return null;
  const device = {
    user_id: String(user.id), device_id: data.device_id, token: data.token,
    created_at: new Date().toISOString(),
  };
  await setMeta(`device:${user.id}`, device);
  return device;
}

/**
 * Make sure the signed-in user of this page has a device token; return it or null.
 * `force`: the server refused the stored token (401), ask for a new one.
 */
export async function ensureDevice({ force = false } = {}) {
  const user = pageUser();
  if (!user || !csrfToken()) return null;
  if (!force) {
    const known = await deviceFor(user.id);
    if (known) return known;
  }
  const key = user.id;
  if (!inflight.has(key)) {
    inflight.set(key, register(user).finally(() => inflight.delete(key)));
  }
  return inflight.get(key);
}
