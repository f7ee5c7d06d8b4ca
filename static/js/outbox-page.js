// The outbox page: every unsent record and photo with its state in plain words — 待发送
// (waiting), 发送中 (sending), 需处理 (needs attention: why, and what to do), 已送达 (delivered,
// the last few) —, when the phone last synced, one tap to send now, retry / discard, and the
// export of what waits as a file. Live.

import { getMeta, setMeta } from "./db.js";
import { pageUser } from "./device.js";
import { discard, listAll, listSent, onChange, photoBlob, retry } from "./outbox.js";
import { buildOutboxFile, saveBlob } from "./outbox-file.js";
import { lastSynced, retryNow, syncStatus } from "./sync.js";
import { describe } from "./record-label.js";
import { h, shortTime, syncedTime, t, toast } from "./ui.js";

// Tries in a row that did not get through before an item says it needs attention (it keeps
// being retried by itself all the same).
const STUCK_AFTER = 3;
const PHOTO_ERRORS = new Set(["too_many_pixels", "corrupt_image", "not_an_image",
  "unsupported_format", "empty_file"]);

const $ = (id) => document.getElementById(id);
const urls = new Map(); // photo id -> object URL, reused between renders
let sending = syncStatus().phase === "sending";
let queued = false;

function groupByVisit(items) {
  const groups = new Map();
  for (const it of items) {
    if (!groups.has(it.record_id)) groups.set(it.record_id, { id: it.record_id, record: null, photos: [] });
    const g = groups.get(it.record_id);
    if (it.kind === "record") g.record = it;
    else g.photos.push(it);
  }
  return [...groups.values()];
}

function groupState(g) {
  const all = [g.record, ...g.photos].filter(Boolean);
  if (all.some((it) => it.state === "failed")) return "failed";
  if (all.some((it) => it.state === "sending")) return "sending";
  if (all.some((it) => (it.fails || 0) >= STUCK_AFTER)) return "stuck";
  return "waiting";
}

