// Shared helpers of the meeting, six-one action and goal forms: the base of a new record or an
// edit, a background GPS fix (never waited for), photo pickers with slots, inline errors, and
// saving to the outbox. Every form works offline: nothing here talks to the server.

import { preparePhoto } from "./camera.js";
import { pageUser } from "./device.js";
import { isQuotaError, queueRecord, uuid4 } from "./outbox.js";
import { h, localInputValue, t, toast } from "./ui.js";

export const $ = (id) => document.getElementById(id);
export const MAX_PHOTOS = 12;
const TOAST_KEY = "fieldlog:toast";

/** Return the record being edited ({type, id, version, status, locked, data}) or null. */
export function readEdit() {
  const node = $("record-data");
  if (!node) return null;
  try { return JSON.parse(node.textContent); } catch (_) { return null; }
}

/**
 * Return the common part of a record: a new one (fresh UUID, device time now) or, for an edit,
 * the same id, times and location as the stored version, plus `base_version`.
 */
export function newRecordBase(type, edit = null) {
  if (edit) {
    const d = edit.data || {};
    return {
      type, id: edit.id, occurred_at: d.occurred_at, device_created_at: d.device_created_at,
      location: d.location || null, base_version: edit.version,
    };
  }
  const now = new Date().toISOString();
  return { type, id: uuid4(), occurred_at: now, device_created_at: now, location: null };
}

/** Wire a datetime-local input: default now (or the edited time); return a reader. */
export function timeInput(input, initialIso = null) {
  let dirty = false;
  input.value = localInputValue(initialIso ? new Date(initialIso) : new Date());
  input.max = localInputValue();
  input.addEventListener("input", () => { dirty = true; });
  /** The ISO time picked, or `fallback` when untouched or unusable (never in the future). */
  return (fallback) => {
    if (!dirty) return fallback;
    const picked = new Date(input.value);
    const now = new Date();
    if (Number.isNaN(picked.getTime())) return fallback;
    return (picked > now ? now : picked).toISOString();
  };
}

// --- GPS: started at once, shown, never waited for ---

/** Start locating in the background; return {fix} filled in when a position arrives. */
export function startGps(box = $("gps-status"), retry = $("gps-retry")) {
  const state = { fix: null };
  if (!box) return state;
  const show = (kind, text) => {
    box.dataset.state = kind;
    box.querySelector("[data-gps-text]").textContent = text;
    if (retry) retry.hidden = kind === "pending" || kind === "unsupported";
  };
  const locate = () => {
    if (!("geolocation" in navigator)) {
      show("unsupported", t("locate_unsupported"));
      return;
    }
    show("pending", t("locating"));
    navigator.geolocation.getCurrentPosition((pos) => {
      const c = pos.coords;
      state.fix = {
        lat: c.latitude, lon: c.longitude,
        accuracy_m: Number.isFinite(c.accuracy) ? Math.round(c.accuracy * 10) / 10 : null,
        located_at: new Date(pos.timestamp || Date.now()).toISOString(),
      };
      box.dataset.accuracy = String(Math.round(c.accuracy));
      show("ok", t("located", { m: Math.round(c.accuracy) }));
    }, (err) => {
      if (state.fix) return;
      show("failed", err && err.code === 1 ? t("locate_denied") : t("locate_failed"));
    }, { enableHighAccuracy: true, timeout: 20_000, maximumAge: 60_000 });
  };
  if (retry) retry.addEventListener("click", locate);
  locate();
  return state;
}

// --- photos ---

let photoChain = Promise.resolve(); // one photo at a time: phones have little memory
const pickers = [];

/** Count the photos of every picker on the page. */
function photoTotal() {
  return pickers.reduce((n, p) => n + p.entries.length, 0);
}

/**
 * A photo picker (templates/records/_photo_picker.html): its photos go to `slot`
 * (root[data-slot], "" for none). `markSignIn`: each photo can be marked as the sign-in sheet.
 */
