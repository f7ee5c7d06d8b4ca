// Change a visit (returned by a reviewer, or still waiting): the latest version is pre-filled,
// the household stays fixed. Saving queues the same id with `base_version` in the outbox, so
// the server stores it as the next version; it works offline like a new visit.

import { preparePhoto } from "./camera.js";
import { pageUser } from "./device.js";
import { queueRecord } from "./outbox.js";
import { h, localInputValue, t, toast } from "./ui.js";

const form = document.getElementById("visit-edit-form");
const $ = (id) => document.getElementById(id);
const edit = JSON.parse($("visit-edit-data").textContent);
const base = edit.record || {};
const kept = base.photo_ids || [];
const MAX_PHOTOS = Number(form.dataset.maxPhotos || 12);
const photos = []; // {status, result, li, promise}
let chain = Promise.resolve();
let saving = false;

function fill() {
  $("heard").value = base.heard || "";
  $("requests").value = base.requests || "";
  $("follow-up").checked = !!base.follow_up;
  const when = base.occurred_at ? new Date(base.occurred_at) : new Date();
  $("occurred-at").value = localInputValue(when);
  $("occurred-at").max = localInputValue();
}

function addFiles(files) {
  for (const file of files) {
    if (kept.length + photos.length >= MAX_PHOTOS) {
      toast(t("photo_max", { n: MAX_PHOTOS }));
      break;
    }
    const entry = { status: "processing" };
    entry.li = h("li", { class: "thumb is-processing", dataset: { testid: "photo-thumb", state: "processing" } },
      h("span", { class: "thumb-note" }, t("photo_processing")));
    $("photo-thumbs").append(entry.li);
    photos.push(entry);
    entry.promise = chain = chain.then(() => preparePhoto(file)).then((result) => {
      entry.result = result;
      entry.status = "ready";
      entry.li.classList.remove("is-processing");
      entry.li.dataset.state = "ready";
      if (result.blob && result.mode !== "undecodable") {
        entry.li.querySelector(".thumb-note").replaceWith(
          h("img", { src: URL.createObjectURL(result.blob), alt: "" }));
      }
    }, () => {
      photos.splice(photos.indexOf(entry), 1);
      entry.li.remove();
      toast(t("photo_not_image"));
    });
  }
}

/** The full new content: the previous version with the form's fields, as the sync API wants. */
function changedRecord(ready) {
  const picked = new Date($("occurred-at").value);
  const before = base.occurred_at ? new Date(base.occurred_at) : null;
  // Keep the stored instant unless the person moved the time (the input has minute precision).
  const occurred = Number.isNaN(picked.getTime()) || (before && localInputValue(before) === $("occurred-at").value)
    ? base.occurred_at : picked.toISOString();
  return {
    ...base,
    type: "visit",
    id: base.id,
    household_id: base.household_id,
    occurred_at: occurred,
    heard: $("heard").value.trim(),
    requests: $("requests").value.trim(),
    follow_up: $("follow-up").checked,
    photo_ids: [...kept, ...ready.map((p) => p.result.id)],
    base_version: edit.version,
  };
}

function fail(message) {
  const box = $("form-error");
  box.textContent = message;
  box.hidden = false;
}

async function save(ev) {
  ev.preventDefault();
  if (saving) return;
  saving = true;
  $("save-edit").disabled = true;
  try {
    await Promise.all(photos.map((p) => p.promise));
    const ready = photos.filter((p) => p.status === "ready");
    const record = changedRecord(ready);
    const user = pageUser();
    const household = edit.household || {};
    await queueRecord({
      record, userId: user.id, userName: user.name,
      label: { head_name: household.head_name || "", house_label: household.house_label || "" },
    }, ready.map(({ result: r }) => ({
      id: r.id, blob: r.blob, mime: r.mime, filename: r.filename, taken_at: r.taken_at,
      lat: r.lat, lon: r.lon, width: r.width, height: r.height, mode: r.mode,
    })));
    sessionStorage.setItem("fieldlog:toast", JSON.stringify({ message: t("edit_saved"), record_id: record.id }));
    form.dataset.saved = `${record.id}:${record.base_version}`;
    window.location.assign("/m/");
  } catch (err) {
    console.error(err);
    saving = false;
    $("save-edit").disabled = false;
    fail(t("edit_failed", { e: (err && err.message) || String(err) }));
  }
}

fill();
$("photo-input").addEventListener("change", (ev) => {
  addFiles([...ev.target.files]);
  ev.target.value = "";
});
form.addEventListener("submit", save);
form.dataset.ready = "1";
