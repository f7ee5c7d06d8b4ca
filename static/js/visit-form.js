// New visit: pick a household, write what was heard and asked, optional photos and a GPS
// fix that is never waited for. Saving writes to the IndexedDB outbox and returns at once.

import { preparePhoto } from "./camera.js";
import { pageUser } from "./device.js";
import { isQuotaError, queueVisit, uuid4 } from "./outbox.js";
import { ask, concerns } from "./photo-check.js";
import { h, localInputValue, t, toast } from "./ui.js";
import { initLedgerOffer, queueLedgerFor } from "./ledger-offer.js";

const form = document.getElementById("visit-form");
const $ = (id) => document.getElementById(id);
const MAX_PHOTOS = Number(form.dataset.maxPhotos || 12);
const LIST_LIMIT = 150;
const DRAFT_KEY = "fieldlog:visit-draft";

const households = (() => {
  try { return JSON.parse($("households-data").textContent) || []; } catch (_) { return []; }
})();
const byId = new Map(households.map((x) => [String(x.id), x]));
// Key households (三老/三户) first, then those not visited for longest.
households.sort((a, b) => (b.priority - a.priority)
  || String(a.last_visit || "").localeCompare(String(b.last_visit || ""))
  || String(a.house_label).localeCompare(String(b.house_label), "zh-CN", { numeric: true }));

const state = { selected: null, tag: "", query: "", fix: null, timeDirty: false, saving: false };
const photos = []; // {key, status: "processing"|"ready", result, url, li, promise}
let photoChain = Promise.resolve();

// --- household picker ---

function matches(x) {
  if (state.tag === "priority" && !x.priority) return false;
  if (state.tag && state.tag !== "priority" && !(x.tags || []).includes(state.tag)) return false;
  if (!state.query) return true;
  const q = state.query.toLowerCase();
  return String(x.head_name).toLowerCase().includes(q) || String(x.house_label).toLowerCase().includes(q);
}

function subline(x) {
  const bits = [x.house_label];
  if (x.member_count) bits.push(t("members_n", { n: x.member_count }));
  bits.push(...(x.tag_labels || []));
  return bits.filter(Boolean).join(" · ");
}

function householdButton(x) {
  return h("li", {},
    h("button", {
      type: "button", class: "list-item hh-item",
      dataset: { householdId: x.id, testid: "household-item", priority: x.priority ? "1" : "0" },
      onclick: () => select(x.id, true),
    },
    h("span", { class: `avatar${x.priority ? " avatar-priority" : ""}`, "aria-hidden": "true" },
      String(x.head_name).slice(0, 1)),
    h("span", { class: "list-main" },
      h("span", { class: "list-title" }, x.head_name, " ",
        x.priority ? h("span", { class: "badge badge-priority" }, t("priority")) : null),
      h("span", { class: "list-sub muted" }, subline(x)),
      h("span", { class: `list-sub small ${x.last_visit ? "muted" : "text-accent"}` },
        x.last_visit ? t("last_visit", { d: x.last_visit }) : t("never_visited")))));
}

function renderList() {
  const found = households.filter(matches);
  const list = $("household-list");
  list.replaceChildren(...found.slice(0, LIST_LIMIT).map(householdButton));
  if (found.length > LIST_LIMIT) {
    list.append(h("li", { class: "list-note muted small" },
      t("more_households", { n: found.length - LIST_LIMIT })));
  }
  $("household-empty").hidden = found.length > 0;
}

function select(id, byTap = false) {
  const x = byId.get(String(id));
  if (!x) return;
  state.selected = x;
  const chosen = $("household-chosen");
  chosen.querySelector("[data-chosen-avatar]").textContent = String(x.head_name).slice(0, 1);
  chosen.querySelector("[data-chosen-avatar]").classList.toggle("avatar-priority", !!x.priority);
  const title = chosen.querySelector("[data-chosen-title]");
  title.replaceChildren(x.head_name, " ",
    x.priority ? h("span", { class: "badge badge-priority" }, t("priority")) : "");
  chosen.querySelector("[data-chosen-sub]").textContent = subline(x);
  chosen.dataset.householdId = x.id;
  chosen.hidden = false;
  $("household-picker").hidden = true;
  $("form-error").hidden = true;
  saveDraft();
  if (byTap) chosen.scrollIntoView({ block: "start", behavior: "smooth" });
}

