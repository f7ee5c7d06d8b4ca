// The ledger on the phone: queue changes to items offline, and show a page's items as they
// will be once the queued changes reach the server (pages may come from the offline cache).
//
// Each queued update is also remembered in localStorage, so that after it has been sent the
// page still shows it until a fresh page from the server includes it (its event id).

import { pageUser } from "./device.js";
import { listAll, listSent, queueRecord, uuid4 } from "./outbox.js";

const KEY = "fieldlog:ledger-updates";
const KEEP_MS = 60 * 24 * 3600 * 1000;
export const OPEN = ["open", "in_progress"];

// Where an item may go from each state (the server's TRANSITIONS), with the button's label key.
export const ACTIONS = {
  open: [["in_progress", "ledger_start"], ["resolved", "ledger_resolve"]],
  in_progress: [["resolved", "ledger_resolve"], ["open", "ledger_back_open"]],
  resolved: [["feedback", "ledger_feedback"], ["in_progress", "ledger_reopen"]],
  feedback: [["in_progress", "ledger_reopen"]],
};

function remembered() {
  try { return JSON.parse(localStorage.getItem(KEY) || "{}") || {}; } catch (_) { return {}; }
}

function remember(record) {
  const all = remembered();
  const now = Date.now();
  all[record.id] = { ...record, kept_at: now };
  for (const [id, rec] of Object.entries(all)) if (now - (rec.kept_at || 0) > KEEP_MS) delete all[id];
  try { localStorage.setItem(KEY, JSON.stringify(all)); } catch (_) { /* full: the outbox still has it */ }
}

/** Return today's local date as YYYY-MM-DD. */
export function todayISO(d = new Date()) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function isOverdue(st) {
  return !!(st.due_date && st.due_date < todayISO() && OPEN.includes(st.state));
}

/** Queue a change of an item (a `ledger_update` with a new UUID); resolve with the record. */
export async function queueUpdate(itemId, change, label) {
  const user = pageUser();
  const now = new Date().toISOString();
  const record = {
    type: "ledger_update", id: uuid4(), item_id: itemId, occurred_at: now,
    device_created_at: now, ...change,
  };
  await queueRecord({ record, label, userId: user.id, userName: user.name });
  remember(record);
  return record;
}

/** Queue a new item (a `ledger_item`); resolve with the record. */
export async function queueItem(fields, label, occurredAt = null) {
  const user = pageUser();
  const now = new Date().toISOString();
  const record = {
    type: "ledger_item", id: uuid4(), occurred_at: occurredAt || now, device_created_at: now,
    household_id: null, raiser_name: "", category: "other", handler: "village_committee",
    handler_note: "", due_date: null, source: null, ...fields,
  };
  await queueRecord({ record, label, userId: user.id, userName: user.name });
  return record;
}

async function outboxRecords() {
  try {
    const user = pageUser();
    return (await listAll()).filter((it) => it.kind === "record" && (!user || it.user_id === user.id));
  } catch (_) {
    return [];
  }
}

/**
 * Return item id -> [{record, pending}] of this phone's updates the page does not show yet,
 * oldest first. `known(itemId)` gives the event ids the page already has.
 */
export async function localUpdates(known) {
  const live = new Map();
  for (const it of await outboxRecords()) {
    if (it.record.type === "ledger_update" && it.state !== "failed") {
      live.set(it.id, { record: it.record, pending: true });
    }
  }
  let sent = [];
  try { sent = await listSent(); } catch (_) { /* none */ }
  const sentIds = new Set(sent.map((s) => s.id));
  for (const [id, rec] of Object.entries(remembered())) {
    if (!live.has(id) && sentIds.has(id)) live.set(id, { record: rec, pending: false });
  }
  const byItem = new Map();
  for (const [id, x] of live) {
    if (known(x.record.item_id).has(id)) continue;
    if (!byItem.has(x.record.item_id)) byItem.set(x.record.item_id, []);
    byItem.get(x.record.item_id).push(x);
  }
  for (const list of byItem.values()) {
    list.sort((a, b) => String(a.record.occurred_at).localeCompare(String(b.record.occurred_at)));
  }
  return byItem;
}

/** Return the item's fields after `updates` ({record} entries) apply. */
export function applyUpdates(base, updates) {
  const st = { ...base };
  for (const { record: u } of updates) {
    if (u.to_state) st.state = u.to_state;
    if (u.handler) st.handler = u.handler;
    if (u.handler_note != null) st.handler_note = u.handler_note;
    if (u.due_date) st.due_date = u.due_date;
  }
  return st;
}

/** Return this phone's new items that have not reached the server. */
export async function pendingItems() {
  return (await outboxRecords()).filter((it) => it.record.type === "ledger_item");
}
