// Meeting minutes (new or edit). A villagers' say (村民说事) also lists the items raised; each is
// queued as a ledger item whose source is this meeting, after the meeting itself.

import {
  $, PhotoPicker, countValue, finish, goalIds, lockIfApproved, newRecordBase, onSave,
  queueAll, radioValue, readEdit, setGoals, setRadio, showErrors, startGps, timeInput,
} from "./record-form.js";
import { uuid4 } from "./outbox.js";
import { t } from "./ui.js";

const form = $("record-form");
const edit = readEdit();
const TEXTS = ["title", "place", "host", "attendees", "topics", "decisions"];

function fieldBox(name) {
  return form.querySelector(`[data-field="${name}"]`);
}

// --- items raised at a villagers' say ---

function renumber() {
  [...$("items").children].forEach((li, i) => {
    li.querySelector("[data-item-n]").textContent = t("item_n", { n: i + 1 });
  });
}

function addItem() {
  const li = $("item-template").content.firstElementChild.cloneNode(true);
  const household = li.querySelector('[data-item="household_id"]');
  const nameField = li.querySelector("[data-item-name-field]");
  household.addEventListener("change", () => { nameField.hidden = !!household.value; });
  li.querySelector("[data-item-remove]").addEventListener("click", () => {
    li.remove();
    renumber();
  });
  $("items").append(li);
  renumber();
  return li;
}

function itemRows() {
  return [...$("items").children].map((li) => {
    const value = (name) => li.querySelector(`[data-item="${name}"]`).value.trim();
    return {
      li, content: value("content"), category: value("category"),
      household_id: value("household_id") || null, raiser_name: value("raiser_name"),
    };
  }).filter((row) => row.content || row.raiser_name || row.household_id);
}

function onType() {
  const type = radioValue(form, "meeting_type");
  const say = type === "villagers_say";
  $("items-card").hidden = !say;
  if (say && !$("items").children.length) addItem();
  form.querySelector("[data-title-hint]").hidden = type === "other";
}

// --- validation and saving ---

function validate(values, items) {
  const errors = [];
  if (!values.meeting_type) errors.push([fieldBox("meeting_type"), t("err_type")]);
  if (values.meeting_type === "other" && !values.title) {
    errors.push([fieldBox("title"), t("err_other_title")]);
  }
  for (const name of ["expected_count", "attended_count"]) {
    if (Number.isNaN(values[name])) errors.push([fieldBox(name), t("err_count")]);
  }
  if (!values.topics && !values.decisions && !values.title) {
    errors.push([fieldBox("topics"), t("err_substance")]);
  }
  if (values.meeting_type === "villagers_say") {
    for (const row of items) {
      if (!row.content) {
        errors.push([row.li.querySelector('[data-field="content"]'), t("err_item_content")]);
      }
    }
  }
  return errors;
}

function init() {
  const data = edit ? edit.data : {};
  if (lockIfApproved(form, edit)) return;
  const readTime = timeInput($("occurred-at"), edit ? data.occurred_at : null);
  const gps = edit ? null : startGps();
  if (edit) {
    $("gps-status").hidden = true; // an edit keeps the location of the first save
    setRadio(form, "meeting_type", data.meeting_type);
    for (const name of TEXTS) form.elements[name].value = data[name] || "";
    for (const name of ["expected_count", "attended_count"]) {
      form.elements[name].value = data[name] == null ? "" : String(data[name]);
    }
    setGoals(form, data.goal_ids);
  }
  const before = edit ? (data.photo_ids || []) : [];
  const photos = new PhotoPicker(form.querySelector("[data-photo-picker]"),
    { markSignIn: true, already: before.length });
  form.addEventListener("change", (ev) => {
    if (ev.target.name === "meeting_type") onType();
  });
  $("add-item").addEventListener("click", () => {
    addItem().querySelector("textarea").focus();
  });
  onType();

  onSave(form, async () => {
    const values = { meeting_type: radioValue(form, "meeting_type") };
    for (const name of TEXTS) values[name] = form.elements[name].value.trim();
    for (const name of ["expected_count", "attended_count"]) {
      values[name] = countValue(form.elements[name]);
    }
    const items = values.meeting_type === "villagers_say" ? itemRows() : [];
    if (!showErrors(form, validate(values, items))) return false;
    const picked = await photos.ready();
    const base = newRecordBase("meeting", edit);
    if (gps && gps.fix) base.location = { ...gps.fix };
    base.occurred_at = readTime(base.occurred_at);
    const record = {
      ...base, ...values, goal_ids: goalIds(form),
      photo_ids: [...before, ...picked.map((p) => p.id)],
    };
    const entries = [{
      record, photos: picked,
      label: { head_name: values.title || "", house_label: values.place, meeting_type: values.meeting_type },
    }];
    const now = new Date().toISOString();
    for (const row of items) {
      entries.push({
        record: {
          type: "ledger_item", id: uuid4(), occurred_at: record.occurred_at,
          device_created_at: now, location: record.location, photo_ids: [],
          household_id: row.household_id, raiser_name: row.household_id ? "" : row.raiser_name,
          category: row.category || "other", content: row.content,
          source: { type: "meeting", id: record.id },
        },
        label: { head_name: row.content.slice(0, 24), meeting_type: "villagers_say" },
      });
    }
    await queueAll(entries);
    form.dataset.saved = record.id;
    finish(edit ? t("saved_edit") : t("saved_record"), form.dataset.listUrl,
      edit ? null : { label: t("record_another_meeting"), href: form.dataset.newUrl }, record.id);
    return true;
  });
  form.dataset.ready = "1";
}

init();
