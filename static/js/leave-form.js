// Request leave: type, first and last day, reason. Queued offline as a `leave` record; the
// county's chain of approvers is fixed by the server when the request arrives.

import { pageUser } from "./device.js";
import { queueRecord, uuid4 } from "./outbox.js";
import { t } from "./ui.js";

const form = document.getElementById("leave-form");
const $ = (id) => document.getElementById(id);
const MAX_DAYS = 60;
const chain = (() => {
  try { return JSON.parse($("chain-data").textContent) || []; } catch (_) { return []; }
})();
let saving = false;

function localDay(d = new Date()) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function days() {
  const a = Date.parse(`${$("leave-start").value}T00:00:00Z`);
  const b = Date.parse(`${$("leave-end").value}T00:00:00Z`);
  if (Number.isNaN(a) || Number.isNaN(b)) return null;
  return Math.round((b - a) / 86_400_000) + 1;
}

/** The levels that will approve, as the server computes them (settings.leave_chain). */
function levelsFor(n) {
  const levels = chain.filter((s) => n >= Number(s.from_days || 1)).map((s) => s.level);
  return levels.length ? levels : (chain[0] ? [chain[0].level] : []);
}

function refresh() {
  const n = days();
  $("leave-days").textContent = n && n > 0 ? String(n) : "–";
  $("leave-chain").textContent = n && n > 0
    ? t("chain_is", { levels: levelsFor(n).map((l) => t(`chain_${l}`)).join(" → ") }) : "";
  $("form-error").hidden = true;
}

function fail(message) {
  const box = $("form-error");
  box.textContent = message;
  box.hidden = false;
}

async function save(ev) {
  ev.preventDefault();
  if (saving) return;
  const n = days();
  if (!n || n < 1) { fail(t("end_before_start")); return; }
  if (n > MAX_DAYS) { fail(t("too_long")); return; }
  saving = true;
  $("save-leave").disabled = true;
  try {
    const user = pageUser();
    const now = new Date().toISOString();
    const start = $("leave-start").value;
    const end = $("leave-end").value;
    const record = {
      type: "leave", id: uuid4(), leave_type: form.querySelector("input[name=leave_type]:checked").value,
      start_date: start, end_date: end, reason: $("leave-reason").value.trim(),
      occurred_at: now, device_created_at: now,
    };
    await queueRecord({
      record, userId: user.id, userName: user.name,
      label: { start, end },
    });
    sessionStorage.setItem("fieldlog:toast", JSON.stringify({ message: t("leave_saved"), record_id: record.id }));
    form.dataset.saved = record.id;
    window.location.assign("/m/leave");
  } catch (err) {
    console.error(err);
    saving = false;
    $("save-leave").disabled = false;
    fail(String((err && err.message) || err));
  }
}

function init() {
  const today = localDay();
  // A page from the cache may be days old: start from the phone's today.
  $("leave-start").value = today;
  $("leave-end").value = today;
  $("leave-start").addEventListener("change", () => {
    if ($("leave-end").value < $("leave-start").value) $("leave-end").value = $("leave-start").value;
    refresh();
  });
  $("leave-end").addEventListener("change", refresh);
  form.addEventListener("submit", save);
  refresh();
  form.dataset.ready = "1";
}

init();
