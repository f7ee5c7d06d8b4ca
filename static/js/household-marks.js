// Households whose visit waits on the phone, or was sent since the page was rendered: home's
// short list and the households page mark them, so a list never looks as if a visit vanished.

import { listAll, listSent } from "./outbox.js";
import { h, t } from "./ui.js";

/** Return the household ids with a visit queued on the phone and those sent this month. */
export async function visitStates(user) {
  let items = [];
  let sent = [];
  try {
    items = (await listAll()).filter((it) => !user || it.user_id === user.id);
    sent = await listSent();
  } catch (_) { /* no IndexedDB */ }
  return { items, sent };
}

/** Mark the links (`selector`, each with data-household-id and a .list-title) of households
 *  with a queued visit ("waiting to send") or one sent this month ("visited"). */
export function markHouseholds(selector, items, sent) {
  const queued = new Set(items.filter((it) => it.kind === "record")
    .map((it) => String(it.record.household_id)));
  const month = new Date().toISOString().slice(0, 7);
  const done = new Set(sent.filter((s) => s.household_id && String(s.occurred_at).startsWith(month))
    .map((s) => String(s.household_id)));
  if (!queued.size && !done.size && !document.querySelector(".queued-pill")) return;
  for (const link of document.querySelectorAll(selector)) {
    const id = link.dataset.householdId;
    const state = queued.has(id) ? "queued" : done.has(id) ? "sent" : null;
    link.classList.toggle("is-queued", state === "queued");
    link.classList.toggle("is-sent", state === "sent");
    let pill = link.querySelector(".queued-pill");
    if (pill && pill.dataset.state !== state) {
      pill.remove();
      pill = null;
    }
    if (state && !pill) {
      const label = state === "queued" ? t("state_waiting") : t("state_sent");
      pill = h("span", { class: `badge ${state === "queued" ? "badge-warn" : "badge-ok"} queued-pill`,
        "data-state": state }, label);
      link.querySelector(".list-title").append(" ", pill);
    }
  }
}
