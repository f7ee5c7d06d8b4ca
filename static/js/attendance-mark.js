// Mark a day as in the village or away on reported official business (报备). Saved to the
// outbox as a `day_mark`; a day that already has a mark is edited (same id, base_version).

import { pageUser } from "./device.js";
import { listAll, queueRecord, uuid4 } from "./outbox.js";
import { t } from "./ui.js";

const form = document.getElementById("mark-form");
const $ = (id) => document.getElementById(id);
const known = (() => {
  try { return JSON.parse($("marks-data").textContent) || {}; } catch (_) { return {}; }
})();
const state = { reason: "other", existing: null, saving: false };

function localDay(d = new Date()) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function kind() {
  return form.querySelector("input[name=kind]:checked").value;
}

function setReason(code) {
  state.reason = code;
  for (const chip of $("reason-chips").querySelectorAll(".chip")) {
    const on = chip.dataset.reason === code;
    chip.classList.toggle("is-active", on);
    chip.setAttribute("aria-pressed", String(on));
  }
}

function showKind() {
  $("reason-field").hidden = kind() !== "official";
}

/** The mark this phone knows for a day: one still in the outbox first, then the server's. */
async function existingFor(day) {
  const user = pageUser();
  let queued = null;
  try {
    for (const item of await listAll()) {
      const r = item.kind === "record" && item.record;
      if (r && r.type === "day_mark" && r.day === day && String(item.user_id) === String(user.id)) {
        queued = r;
      }
    }
  } catch (_) { /* no outbox: use the server's */ }
  if (queued) return { ...queued, queued: true };
  return known[day] || null;
}

async function loadDay() {
  const day = $("mark-day").value;
  state.existing = day ? await existingFor(day) : null;
  $("mark-existing").hidden = !state.existing;
  if (state.existing) {
    const e = state.existing;
    form.querySelector(`input[name=kind][value=${e.kind === "official" ? "official" : "present"}]`).checked = true;
    setReason(e.reason || "other");
    $("mark-note").value = e.note || "";
  }
  showKind();
}

function fail(message) {
  const box = $("form-error");
  box.textContent = message;
  box.hidden = false;
}

async function save(ev) {
  ev.preventDefault();
  if (state.saving) return;
  const day = $("mark-day").value;
  const note = $("mark-note").value.trim();
  if (!day || day > localDay()) { fail(t("day_required")); return; }
  if (!note) { fail(t("note_required")); $("mark-note").focus(); return; }
  state.saving = true;
  $("save-mark").disabled = true;
  try {
    const user = pageUser();
    const existing = await existingFor(day);
    const now = new Date().toISOString();
    const k = kind();
    const record = {
      type: "day_mark", id: existing ? existing.id : uuid4(), day, kind: k,
      reason: k === "official" ? state.reason : "other", note,
      occurred_at: now, device_created_at: now,
    };
    if (existing && !existing.queued && existing.version) record.base_version = existing.version;
    await queueRecord({
      record, userId: user.id, userName: user.name,
      label: { day, mark: k },
    });
    sessionStorage.setItem("fieldlog:toast", JSON.stringify({ message: t("mark_saved"), record_id: record.id }));
    form.dataset.saved = record.id;
    window.location.assign("/m/attendance");
  } catch (err) {
    console.error(err);
    state.saving = false;
    $("save-mark").disabled = false;
    fail(String((err && err.message) || err));
  }
}

function init() {
  const today = localDay();
  $("mark-day").max = today;
  const asked = new URLSearchParams(window.location.search).get("day");
  $("mark-day").value = asked && /^\d{4}-\d{2}-\d{2}$/.test(asked) && asked <= today ? asked : today;
  $("mark-day").addEventListener("change", loadDay);
  for (const radio of form.querySelectorAll("input[name=kind]")) radio.addEventListener("change", showKind);
  $("reason-chips").addEventListener("click", (ev) => {
    const chip = ev.target.closest(".chip");
    if (chip) setReason(chip.dataset.reason);
  });
  $("mark-note").addEventListener("input", () => { $("form-error").hidden = true; });
  form.addEventListener("submit", save);
  loadDay().then(() => { form.dataset.ready = "1"; });
}

init();