export class PhotoPicker {
  constructor(root, { markSignIn = false, already = 0 } = {}) {
    this.root = root;
    this.slot = root.dataset.slot || null;
    this.markSignIn = markSignIn;
    this.already = already; // photos the record had before an edit
    this.entries = [];
    this.list = root.querySelector("[data-thumbs]");
    for (const input of root.querySelectorAll("[data-photo-input]")) {
      input.addEventListener("change", (ev) => {
        this.add([...ev.target.files]);
        ev.target.value = "";
      });
    }
    pickers.push(this);
  }

  add(files) {
    for (const file of files) {
      if (photoTotal() + this.already >= MAX_PHOTOS) {
        toast(t("photo_max_record", { n: MAX_PHOTOS }));
        break;
      }
      const entry = { status: "processing", slot: this.slot };
      this.entries.push(entry);
      this.thumb(entry);
      entry.promise = photoChain = photoChain.then(() => preparePhoto(file)).then((result) => {
        entry.result = result;
        entry.status = "ready";
        if (this.entries.includes(entry)) this.showReady(entry);
      }, (err) => {
        this.remove(entry);
        toast(err && err.message === "too_big" ? t("photo_too_big") : t("photo_not_image"));
      });
    }
  }

  remove(entry) {
    const i = this.entries.indexOf(entry);
    if (i >= 0) this.entries.splice(i, 1);
    entry.li.remove();
    if (entry.url) URL.revokeObjectURL(entry.url);
  }

  thumb(entry) {
    entry.li = h("li", { class: "thumb is-processing", dataset: { testid: "photo-thumb", state: "processing", slot: this.slot || "" } },
      h("span", { class: "thumb-note" }, t("photo_processing")),
      h("button", {
        type: "button", class: "thumb-remove", "aria-label": t("photo_remove"),
        title: t("photo_remove"), onclick: () => this.remove(entry),
      }, "×"));
    this.list.append(entry.li);
  }

  showReady(entry) {
    const { li, result } = entry;
    li.classList.remove("is-processing");
    li.dataset.state = "ready";
    li.dataset.mode = result.mode;
    const note = li.querySelector(".thumb-note");
    if (result.mode === "undecodable") {
      note.textContent = `${(result.filename.split(".").pop() || "").toUpperCase()} · ${t("photo_original")}`;
    } else {
      entry.url = URL.createObjectURL(result.blob);
      note.replaceWith(h("img", { src: entry.url, alt: "" }));
    }
    if (this.markSignIn) {
      li.append(h("button", {
        type: "button", class: "thumb-mark", "aria-pressed": "false",
        dataset: { testid: "mark-sign-in" }, onclick: () => this.toggleSignIn(entry),
      }, t("sign_in_sheet")));
    }
  }

  toggleSignIn(entry) {
    const on = entry.slot !== "sign_in";
    for (const other of this.entries) {
      other.slot = this.slot;
      if (other.li) {
        other.li.dataset.slot = this.slot || "";
        const b = other.li.querySelector(".thumb-mark");
        if (b) b.setAttribute("aria-pressed", "false");
      }
    }
    if (on) {
      entry.slot = "sign_in";
      entry.li.dataset.slot = "sign_in";
      entry.li.querySelector(".thumb-mark").setAttribute("aria-pressed", "true");
    }
  }

  /** Wait for the photos being prepared; return them as the outbox wants them. */
  async ready() {
    await Promise.all(this.entries.map((e) => e.promise));
    return this.entries.filter((e) => e.status === "ready").map(({ result: r, slot }) => ({
      id: r.id, blob: r.blob, mime: r.mime, filename: r.filename, taken_at: r.taken_at,
      lat: r.lat, lon: r.lon, width: r.width, height: r.height, mode: r.mode, slot,
    }));
  }
}

// --- form values ---

/** Return the checked value of a radio group, or "". */
export function radioValue(form, name) {
  const input = form.querySelector(`input[name="${name}"]:checked`);
  return input ? input.value : "";
}

/** Check the radio of `name` with `value` (if there is one). */
export function setRadio(form, name, value) {
  for (const input of form.querySelectorAll(`input[name="${name}"]`)) {
    input.checked = input.value === value;
  }
}