function unselect() {
  state.selected = null;
  $("household-chosen").hidden = true;
  $("household-picker").hidden = false;
  $("household-search").focus();
  saveDraft();
}

function setTag(chip) {
  state.tag = chip.dataset.tag;
  for (const c of $("household-chips").querySelectorAll(".chip")) {
    c.classList.toggle("is-active", c === chip);
    c.setAttribute("aria-pressed", String(c === chip));
  }
  renderList();
}

// --- GPS: started at once, shown, never waited for ---

function gpsShow(kind, text) {
  const box = $("gps-status");
  box.dataset.state = kind;
  box.querySelector("[data-gps-text]").textContent = text;
  $("gps-retry").hidden = kind === "pending" || kind === "unsupported";
}

function locate() {
  if (!("geolocation" in navigator)) {
    gpsShow("unsupported", t("locate_unsupported"));
    return;
  }
  gpsShow("pending", t("locating"));
  navigator.geolocation.getCurrentPosition((pos) => {
    const c = pos.coords;
    state.fix = {
      lat: c.latitude, lon: c.longitude,
      accuracy_m: Number.isFinite(c.accuracy) ? Math.round(c.accuracy * 10) / 10 : null,
      located_at: new Date(pos.timestamp || Date.now()).toISOString(),
    };
    $("gps-status").dataset.accuracy = String(Math.round(c.accuracy));
    gpsShow("ok", t("located", { m: Math.round(c.accuracy) }));
  }, (err) => {
    if (state.fix) return; // keep the earlier fix
    gpsShow("failed", err && err.code === 1 ? t("locate_denied") : t("locate_failed"));
  }, { enableHighAccuracy: true, timeout: 20_000, maximumAge: 60_000 });
}

// --- photos ---

function removePhoto(entry) {
  const i = photos.indexOf(entry);
  if (i >= 0) photos.splice(i, 1);
  entry.li.remove();
  if (entry.question) entry.question.remove();
  if (entry.url) URL.revokeObjectURL(entry.url);
}

function thumb(entry) {
  entry.li = h("li", { class: "thumb is-processing", dataset: { testid: "photo-thumb", state: "processing" } },
    h("span", { class: "thumb-note" }, t("photo_processing")),
    h("button", {
      type: "button", class: "thumb-remove", "aria-label": t("photo_remove"), title: t("photo_remove"),
      onclick: () => removePhoto(entry),
    }, "×"));
  $("photo-thumbs").append(entry.li);
}

function showReady(entry) {
  const { li, result } = entry;
  li.classList.remove("is-processing");
  li.dataset.state = "ready";
  li.dataset.mode = result.mode;
  if (result.taken_at) li.dataset.takenAt = result.taken_at;
  if (result.lat != null) li.dataset.exifGps = `${result.lat},${result.lon}`;
  const note = li.querySelector(".thumb-note");
  if (result.mode === "undecodable") {
    note.textContent = `${(result.filename.split(".").pop() || "").toUpperCase()} · ${t("photo_original")}`;
  } else {
    entry.url = URL.createObjectURL(result.blob);
    note.replaceWith(h("img", { src: entry.url, alt: "" }));
  }
}

/** Ask gently when the photo's camera time or place is far from this visit's. */
function checkPhoto(entry) {
  const picked = state.timeDirty ? new Date($("occurred-at").value) : new Date();
  const visitTime = Number.isNaN(picked.getTime()) ? new Date() : picked;
  const found = concerns(entry.result, visitTime, state.fix);
  if (!found) return;
  entry.question = ask($("photo-checks"), found, visitTime,
    { src: entry.url || null, remove: () => removePhoto(entry) });
}

function addFiles(files) {
  for (const file of files) {
    if (photos.length >= MAX_PHOTOS) {
      toast(t("photo_max", { n: MAX_PHOTOS }));
      break;
    }
    const entry = { key: uuid4(), status: "processing" };
    photos.push(entry);
    thumb(entry);
    entry.promise = photoChain = photoChain.then(() => preparePhoto(file)).then((result) => {
      entry.result = result;
      entry.status = "ready";
      if (photos.includes(entry)) {
        showReady(entry);
        checkPhoto(entry);
      }
    }, (err) => {
      removePhoto(entry);
      toast(err && err.message === "too_big" ? t("photo_too_big") : t("photo_not_image"));
    });
  }
}

// --- draft (a phone may reload the tab while the camera app is open) ---

