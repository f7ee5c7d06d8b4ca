// The visit form's offer to enter the request (诉求) in the villagers' issue ledger: on by
// default once a request is written, or linked to an open item of the same household.
// Nothing here needs a tap: the default (a new item) is saved with the visit.

import { h, t } from "./ui.js";
import { categoryChips } from "./ledger-cats.js";
import { queueItem, queueUpdate } from "./ledger-local.js";

const $ = (id) => document.getElementById(id);
const openItems = (() => {
  try { return JSON.parse($("ledger-open-data").textContent) || []; } catch (_) { return []; }
})();
const offer = { link: "", category: () => "other", household: null };

function householdId() {
  const chosen = $("household-chosen");
  return chosen && !chosen.hidden ? chosen.dataset.householdId || null : null;
}

function choice(value, title, sub) {
  const id = `ledger-link-${value || "new"}`;
  return h("label", { class: "ledger-choice", for: id },
    h("input", {
      type: "radio", name: "ledger-link", id, value, checked: offer.link === value,
      dataset: { testid: value ? "ledger-link-item" : "ledger-link-new", itemId: value },
      onchange: () => { offer.link = value; render(); },
    }),
    h("span", { class: "ledger-choice-text" }, h("span", {}, title),
      sub ? h("small", { class: "muted" }, sub) : null));
}

function render() {
  const box = $("ledger-offer");
  if (!box) return;
  const requests = $("requests").value.trim();
  box.hidden = !requests;
  const on = $("ledger-add").checked;
  $("ledger-offer-body").hidden = !on;
  const hh = householdId();
  if (hh !== offer.household) {
    offer.household = hh;
    offer.link = "";
  }
  const mine = openItems.filter((x) => hh && String(x.household_id) === String(hh));
  $("ledger-link-box").hidden = mine.length === 0;
  $("ledger-link-choices").replaceChildren(
    choice("", t("ledger_link_new"), ""),
    ...mine.map((x) => choice(x.id, x.content,
      [x.category_label, x.state_label, x.due_date ? t("ledger_due", { d: x.due_date }) : ""]
        .filter(Boolean).join(" · "))));
  $("ledger-new-box").hidden = !!offer.link;
  box.dataset.mode = !on ? "off" : offer.link ? "link" : "new";
}

/** Wire the offer (call once the form is ready). */
export function initLedgerOffer() {
  if (!$("ledger-offer")) return;
  offer.category = categoryChips(document.querySelector("#ledger-offer [data-testid=ledger-categories]"));
  $("requests").addEventListener("input", render);
  $("ledger-add").addEventListener("change", render);
  new MutationObserver(render).observe($("household-chosen"), {
    attributes: true, attributeFilter: ["data-household-id", "hidden"],
  });
  render();
}

/** After the visit is queued: queue its ledger item, or the link to an existing one. */
export async function queueLedgerFor(visit, label) {
  if (!$("ledger-offer") || !visit.requests || !$("ledger-add").checked) return null;
  const source = { type: "visit", id: visit.id };
  const tag = { ...label, title: visit.requests.slice(0, 80) };
  if (offer.link && openItems.some((x) => x.id === offer.link)) {
    return queueUpdate(offer.link, { link: source }, tag);
  }
  return queueItem({
    household_id: visit.household_id, content: visit.requests, category: offer.category(),
    handler: $("ledger-offer-handler").value, source,
  }, tag, visit.occurred_at);
}