/** Return the checked goal ids; `setGoals` checks the given ones. */
export function goalIds(form) {
  return [...form.querySelectorAll('input[name="goal_ids"]:checked')].map((i) => i.value);
}

export function setGoals(form, ids = []) {
  const wanted = new Set((ids || []).map(String));
  for (const input of form.querySelectorAll('input[name="goal_ids"]')) {
    input.checked = wanted.has(input.value);
  }
}

/** Parse a count field: null when empty, NaN when not a whole number in range. */
export function countValue(input) {
  const raw = input.value.trim();
  if (raw === "") return null;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 && n <= 100_000 ? n : Number.NaN;
}

// --- errors ---

/** Remove every inline error of the form. */
export function clearErrors(form) {
  for (const node of form.querySelectorAll(".field-error[data-generated]")) node.remove();
  for (const node of form.querySelectorAll(".has-error")) node.classList.remove("has-error");
  const box = $("form-error");
  if (box) box.hidden = true;
}

/** Once a field with an error is changed, its error goes away. */
function clearOnInput(form) {
  if (form.dataset.clearsErrors) return;
  form.dataset.clearsErrors = "1";
  const clear = (ev) => {
    const box = ev.target.closest(".has-error");
    if (!box) return;
    box.classList.remove("has-error");
    for (const node of box.querySelectorAll(":scope > .field-error[data-generated]")) node.remove();
    if (!form.querySelector(".has-error")) $("form-error").hidden = true;
  };
  form.addEventListener("input", clear);
  form.addEventListener("change", clear);
}

/** Show errors [[element, message], ...] next to their fields; false if there were any. */
export function showErrors(form, errors) {
  clearErrors(form);
  clearOnInput(form);
  if (!errors.length) return true;
  for (const [el, message] of errors) {
    el.classList.add("has-error");
    el.append(h("p", {
      class: "field-error", role: "alert",
      dataset: { generated: "1", testid: "field-error", for: el.dataset.field || el.dataset.item || "" },
    }, message));
  }
  fail(t("fix_errors"), false);
  errors[0][0].scrollIntoView({ block: "center", behavior: "smooth" });
  return false;
}

/** Show a message above the save button. */
export function fail(message, scroll = true) {
  const box = $("form-error");
  box.textContent = message;
  box.hidden = false;
  if (scroll) box.scrollIntoView({ block: "center", behavior: "smooth" });
}

// --- saving ---

const pause = () => new Promise((resolve) => { setTimeout(resolve, 3); });

/**
 * Queue records in order (each with its photos), e.g. a meeting and then the ledger items raised
 * in it; each gets a later place in the outbox than the one before.
 */
export async function queueAll(entries) {
  const user = pageUser();
  if (!user) throw new Error("not signed in");
  for (const [i, { record, label, photos }] of entries.entries()) {
    if (i) await pause();
    await queueRecord({ record, label, userId: user.id, userName: user.name }, photos || []);
  }
}

/** Go back to `href` and show `message` there (the toast survives the page change); with
 *  `recordId`, the page says instead whether that record was sent or waits (app.js). */
export function finish(message, href, action = null, recordId = null) {
  try {
    sessionStorage.setItem(TOAST_KEY, JSON.stringify({ message, action, record_id: recordId }));
  } catch (_) { /* storage blocked: no toast */ }
  window.location.assign(href);
}

/**
 * Run a form's save: guard against double taps, disable the button, report a failure.
 * `build` returns false to stop (errors shown), or resolves once everything is queued.
 */
export function onSave(form, build) {
  let saving = false;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (saving) return;
    saving = true;
    const button = $("save-record");
    if (button) button.disabled = true;
    try {
      const done = await build();
      if (done === false) {
        saving = false;
        if (button) button.disabled = false;
      }
    } catch (err) {
      console.error(err);
      saving = false;
      if (button) button.disabled = false;
      fail(isQuotaError(err) ? t("save_quota")
        : t("save_failed", { e: (err && err.message) || String(err) }));
    }
  });
}

/** Lock a form the server will refuse to change (an approved record). */
export function lockIfApproved(form, edit) {
  if (!edit || !edit.locked) return false;
  for (const el of form.elements) el.disabled = true;
  return true;
}
