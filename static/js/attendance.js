// Attendance calendar: days marked on this phone but not yet sent show as pending, so the
// cadre sees their mark at once, even offline.

import { pageUser } from "./device.js";
import { listAll, onChange } from "./outbox.js";

const PRESENT = new Set(["records", "marked", "official"]);

async function overlay() {
  const user = pageUser();
  if (!user) return;
  let items = [];
  try { items = await listAll(); } catch (_) { return; }
  const queued = new Map();
  for (const item of items) {
    const r = item.kind === "record" && item.record;
    if (r && r.type === "day_mark" && String(item.user_id) === String(user.id)) queued.set(r.day, r);
  }
  const summary = document.querySelector("[data-testid=attendance-summary]");
  const added = { marked: 0, official: 0 };
  for (const cell of document.querySelectorAll("[data-testid=cal-day]")) {
    const r = queued.get(cell.dataset.day);
    const wasPending = cell.classList.contains("is-pending");
    if (!r) {
      cell.classList.remove("is-pending");
      continue;
    }
    cell.classList.add("is-pending");
    cell.dataset.pending = "1";
    if (!PRESENT.has(cell.dataset.state || "")) {
      const kind = r.kind === "official" ? "official" : "marked";
      cell.classList.remove("day-none", "day-marked", "day-official");
      cell.classList.add(`day-${kind}`);
      if (!wasPending) added[kind] += 1;
    }
  }
  if (!summary) return;
  const bump = (testid, n) => {
    const el = summary.querySelector(`[data-testid=${testid}]`);
    if (el && n) el.textContent = String(Number(el.textContent) + n);
  };
  bump("village-days", added.marked + added.official);
  bump("count-marked", added.marked);
  bump("count-official", added.official);
}

overlay();
onChange((detail) => { if (detail && detail.type === "outbox") overlay(); });
