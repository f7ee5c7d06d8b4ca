// A six-one action (new or edit). The type comes from ?type= (the page is cached without the
// query) or from the edited record. A practical deed takes "before" and "after" photos; a pledge
// needs its promised date; moving the state to done asks for the date it was done.

import {
  $, PhotoPicker, finish, goalIds, lockIfApproved, newRecordBase, onSave, queueAll,
  radioValue, readEdit, setGoals, setRadio, showErrors, startGps,
} from "./record-form.js";
import { t } from "./ui.js";

const form = $("record-form");
const edit = readEdit();
const TEXTS = ["title", "description", "evidence"];

function fieldBox(name) {
  return form.querySelector(`[data-field="${name}"]`);
}

function todayIso() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function refresh() {
  const type = radioValue(form, "action_type");
  const state = radioValue(form, "state");
  $("due-field").hidden = type !== "pledge";
  $("done-field").hidden = state !== "done";
  if (state === "done" && !form.elements.done_on.value) form.elements.done_on.value = todayIso();
  const deed = type === "practical_deed";
  $("before-after").hidden = !deed;
  $("plain-photos").hidden = deed;
  form.dataset.actionType = type;
}

function validate(v) {
  const errors = [];
  if (!v.action_type) errors.push([fieldBox("action_type"), t("err_type")]);
  if (!v.title) errors.push([fieldBox("title"), t("err_title")]);
  if (v.action_type === "pledge" && !v.due_date) errors.push([fieldBox("due_date"), t("err_due")]);
  return errors;
}

function init() {
  const data = edit ? edit.data : {};
  if (lockIfApproved(form, edit)) return;
  const gps = edit ? null : startGps();
  if (edit) {
    $("gps-status").parentElement.hidden = true; // an edit keeps the location of the first save
    setRadio(form, "action_type", data.action_type);
    for (const input of form.querySelectorAll('input[name="action_type"]')) {
      input.disabled = input.value !== data.action_type; // the type of a record stays
    }
    setRadio(form, "state", data.state || "planned");
    for (const name of TEXTS) form.elements[name].value = data[name] || "";
    form.elements.due_date.value = data.due_date || "";
    form.elements.done_on.value = data.done_on || "";
    setGoals(form, data.goal_ids);
  } else {
    const wanted = new URLSearchParams(window.location.search).get("type");
    if (wanted) setRadio(form, "action_type", wanted);
  }
  const before = edit ? (data.photo_ids || []) : [];
  const pickers = [...form.querySelectorAll("[data-photo-picker]")].map(
    (root) => new PhotoPicker(root, { already: before.length }));
  form.addEventListener("change", (ev) => {
    if (ev.target.name === "action_type" || ev.target.name === "state") refresh();
  });
  refresh();

  onSave(form, async () => {
    const v = { action_type: radioValue(form, "action_type"), state: radioValue(form, "state") };
    for (const name of TEXTS) v[name] = form.elements[name].value.trim();
    v.due_date = v.action_type === "pledge" ? (form.elements.due_date.value || null) : null;
    v.done_on = v.state === "done" ? (form.elements.done_on.value || null) : null;
    if (!showErrors(form, validate(v))) return false;
    // Only the pickers on show count: a deed's before/after, otherwise the plain one.
    const shown = pickers.filter((p) => !p.root.closest("[hidden]"));
    const picked = (await Promise.all(shown.map((p) => p.ready()))).flat();
    const base = newRecordBase("action", edit);
    if (gps && gps.fix) base.location = { ...gps.fix };
    const record = {
      ...base, ...v, goal_ids: goalIds(form),
      photo_ids: [...before, ...picked.map((p) => p.id)],
    };
    await queueAll([{
      record, photos: picked,
      label: { head_name: v.title, action_type: v.action_type },
    }]);
    form.dataset.saved = record.id;
    finish(edit ? t("saved_edit") : t("saved_record"), form.dataset.listUrl, null, record.id);
    return true;
  });
  form.dataset.ready = "1";
}

init();
