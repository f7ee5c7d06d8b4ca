// Photos the server acknowledged (so the outbox says delivered) but could not process
// afterwards: a damaged file found only when the photo job decodes it. After each sync round,
// and on each page load while online, the phone asks the server which of its user's photos
// failed and were not acknowledged yet, keeps the answer (so it shows offline too) and shows
// each one on home and on the outbox page with what to do: take the photo again or pick
// another, then edit the record. "Got it" acknowledges it; a photo replaced on the record
// (a newer one arrived and was processed) is no longer listed by the server.

import { getMeta, setMeta } from "./db.js";
import { csrfToken, pageUser } from "./device.js";
import { notify, onChange } from "./outbox.js";
import { h, shortTime, t, toast } from "./ui.js";

// While the server still processes some of the user's photos, ask again after these delays.
const AGAIN = [2_000, 4_000, 8_000, 15_000, 30_000, 60_000];
let timer = null;
let tries = 0;
let asking = null;

const key = (userId) => `photo-problems:${userId}`;

/** Return the failed photos last heard of for `userId` (kept on the phone). */
export async function knownProblems(userId) {
  try {
    return (await getMeta(key(userId))) || [];
  } catch (_) {
    return [];
  }
}

async function ask() {
  const user = pageUser();
  if (!user || user.role !== "secretary" || navigator.onLine === false) return null;
  let data = null;
  try {
    const res = await fetch("/api/v1/photos/failed", { credentials: "same-origin", cache: "no-store" });
    if (res.ok && !res.redirected) data = await res.json();
  } catch (_) { /* no network after all: the next round asks again */ }
  if (!data || !Array.isArray(data.failed)) return null;
  await setMeta(key(user.id), data.failed).catch(() => {});
  notify({ type: "photo-problems", count: data.failed.length });
  clearTimeout(timer);
  timer = null;
  if (data.processing > 0 && tries < AGAIN.length) {
    timer = setTimeout(() => checkPhotoProblems(), AGAIN[tries]);
    tries += 1;
  }
  return data;
}

/** Ask the server now (once at a time); resolve with its answer, or null offline. */
export function checkPhotoProblems({ fresh = false } = {}) {
  if (fresh) tries = 0; // photos were just sent: watch their processing from the start
  if (!asking) asking = ask().finally(() => { asking = null; });
  return asking;
}

async function acknowledge(ids) {
  const user = pageUser();
  let ok = false;
  try {
    const res = await fetch("/api/v1/photos/failed/seen", {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ ids }),
    });
    ok = res.ok;
  } catch (_) { /* offline */ }
  if (!ok) {
    toast(t("photo_problem_ack_offline"));
    return;
  }
  const left = (await knownProblems(user.id)).filter((p) => !ids.includes(p.id));
  await setMeta(key(user.id), left).catch(() => {});
  notify({ type: "photo-problems", count: left.length });
}

function item(p) {
  const title = p.title || t(`type_${p.record_type}`);
  return h("li", { class: "photo-problem", dataset: { testid: "photo-problem", photoId: p.id, recordId: p.record_id } },
    h("p", { class: "photo-problem-record" }, h("strong", {}, title),
      p.received_at ? h("span", { class: "muted small" }, ` · ${t("photo_problem_sent", { t: shortTime(p.received_at) })}`) : null),
    h("p", { class: "photo-problem-why", dataset: { testid: "photo-problem-why" } },
      t("photo_problem_why", { reason: p.reason || "" })),
    h("p", { class: "photo-problem-todo small" }, t("photo_problem_todo")),
    h("div", { class: "row-actions" },
      h("a", { class: "btn btn-small btn-primary", href: p.edit_url, dataset: { testid: "photo-problem-edit" } },
        t("photo_problem_edit")),
      h("button", { type: "button", class: "btn btn-small", dataset: { testid: "photo-problem-ok" },
        onclick: (ev) => { ev.currentTarget.disabled = true; acknowledge([p.id]); } },
      t("photo_problem_ok"))));
}

async function render(box) {
  const user = pageUser();
  const problems = user ? await knownProblems(user.id) : [];
  box.replaceChildren();
  box.hidden = problems.length === 0;
  box.dataset.count = String(problems.length);
  if (!problems.length) return;
  box.append(
    h("h2", { class: "photo-problems-title" }, t("photos_failed_n", { n: problems.length })),
    h("ul", { class: "photo-problems-list" }, problems.map(item)));
}

/** Keep every [data-photo-problems] box of the page showing the user's failed photos. */
export function showPhotoProblems() {
  const boxes = [...document.querySelectorAll("[data-photo-problems]")];
  const draw = () => Promise.all(boxes.map((box) => render(box))).catch((err) => console.error(err));
  onChange((detail) => {
    if (!detail) return;
    if (detail.type === "photo-problems") draw();
    // A round sent something (photos among it, maybe): ask, and keep asking while any process.
    if (detail.type === "sync" && detail.phase === "idle" && detail.outcome === "done") {
      checkPhotoProblems({ fresh: true });
    }
  });
  self.addEventListener("online", () => checkPhotoProblems());
  draw();
  checkPhotoProblems({ fresh: true });
}
