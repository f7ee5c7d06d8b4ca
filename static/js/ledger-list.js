// The phone's ledger list: filter chips, and the items as they will be once this phone's
// queued changes and new items reach the server.

import { onChange } from "./outbox.js";
import { h, shortTime, t } from "./ui.js";
import { OPEN, applyUpdates, isOverdue, localUpdates, pendingItems } from "./ledger-local.js";

const $ = (id) => document.getElementById(id);
let filter = "all";

const rows = [...document.querySelectorAll("[data-testid=ledger-item]")].map((li) => ({
  li,
  id: li.dataset.itemId,
  known: new Set((li.dataset.events || "").split(" ").filter(Boolean)),
  base: { state: li.dataset.state, due_date: li.dataset.due || null },
}));

function shows(state, overdue) {
  if (filter === "open") return OPEN.includes(state);
  if (filter === "overdue") return overdue;
  if (filter === "done") return !OPEN.includes(state);
  return true;
}

function statePill(li, st, pending) {
  const box = li.querySelector("[data-testid=ledger-state]");
  if (!box) return;
  box.className = `ledger-state ledger-state-${st.state}`;
  box.dataset.state = st.state;
  box.textContent = t(`state_${st.state}`);
  let mark = li.querySelector(".ledger-pending-mark");
  if (pending && !mark) {
    mark = h("span", { class: "state-pill ledger-pending-mark" }, t("ledger_pending"));
    box.after(" ", mark);
  } else if (!pending && mark) {
    mark.remove();
  }
  const late = li.querySelector("[data-testid=ledger-overdue]");
  if (late && !isOverdue(st)) late.remove();
}

function pendingRow(it) {
  const r = it.record;
  return h("li", { dataset: { testid: "ledger-pending-item", recordId: r.id } },
    h("div", { class: "list-item ledger-row" },
      h("span", { class: "list-main" },
        h("span", { class: "ledger-row-head" },
          h("span", { class: "badge" }, t(`category_${r.category}`)),
          h("span", { class: "state-pill" }, t("ledger_new_pending"))),
        h("span", { class: "list-title ledger-content" }, r.content),
        h("span", { class: "list-sub muted" }, [(it.label && it.label.head_name) || r.raiser_name,
          t(`handler_${r.handler}`), shortTime(r.occurred_at)].filter(Boolean).join(" · ")))));
}

async function render() {
  const byItem = await localUpdates((id) => {
    const row = rows.find((x) => x.id === id);
    return row ? row.known : new Set();
  });
  const counts = { open: 0, overdue: 0, done: 0 };
  let visible = 0;
  for (const row of rows) {
    const updates = byItem.get(row.id) || [];
    const st = applyUpdates(row.base, updates);
    const late = isOverdue(st);
    row.li.dataset.state = st.state;
    row.li.dataset.overdue = late ? "1" : "0";
    statePill(row.li, st, updates.some((u) => u.pending));
    counts[OPEN.includes(st.state) ? "open" : "done"] += 1;
    if (late) counts.overdue += 1;
    row.li.hidden = !shows(st.state, late);
    if (!row.li.hidden) visible += 1;
  }
  const fresh = await pendingItems();
  const pending = $("ledger-pending");
  pending.replaceChildren(...fresh.map(pendingRow));
  pending.hidden = !fresh.length || !(filter === "all" || filter === "open");
  counts.open += fresh.length;
  for (const [name, n] of Object.entries(counts)) {
    const el = document.querySelector(`[data-testid=count-${name}]`);
    if (el) el.textContent = String(n);
  }
  const empty = $("ledger-filter-empty");
  if (empty) empty.hidden = visible > 0 || (!pending.hidden);
  const none = document.querySelector("[data-testid=ledger-empty]");
  if (none) none.hidden = fresh.length > 0;
  document.body.dataset.ledgerReady = "1";
}

$("ledger-chips").addEventListener("click", (ev) => {
  const chip = ev.target.closest(".chip");
  if (!chip) return;
  filter = chip.dataset.filter;
  for (const c of $("ledger-chips").querySelectorAll(".chip")) {
    c.classList.toggle("is-active", c === chip);
    c.setAttribute("aria-pressed", String(c === chip));
  }
  render().catch((err) => console.error(err));
});
onChange(() => render().catch((err) => console.error(err)));
render().catch((err) => console.error(err));
