// Enter a ledger item directly on the phone (no visit or meeting behind it), offline.

import { t } from "./ui.js";
import { categoryChips } from "./ledger-cats.js";
import { queueItem } from "./ledger-local.js";
import { isQuotaError } from "./outbox.js";

const $ = (id) => document.getElementById(id);
const form = $("ledger-form");
const category = categoryChips(document.querySelector("[data-testid=ledger-categories]"));
let saving = false;

function syncRaiser() {
  $("raiser-field").hidden = !!$("ledger-household").value;
}

function fail(message) {
  const box = $("form-error");
  box.textContent = message;
  box.hidden = false;
}

async function save(ev) {
  ev.preventDefault();
  if (saving) return;
  const content = $("ledger-content").value.trim();
  if (!content) {
    fail(t("ledger_need_content"));
    $("ledger-content").focus();
    return;
  }
  saving = true;
  const select = $("ledger-household");
  const householdId = select.value || null;
  const raiser = householdId ? "" : $("ledger-raiser").value.trim();
  try {
    const item = await queueItem({
      household_id: householdId, raiser_name: raiser, category: category(), content,
      handler: $("ledger-handler").value, handler_note: $("ledger-handler-note").value.trim(),
      due_date: $("ledger-due-date").value || null,
    }, {
      head_name: householdId ? select.options[select.selectedIndex].text : raiser,
      title: content.slice(0, 80),
    });
    sessionStorage.setItem("fieldlog:toast", JSON.stringify({ message: t("ledger_queued"), record_id: item.id }));
    window.location.assign("/m/ledger");
  } catch (err) {
    console.error(err);
    saving = false;
    fail(isQuotaError(err) ? t("save_quota")
      : t("ledger_save_failed", { e: (err && err.message) || String(err) }));
  }
}

$("ledger-household").addEventListener("change", syncRaiser);
form.addEventListener("submit", save);
syncRaiser();
form.dataset.ready = "1";
