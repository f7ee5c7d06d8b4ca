// My leave requests: show requests still on the phone, and withdraw a pending request
// nobody has acted on yet (an edit with cancel: true, queued like any record).

import { pageUser } from "./device.js";
import { listAll, onChange, queueRecord } from "./outbox.js";
import { h, t } from "./ui.js";

async function queuedLeaves() {
  const user = pageUser();
  if (!user) return [];
  try {
    return (await listAll()).filter((it) => it.kind === "record" && it.record
      && it.record.type === "leave" && String(it.user_id) === String(user.id));
  } catch (_) { return []; }
}

// Requests shown as still on the phone; when one is gone from the outbox the server has it,
// and the page reloads to show it as the server now sees it.
let shown = null;

async function render() {
  const items = await queuedLeaves();
  const now = new Set(items.map((it) => it.record.id));
  if (shown && [...shown].some((id) => !now.has(id)) && navigator.onLine !== false) {
    window.location.reload();
    return;
  }
  shown = now;
  const box = document.getElementById("queued-leaves");
  const fresh = items.filter((it) => !it.record.cancel && it.record.base_version == null);
  box.replaceChildren(...fresh.map((it) => h("li", {
    class: "card att-leave state-queued", dataset: { testid: "queued-leave", recordId: it.record.id },
  },
  h("div", { class: "att-leave-head" },
    h("strong", { class: "att-leave-dates" }, t("queued_title", { start: it.record.start_date, end: it.record.end_date })),
    h("span", { class: "state-pill" }, t("queued_state"))),
  h("p", { class: "muted small att-leave-sub" }, t("queued_sub")))));
  const withdrawing = new Set(items.filter((it) => it.record.cancel).map((it) => it.record.id));
  for (const li of document.querySelectorAll("[data-testid=leave-item]")) {
    const on = withdrawing.has(li.dataset.leaveId);
    const note = li.querySelector("[data-testid=withdraw-queued]");
    const button = li.querySelector("[data-testid=withdraw]");
    if (note) note.hidden = !on;
    if (button) button.hidden = on;
  }
}

async function withdraw(button) {
  if (!window.confirm(t("withdraw_confirm"))) return;
  const data = JSON.parse(button.dataset.record);
  const user = pageUser();
  button.disabled = true;
  const now = new Date().toISOString();
  const record = {
    type: "leave", id: data.id, leave_type: data.leave_type, start_date: data.start_date,
    end_date: data.end_date, reason: data.reason, cancel: true, base_version: data.base_version,
    occurred_at: data.occurred_at, device_created_at: now,
  };
  try {
    await queueRecord({
      record, userId: user.id, userName: user.name,
      label: { start: data.start_date, end: data.end_date, withdraw: true },
    });
  } finally {
    button.disabled = false;
  }
  await render();
}

document.addEventListener("click", (ev) => {
  const button = ev.target.closest("[data-testid=withdraw]");
  if (button) withdraw(button);
});
render().then(() => { document.body.dataset.leavesReady = "1"; });
onChange((detail) => { if (detail && detail.type === "outbox") render(); });