/** Say in words why an item did not go, and what to do: {why, todo, detail}. */
export function explain(it) {
  if (it.state !== "failed") {
    const note = it.note === "network" && navigator.onLine === false ? "offline" : it.note;
    const known = ["offline", "network", "server", "signed_out", "quota_exceeded",
      "store_unavailable"];
    const key = known.includes(note) ? note : "server";
    return { why: t(`why_${key}`), todo: t(`todo_${key}`), detail: "" };
  }
  const code = it.error || "";
  const detail = [it.message, it.fields ? Object.entries(it.fields)
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : JSON.stringify(v)}`).join("; ") : ""]
    .filter(Boolean).join(" — ");
  let key = "refused";
  if (PHOTO_ERRORS.has(code)) key = "bad_photo";
  else if (["conflict", "stale", "locked", "invalid", "forbidden", "too_large", "too_many_photos",
    "missing_data", "password_change_required"].includes(code)) key = code;
  return { why: t(`why_${key}`, { e: code }), todo: t(`todo_${key}`), detail };
}

function photoUrl(p) {
  if (p.mode === "undecodable") return null;
  if (!urls.has(p.id)) {
    const blob = photoBlob(p);
    if (!blob) return null;
    urls.set(p.id, URL.createObjectURL(blob));
  }
  return urls.get(p.id);
}

function reasonBox(it) {
  const { why, todo, detail } = explain(it);
  return h("div", { class: "item-reason", dataset: { testid: "outbox-reason", error: it.error || it.note || "" } },
    h("p", { class: "reason-why" }, why),
    h("p", { class: "reason-todo" }, todo),
    detail ? h("p", { class: "reason-detail small" }, t("server_said", { e: detail })) : null);
}

function photoTile(p, blocked) {
  const st = p.state === "waiting" && blocked ? "blocked" : p.state;
  const src = photoUrl(p);
  return h("li", { class: `thumb thumb-${st}`, dataset: { testid: "outbox-photo", state: st, photoId: p.id } },
    src ? h("img", { src, alt: "" }) : h("span", { class: "thumb-note" }, (p.filename || "").split(".").pop().toUpperCase()),
    // Waiting photos need no label: the card says it. Sending and failed ones do.
    st === "sending" || st === "failed" ? h("span", { class: `thumb-state state-${st}` }, t(`state_${st}`)) : null);
}

function visitCard(g) {
  const st = groupState(g);
  const r = g.record;
  const label = r ? describe(r.record.type, r.label) : { title: "", sub: "" };
  const failed = [r, ...g.photos].filter((it) => it && it.state === "failed");
  const notes = [];
  for (const it of failed) notes.push(reasonBox(it));
  const waitingNote = [r, ...g.photos].filter((it) => it && it.state === "waiting" && it.note
    && it.note !== "record_not_found").sort((a, b) => (b.fails || 0) - (a.fails || 0))[0];
  if (!failed.length && st === "stuck") notes.push(reasonBox(waitingNote));
  else if (!failed.length && waitingNote) {
    notes.push(h("p", { class: "muted small" },
      waitingNote.note === "signed_out" ? t("note_signed_out") : t("note_retry")));
  }
  const when = r ? shortTime(r.record.occurred_at) : "";
  const photosLine = g.photos.length ? t("photos_n", { n: g.photos.length }) : "";
  const actions = failed.length ? h("div", { class: "item-actions" },
    h("button", { type: "button", class: "btn btn-small btn-primary", dataset: { testid: "outbox-retry" },
      onclick: () => retry(g.id) }, t("retry")),
    h("button", { type: "button", class: "btn btn-small btn-danger-ghost", dataset: { testid: "outbox-discard" },
      onclick: () => {
        const only = !r && g.photos.length === 1;
        if (window.confirm(only ? t("discard_photo_confirm") : t("discard_confirm"))) {
          discard(r ? r.id : g.photos[0].id);
        }
      } }, t("discard")))
    : st === "stuck" ? h("div", { class: "item-actions" },
      h("button", { type: "button", class: "btn btn-small btn-primary", dataset: { testid: "outbox-retry" },
        onclick: () => { sendNow(); } }, t("send")))
      : null;

  return h("li", { class: `card outbox-item is-${st}`, dataset: { testid: "outbox-item", state: st, recordId: g.id } },
    h("div", { class: "item-head" },
      h("span", { class: "item-title" },
        r && r.record.type && r.record.type !== "visit"
          ? h("span", { class: "type-tag", dataset: { testid: "outbox-type" } }, t(`type_${r.record.type}`)) : null,
        label.title || (r && r.record.type && r.record.type !== "visit" ? "" : t("unknown_household")), " ",
        label.sub ? h("span", { class: "muted" }, label.sub) : null,
        r && r.record.base_version ? h("span", { class: "muted small" }, ` ${t("edit_of", { n: r.record.base_version + 1 })}`) : null),
      h("span", { class: `state-pill state-${st}`, dataset: { testid: "outbox-state" } }, t(`st_${st}`))),
    h("p", { class: "muted small" }, [when, photosLine,
      r && r.record.follow_up ? t("follow_up") : ""].filter(Boolean).join(" · ")),
    r && r.record.heard ? h("p", { class: "item-text" }, r.record.heard) : null,
    ...notes,
    g.photos.length ? h("ul", { class: "photo-grid photo-grid-small" },
      g.photos.map((p) => photoTile(p, !!r))) : null,
    actions);
}

/** Where a sent record can be seen again, by its type. */
function sentHref(s) {
  const paths = {
    visit: `/review/visits/${s.id}`, meeting: `/review/meetings/${s.id}`,
    action: `/review/actions/${s.id}`, goal: `/review/goals/${s.id}`,
    ledger_item: `/m/ledger/${s.id}`, ledger_update: s.item_id ? `/m/ledger/${s.item_id}` : "/m/ledger",
    day_mark: "/m/attendance", leave: "/m/leave",
  };
  return paths[s.kind || "visit"] || "/m/";
}

function sentRow(s) {
  const typed = s.kind && s.kind !== "visit";
  const label = describe(s.kind || "visit", s.label);
  return h("li", {},
    h("a", { class: "list-item", href: sentHref(s), dataset: { testid: "sent-item" } },
      h("span", { class: "list-main" },
        h("span", { class: "list-title" },
          typed ? h("span", { class: "type-tag" }, t(`type_${s.kind}`)) : null,
          label.title || (typed ? "" : t("unknown_household")), " ",
          h("span", { class: "muted" }, label.sub)),
        h("span", { class: "list-sub muted" }, [shortTime(s.occurred_at),
          s.photos_total ? t("photos_sent", { m: s.photos_sent || 0, n: s.photos_total }) : "",
          s.sent_at ? t("delivered_at", { t: syncedTime(s.sent_at) }) : ""]
          .filter(Boolean).join(" · "))),
      h("span", { class: "state-pill state-sent", dataset: { testid: "sent-state" } }, t("st_delivered"))));
}

async function render() {
  queued = false;
  const user = pageUser();
  const mine = (it) => !user || it.user_id === user.id;
  const all = await listAll();
  const items = all.filter(mine);
  const sent = (await listSent()).filter(mine);
  const groups = groupByVisit(items);
  const others = new Set(all.filter((it) => !mine(it)).map((it) => it.record_id)).size;
  $("outbox-others").hidden = others === 0;
  $("outbox-others").textContent = others ? t("note_others", { n: others }) : "";

  const live = new Set(items.map((it) => it.id));
  for (const [id, url] of urls) {
    if (!live.has(id)) { URL.revokeObjectURL(url); urls.delete(id); }
  }
  $("outbox-list").replaceChildren(...groups.map(visitCard));
  $("outbox-empty").hidden = groups.length > 0;

  const states = groups.map(groupState);
  const failed = states.filter((st) => st === "failed" || st === "stuck").length;
  const title = document.querySelector("[data-outbox-title]");
  const sub = document.querySelector("[data-outbox-sub]");
  title.textContent = groups.length ? t("n_unsent", { n: groups.length }) : t("all_sent");
  sub.textContent = !groups.length ? "" : failed ? t("n_attention", { n: failed })
    : sending ? t("sending_now")
      : navigator.onLine === false ? `${t("no_network")} · ${t("will_send")}` : t("will_send");
  const synced = user ? await lastSynced(user.id) : null;
  $("outbox-synced").textContent = synced ? t("last_synced", { t: syncedTime(synced) }) : t("never_synced");
  $("outbox-synced").dataset.at = synced || "";
  $("empty-synced").textContent = synced ? t("last_synced", { t: syncedTime(synced) }) : "";
  document.querySelector("[data-testid=outbox-summary]").hidden = groups.length === 0;
  const send = $("outbox-send");
  send.hidden = groups.length === 0 || states.every((st) => st === "failed");
  send.disabled = sending;
  send.textContent = sending ? t("state_sending") : t("send");
  $("outbox-export-card").hidden = groups.length === 0;
  const exported = user ? await getMeta(`exported:${user.id}`).catch(() => null) : null;
  $("outbox-exported").hidden = !(exported && groups.length);
  $("outbox-exported").textContent = exported
    ? t("exported_note", { t: syncedTime(exported.at), name: exported.filename }) : "";

  $("sent-section").hidden = sent.length === 0;
  $("sent-list").replaceChildren(...sent.map(sentRow));
  document.body.dataset.outboxCount = String(groups.length);
}

function schedule() {
  if (queued) return;
  queued = true;
  requestAnimationFrame(() => render().catch((err) => console.error(err)));
}

async function sendNow() {
  if (navigator.onLine === false) toast(t("send_offline"));
  await retryNow();
  schedule();
}

async function exportFile() {
  const user = pageUser();
  if (!user) return;
  const button = $("outbox-export");
  button.disabled = true;
  try {
    const file = await buildOutboxFile({ ...user, username: document.body.dataset.username || "" },
      await listAll());
    saveBlob(file.blob, file.filename);
    await setMeta(`exported:${user.id}`, { at: new Date().toISOString(), filename: file.filename });
    toast(t("exported", { n: file.records, m: file.photos }), { ms: 8000 });
  } catch (err) {
    console.error(err);
    toast(t("export_failed", { e: String(err && err.message) }));
  } finally {
    button.disabled = false;
    schedule();
  }
}

$("outbox-send").addEventListener("click", () => { sendNow(); });
$("outbox-export").addEventListener("click", () => { exportFile(); });
onChange((detail) => {
  if (detail && detail.type === "sync") sending = detail.phase === "sending";
  schedule();
});
self.addEventListener("online", schedule);
self.addEventListener("offline", schedule);
render().catch((err) => console.error(err));