function saveDraft() {
  try {
    sessionStorage.setItem(DRAFT_KEY, JSON.stringify({
      household: state.selected ? state.selected.id : null,
      heard: $("heard").value, requests: $("requests").value, follow_up: $("follow-up").checked,
    }));
  } catch (_) { /* storage full or blocked */ }
}

/** Restore unsaved text unless it belongs to another household than the one asked for. */
function restoreDraft(requested) {
  let draft = null;
  try { draft = JSON.parse(sessionStorage.getItem(DRAFT_KEY) || "null"); } catch (_) { /* none */ }
  if (!draft || (requested && draft.household && draft.household !== requested)) return null;
  $("heard").value = draft.heard || "";
  $("requests").value = draft.requests || "";
  $("follow-up").checked = !!draft.follow_up;
  return draft.household;
}

// --- save ---

function fail(message) {
  const box = $("form-error");
  box.textContent = message;
  box.hidden = false;
  box.scrollIntoView({ block: "center", behavior: "smooth" });
}

async function save(ev) {
  ev.preventDefault();
  if (state.saving) return;
  const user = pageUser();
  if (!state.selected) {
    fail(t("choose_household"));
    $("household-search").focus();
    return;
  }
  state.saving = true;
  const button = $("save-visit");
  button.disabled = true;
  try {
    await Promise.all(photos.map((p) => p.promise));
    const ready = photos.filter((p) => p.status === "ready");
    const now = new Date();
    const picked = state.timeDirty ? new Date($("occurred-at").value) : now;
    const occurred = Number.isNaN(picked.getTime()) || picked > now ? now : picked;
    const record = {
      type: "visit", id: uuid4(), household_id: state.selected.id,
      occurred_at: occurred.toISOString(), device_created_at: now.toISOString(),
      heard: $("heard").value.trim(), requests: $("requests").value.trim(),
      follow_up: $("follow-up").checked, location: state.fix ? { ...state.fix } : null,
      photo_ids: ready.map((p) => p.result.id),
    };
    await queueVisit({
      record, userId: user.id, userName: user.name,
      label: { head_name: state.selected.head_name, house_label: state.selected.house_label },
    }, ready.map(({ result: r }) => ({
      id: r.id, blob: r.blob, mime: r.mime, filename: r.filename, taken_at: r.taken_at,
      lat: r.lat, lon: r.lon, width: r.width, height: r.height, mode: r.mode,
    })));
    // The request goes to the ledger after its visit (the server needs the source first).
    await queueLedgerFor(record, { head_name: state.selected.head_name })
      .catch((err) => console.error("ledger:", err));
    sessionStorage.removeItem(DRAFT_KEY);
    sessionStorage.setItem("fieldlog:toast", JSON.stringify({
      message: t("saved"), action: { label: t("record_another"), href: "/m/visits/new" },
      record_id: record.id,
    }));
    form.dataset.saved = record.id;
    window.location.assign("/m/");
  } catch (err) {
    console.error(err);
    state.saving = false;
    button.disabled = false;
    fail(isQuotaError(err) ? t("save_quota")
        : t("save_failed", { e: (err && err.message) || String(err) }));
  }
}

// --- wiring ---

function init() {
  const timeInput = $("occurred-at");
  timeInput.value = localInputValue();
  timeInput.max = localInputValue();
  timeInput.addEventListener("input", () => { state.timeDirty = true; });

  $("household-search").addEventListener("input", (ev) => {
    state.query = ev.target.value.trim();
    renderList();
  });
  $("household-chips").addEventListener("click", (ev) => {
    const chip = ev.target.closest(".chip");
    if (chip) setTag(chip);
  });
  $("household-change").addEventListener("click", unselect);
  $("gps-retry").addEventListener("click", locate);
  for (const id of ["photo-input", "photo-camera"]) {
    $(id).addEventListener("change", (ev) => {
      addFiles([...ev.target.files]);
      ev.target.value = "";
    });
  }
  for (const id of ["heard", "requests", "follow-up"]) $(id).addEventListener("input", saveDraft);
  $("follow-up").addEventListener("change", saveDraft);
  form.addEventListener("submit", save);

  locate();
  renderList();
  // The URL wins over the preselect baked into the page (a cached page has none).
  const requested = new URLSearchParams(window.location.search).get("household")
    || form.dataset.preselect || null;
  const draftHousehold = restoreDraft(requested);
  const pre = requested || draftHousehold;
  if (pre) select(pre);
  initLedgerOffer();
  form.dataset.ready = "1";
}

init();
