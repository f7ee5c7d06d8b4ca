// A gentle question about a picked photo whose camera time or place is far from the visit.
// The limits are the server's (services/integrity_rules.py, sent with the page), so an honest
// mistake (the wrong picture from the gallery) is put right before a supervisor sees a flag.
// It never blocks: the photo stays unless the cadre removes it.

import { h, shortTime, t } from "./ui.js";

const EARTH_M = 6_371_008.8;

/** Return the limits in the page ({max_hours, max_m, village: {lat, lon} | null}) or null. */
function pageLimits() {
  try {
    return JSON.parse(document.getElementById("photo-check-data").textContent);
  } catch (_) {
    return null;
  }
}

/** Return the great-circle distance in metres (haversine: plenty to tell "far"). */
export function metresBetween(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const s = Math.sin(dLat / 2) ** 2
    + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_M * Math.asin(Math.min(1, Math.sqrt(s)));
}

/** Return {taken, metres, fromFix} for what is far off in a prepared photo, or null.
 *  `fix` ({lat, lon, accuracy_m}) is the phone's location, when it has one: as on the server,
 *  the photo's place is then compared with it, else with the village centre. */
export function concerns(photo, visitTime, fix = null, limits = pageLimits()) {
  if (!limits) return null;
  const found = {};
  if (photo.taken_at) {
    // EXIF has no zone: the camera's clock is read as the phone's local time.
    const taken = new Date(photo.taken_at);
    if (!Number.isNaN(taken.getTime())
        && Math.abs(taken - visitTime) > limits.max_hours * 3_600_000) found.taken = taken;
  }
  const place = photo.lat != null && photo.lon != null ? { lat: photo.lat, lon: photo.lon } : null;
  if (place && fix && fix.lat != null && fix.lon != null) {
    const credit = Math.min(Math.max(fix.accuracy_m || 0, 0), limits.max_accuracy_credit_m);
    const metres = metresBetween(fix, place);
    if (metres > limits.fix_max_m + credit) Object.assign(found, { metres, fromFix: true });
  } else if (place && limits.village) {
    const metres = metresBetween(limits.village, place);
    if (metres > limits.max_m) found.metres = metres;
  }
  return found.taken || found.metres ? found : null;
}

function whenText(taken, visitTime) {
  return taken.getFullYear() !== visitTime.getFullYear()
    ? t("photo_year", { year: taken.getFullYear() })
    : t("photo_when", { date: shortTime(taken.toISOString()) });
}

function kmText(metres) {
  const km = metres / 1000;
  return new Intl.NumberFormat(document.documentElement.lang || "zh-CN",
    { maximumFractionDigits: km < 10 ? 1 : 0 }).format(km);
}

/** Return the question to ask about `found` (from concerns()). */
export function questionText(found, visitTime) {
  const when = found.taken ? whenText(found.taken, visitTime) : "";
  const km = found.metres ? kmText(found.metres) : "";
  const here = found.fromFix ? "_here" : "";
  if (when && km) return t(`photo_check_both${here}`, { when, km });
  return when ? t("photo_check_time", { when }) : t(`photo_check_place${here}`, { km });
}

/** Ask about one photo in `box`; `remove()` drops it. Return the question's element. */
export function ask(box, found, visitTime, { src = null, remove }) {
  const el = h("div", { class: "photo-check", dataset: { testid: "photo-check" } },
    src ? h("img", { class: "photo-check-thumb", src, alt: "" }) : null,
    h("div", { class: "photo-check-body" },
      h("p", { class: "photo-check-text" }, questionText(found, visitTime)),
      h("div", { class: "photo-check-actions" },
        h("button", {
          type: "button", class: "btn btn-small", dataset: { testid: "photo-check-keep" },
          onclick: () => el.remove(),
        }, t("photo_check_keep")),
        h("button", {
          type: "button", class: "btn btn-small btn-danger-ghost",
          dataset: { testid: "photo-check-remove" },
          onclick: () => { el.remove(); remove(); },
        }, t("photo_check_remove")))));
  box.append(el);
  return el;
}
