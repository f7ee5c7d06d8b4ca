// The village's households (/m/households): search by name or house number and filter as the
// cadre types, without a round trip. Offline the service worker serves the cached page, which
// was fetched without a query, so the address's ?q= and ?show= (home's search) apply here too.

import { pageUser } from "./device.js";
import { markHouseholds, visitStates } from "./household-marks.js";
import { onChange } from "./outbox.js";
import { t } from "./ui.js";

const form = document.getElementById("households-form");
const input = document.getElementById("households-search");
const list = document.getElementById("households-list");
const count = document.querySelector("[data-testid=households-shown]");
const empty = document.getElementById("households-empty");
const chips = [...document.querySelectorAll("#households-chips [data-show]")];
const rows = [...list.children].map((li) => ({
  li,
  text: li.querySelector(".list-title").firstChild.textContent.toLowerCase()
    + " " + li.querySelector(".list-sub").textContent.toLowerCase(),
  unvisited: li.dataset.u === "1",
  priority: li.dataset.p === "1",
}));
const params = new URLSearchParams(location.search);
const state = { query: params.get("q") || input.value || "", show: params.get("show") || "" };

function apply() {
  const q = state.query.trim().toLowerCase();
  let shown = 0;
  for (const row of rows) {
    const match = (!q || row.text.includes(q))
      && (state.show !== "unvisited" || row.unvisited) && (state.show !== "priority" || row.priority);
    if (row.li.hidden === match) row.li.hidden = !match;
    if (match) shown += 1;
  }
  count.dataset.shown = String(shown);
  count.textContent = t("households_shown", { n: shown, total: rows.length });
  empty.hidden = shown > 0;
  for (const chip of chips) {
    const on = chip.dataset.show === state.show;
    chip.classList.toggle("is-active", on);
    chip.setAttribute("aria-pressed", String(on));
  }
  form.elements.show.value = state.show;
  const next = new URLSearchParams();
  if (state.query.trim()) next.set("q", state.query.trim());
  if (state.show) next.set("show", state.show);
  const query = next.toString();
  history.replaceState(null, "", query ? `${location.pathname}?${query}` : location.pathname);
}

input.value = state.query;
let pending = 0;
input.addEventListener("input", () => {
  state.query = input.value;
  cancelAnimationFrame(pending);
  pending = requestAnimationFrame(apply);
});
form.addEventListener("submit", (event) => {
  event.preventDefault(); // filtered here, online or not
  state.query = input.value;
  apply();
  input.blur(); // close the keyboard to show the results
});
for (const chip of chips) {
  chip.addEventListener("click", (event) => {
    event.preventDefault();
    state.show = chip.dataset.show;
    apply();
  });
}
apply();
list.dataset.ready = "1";

async function marks() {
  const { items, sent } = await visitStates(pageUser());
  markHouseholds("[data-testid=household-row]", items, sent);
}
onChange(marks);
marks();
