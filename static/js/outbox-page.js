// The outbox page: every unsent visit and photo with its state, retry / discard, live.

import { pageUser } from "./device.js";
import { discard, listAll, listSent, onChange, photoBlob, retry } from "./outbox.js";
import { syncNow, syncStatus } from "./sync.js";
import { describe } from "./record-label.js";
import { h, shortTime, t } from "./ui.js";

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
  return "waiting";
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

function reason(it) {
  const bits = [it.message, it.fields ? Object.entries(it.fields)
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : JSON.stringify(v)}`).join("; ") : ""];
  const text = bits.filter(Boolean).join(" — ");
  return text || t("error_code", { e: it.error || "?" });
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
  for (const it of failed) notes.push(h("p", { class: "item-error", dataset: { testid: "outbox-error" } }, reason(it)));
  const waitingNote = [r, ...g.photos].find((it) => it && it.state === "waiting" && it.note);
  if (!failed.length && waitingNote) {
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
      } }, t("discard"))) : null;

  return h("li", { class: `card outbox-item is-${st}`, dataset: { testid: "outbox-item", state: st, recordId: g.id } },
    h("div", { class: "item-head" },
      h("span", { class: "item-title" },
        r && r.record.type && r.record.type !== "visit"
          ? h("span", { class: "type-tag", dataset: { testid: "outbox-type" } }, t(`type_${r.record.type}`)) : null,
        label.title || (r && r.record.type && r.record.type !== "visit" ? "" : t("unknown_household")), " ",
        label.sub ? h("span", { class: "muted" }, label.sub) : null,
        r && r.record.base_version ? h("span", { class: "muted small" }, ` ${t("edit_of", { n: r.record.base_version + 1 })}`) : null),
      h("span", { class: `state-pill state-${st}`, dataset: { testid: "outbox-state" } }, t(`state_${st}`))),
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
          s.photos_total ? t("photos_sent", { m: s.photos_sent || 0, n: s.photos_total }) : ""]
          .filter(Boolean).join(" · "))),
      h("span", { class: "state-pill state-sent" }, "✓")));
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

  const failed = groups.filter((g) => groupState(g) === "failed").length;
  const title = document.querySelector("[data-outbox-title]");
  const sub = document.querySelector("[data-outbox-sub]");
  title.textContent = groups.length ? t("n_unsent", { n: groups.length }) : t("all_sent");
  sub.textContent = !groups.length ? "" : failed ? t("n_failed_here", { n: failed })
    : sending ? t("sending_now")
      : navigator.onLine === false ? `${t("no_network")} · ${t("will_send")}` : t("will_send");
  document.querySelector("[data-testid=outbox-summary]").hidden = groups.length === 0;
  const send = $("outbox-send");
  send.hidden = groups.length === failed;
  send.disabled = sending || navigator.onLine === false;

  $("sent-section").hidden = sent.length === 0;
  $("sent-list").replaceChildren(...sent.map(sentRow));
  document.body.dataset.outboxCount = String(groups.length);
}

function schedule() {
  if (queued) return;
  queued = true;
  requestAnimationFrame(() => render().catch((err) => console.error(err)));
}

$("outbox-send").addEventListener("click", () => syncNow());
onChange((detail) => {
  if (detail && detail.type === "sync") sending = detail.phase === "sending";
  schedule();
});
self.addEventListener("online", schedule);
self.addEventListener("offline", schedule);
render().catch((err) => console.error(err));
