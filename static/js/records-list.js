// The meetings list and the six-one board: show what still waits on this phone, reload once it
// has reached the server, and cache the forms and edit pages so they open without signal.

import { pageUser } from "./device.js";
import { listAll, onChange } from "./outbox.js";
import { describe } from "./record-label.js";
import { h, t } from "./ui.js";

const root = document.querySelector("[data-records-page]");
const types = new Set((root.dataset.types || "").split(","));
const WARM_KEY = "fieldlog:records-warm";
const WARM_EVERY_MS = 10 * 60_000;
let shown = 0;

async function pendingRecords() {
  const user = pageUser();
  const items = await listAll();
  return items.filter((it) => it.kind === "record" && types.has(it.record.type)
    && (!user || it.user_id === String(user.id)));
}

function pendingRow(item) {
  const { record } = item;
  const label = describe(record.type, item.label);
  const isEdit = record.base_version != null;
  return h("li", { dataset: { testid: "pending-item", recordId: record.id, type: record.type, state: item.state } },
    h("div", { class: "list-item" },
      h("span", { class: "list-main" },
        h("span", { class: "list-title" }, label.title || record.title || ""),
        h("span", { class: "list-sub muted" }, label.sub)),
      h("span", { class: `badge ${item.state === "failed" ? "badge-danger" : "badge-warn"}` },
        item.state === "failed" ? t("state_failed") : (isEdit ? t("pending_edit") : t("pending")))));
}

let leaving = false;
window.addEventListener("beforeunload", () => { leaving = true; });
window.addEventListener("pageshow", () => { leaving = false; });

async function render() {
  let items = [];
  try { items = await pendingRecords(); } catch (_) { return; }
  const section = root.querySelector("[data-pending-section]");
  section.hidden = items.length === 0;
  section.querySelector("[data-pending-list]").replaceChildren(...items.map(pendingRow));
  for (const row of root.querySelectorAll(".record-row")) {
    row.classList.toggle("is-pending", items.some((it) => it.record.id === row.dataset.recordId));
  }
  root.dataset.pending = String(items.length);
  // Something went out: the server now lists it, so show the page as the server has it.
  // Not while the user is leaving: a reload would cancel the page they asked for.
  if (items.length < shown && navigator.onLine !== false && !leaving) {
    window.location.reload();
    return;
  }
  shown = items.length;
}

/** Ask the service worker to cache this area's pages (forms, edit pages) for offline use. */
async function warm() {
  const urls = (root.dataset.warm || "").split(" ").filter(Boolean);
  if (!urls.length || navigator.onLine === false || !("serviceWorker" in navigator)) return;
  const key = urls.join(" ");
  try {
    const last = JSON.parse(sessionStorage.getItem(WARM_KEY) || "null");
    if (last && last.key === key && Date.now() - last.at < WARM_EVERY_MS) {
      document.documentElement.dataset.recordsWarm = "1";
      return;
    }
  } catch (_) { /* no storage: warm again */ }
  const registration = await navigator.serviceWorker.ready;
  const worker = registration.active;
  if (!worker) return;
  const answer = await new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve(null), 30_000);
    channel.port1.onmessage = (ev) => { clearTimeout(timer); resolve(ev.data); };
    worker.postMessage({ type: "warm", urls }, [channel.port2]);
  });
  if (answer && answer.cached === urls.length) {
    try { sessionStorage.setItem(WARM_KEY, JSON.stringify({ key, at: Date.now() })); } catch (_) { /* */ }
    document.documentElement.dataset.recordsWarm = "1";
  }
}

render().then(() => { root.dataset.ready = "1"; });
onChange(() => render());
warm().catch((err) => console.warn("fieldlog: could not cache pages", err));
