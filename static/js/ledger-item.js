// One ledger item on the phone: move its state, change handler or due date, add a note.
// Each change is queued offline as a `ledger_update` and shown at once.

import { isQuotaError, onChange } from "./outbox.js";
import { h, shortTime, t, toast } from "./ui.js";
import { ACTIONS, applyUpdates, isOverdue, localUpdates, queueUpdate } from "./ledger-local.js";

const $ = (id) => document.getElementById(id);
const data = JSON.parse($("ledger-item-data").textContent);
const known = new Set(data.events || []);
let current = { ...data };
let busy = false;

function pill(st) {
  const box = $("ledger-state-box");
  const bits = [h("span", {
    class: `ledger-state ledger-state-${st.state}`, dataset: { testid: "ledger-state", state: st.state },
  }, t(`state_${st.state}`))];
  if (isOverdue(st)) bits.push(" ", h("span", { class: "badge badge-danger", dataset: { testid: "ledger-overdue" } }, t("ledger_overdue")));
  box.replaceChildren(...bits);
}

function facts(st) {
  document.querySelector("[data-field=handler]").textContent = t(`handler_${st.handler}`);
  document.querySelector("[data-field=handler_note]").textContent = st.handler_note ? ` · ${st.handler_note}` : "";
  const due = document.querySelector("[data-field=due_date]");
  due.textContent = st.due_date || t("ledger_none");
  due.classList.toggle("text-danger", isOverdue(st));
}

function actions(st) {
  const buttons = (ACTIONS[st.state] || []).map(([to, key], i) => h("button", {
    type: "button", class: `btn btn-large ${i === 0 ? "btn-primary" : ""}`,
    dataset: { testid: `ledger-to-${to}`, toState: to }, onclick: () => move(to),
  }, t(key)));
  $("ledger-actions").replaceChildren(...buttons);
}

function describe(u) {
  if (u.to_state) return t(`state_${u.to_state}`);
  if (u.handler || u.handler_note != null || u.due_date) return t("ledger_details");
  return t("ledger_note_added");
}

function localHistory(updates) {
  const list = $("ledger-local");
  list.replaceChildren(...updates.map(({ record: u, pending }) => h("li", {
    class: "ledger-event", dataset: { testid: "ledger-local-event", pending: pending ? "1" : "0", toState: u.to_state || "" },
  },
  h("span", { class: `ledger-dot${u.to_state ? ` ledger-dot-${u.to_state}` : ""}`, "aria-hidden": "true" }),
  h("div", {},
    h("p", { class: "ledger-event-title" }, u.to_state ? "→ " : "", h("strong", {}, describe(u)), " ",
      h("span", { class: `state-pill ${pending ? "" : "state-sent"}` }, pending ? t("ledger_pending") : "✓")),
    u.handler ? h("p", { class: "small" }, t(`handler_${u.handler}`), u.handler_note ? ` · ${u.handler_note}` : "") : null,
    u.due_date ? h("p", { class: "small" }, t("ledger_due", { d: u.due_date })) : null,
    u.note ? h("p", { class: "ledger-note" }, u.note) : null,
    h("p", { class: "muted small" }, shortTime(u.occurred_at))))));
  list.hidden = updates.length === 0;
}

async function render() {
  const byItem = await localUpdates((id) => (id === data.id ? known : new Set()));
  const updates = byItem.get(data.id) || [];
  current = applyUpdates(data, updates);
  pill(current);
  facts(current);
  actions(current);
  localHistory(updates);
  $("ledger-pending-pill").hidden = !updates.some((u) => u.pending);
  document.body.dataset.ledgerState = current.state;
  document.body.dataset.ledgerReady = "1";
}

async function send(change) {
  if (busy) return false;
  busy = true;
  try {
    await queueUpdate(data.id, change, {
      head_name: data.household || "", title: data.content,
    });
    toast(t("ledger_queued"));
    await render();
    return true;
  } catch (err) {
    console.error(err);
    toast(isQuotaError(err) ? t("save_quota")
      : t("ledger_save_failed", { e: (err && err.message) || String(err) }), { ms: 10000 });
    return false;
  } finally {
    busy = false;
  }
}

async function move(to) {
  const note = $("ledger-note").value.trim();
  if (await send({ to_state: to, ...(note ? { note } : {}) })) $("ledger-note").value = "";
}

async function addNote() {
  const note = $("ledger-note").value.trim();
  if (!note) {
    toast(t("ledger_write_note"));
    $("ledger-note").focus();
    return;
  }
  if (await send({ note })) $("ledger-note").value = "";
}

async function saveDetails() {
  const change = {};
  const handler = $("ledger-handler").value;
  const handlerNote = $("ledger-handler-note").value.trim();
  const due = $("ledger-due-date").value;
  if (handler !== current.handler) change.handler = handler;
  if (handlerNote !== (current.handler_note || "")) change.handler_note = handlerNote;
  if (due && due !== current.due_date) change.due_date = due;
  if (!Object.keys(change).length) {
    toast(t("ledger_no_change"));
    return;
  }
  const note = $("ledger-note").value.trim();
  if (note) change.note = note;
  if (await send(change)) {
    $("ledger-note").value = "";
    document.querySelector("[data-testid=ledger-edit]").open = false;
  }
}

$("ledger-add-note").addEventListener("click", addNote);
$("ledger-save-details").addEventListener("click", saveDetails);
onChange(() => render().catch((err) => console.error(err)));
render().catch((err) => console.error(err));
