// A five-one goal of the term (new or edit): type, title, target, progress, state.

import {
  $, finish, lockIfApproved, newRecordBase, onSave, queueAll, radioValue, readEdit, setRadio,
  showErrors, startGps,
} from "./record-form.js";
import { t } from "./ui.js";

const form = $("record-form");
const edit = readEdit();
const TEXTS = ["title", "target", "progress"];

function init() {
  const data = edit ? edit.data : {};
  if (lockIfApproved(form, edit)) return;
  const gps = edit ? null : startGps();
  if (edit) {
    $("gps-status").parentElement.hidden = true; // an edit keeps the location of the first save
    setRadio(form, "goal_type", data.goal_type);
    setRadio(form, "state", data.state || "under_way");
    for (const name of TEXTS) form.elements[name].value = data[name] || "";
  } else {
    const wanted = new URLSearchParams(window.location.search).get("type");
    if (wanted) setRadio(form, "goal_type", wanted);
  }
  onSave(form, async () => {
    const v = { goal_type: radioValue(form, "goal_type"), state: radioValue(form, "state") };
    for (const name of TEXTS) v[name] = form.elements[name].value.trim();
    const errors = [];
    if (!v.goal_type) errors.push([form.querySelector('[data-field="goal_type"]'), t("err_type")]);
    if (!v.title) errors.push([form.querySelector('[data-field="title"]'), t("err_title")]);
    if (!showErrors(form, errors)) return false;
    const base = newRecordBase("goal", edit);
    if (gps && gps.fix) base.location = { ...gps.fix };
    const record = { ...base, ...v, photo_ids: edit ? (data.photo_ids || []) : [] };
    await queueAll([{ record, label: { head_name: v.title, house_label: "" } }]);
    form.dataset.saved = record.id;
    finish(edit ? t("saved_edit") : t("saved_record"), form.dataset.listUrl, null, record.id);
    return true;
  });
  form.dataset.ready = "1";
}

init();
