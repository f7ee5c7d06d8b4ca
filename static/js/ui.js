// Small page helpers: translated strings from the page, a toast, element building, dates.

let strings = null;

/** Return the translated string `key` with {name} placeholders filled from `vars`.
 *  A count of one ({n} is 1) takes the singular `key_one` when the page gives it (ngettext). */
export function t(key, vars = {}) {
  if (!strings) {
    strings = {};
    // The shared strings of base.html, then a page's own (<script id="i18n-page">).
    for (const id of ["i18n", "i18n-page"]) {
      try {
        Object.assign(strings, JSON.parse(document.getElementById(id).textContent));
      } catch (_) { /* absent */ }
    }
  }
  const one = String(vars.n) === "1" && strings[`${key}_one`];
  const text = one || strings[key] || key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** Build an element: h("li", {class: "x", dataset: {id: 1}}, child, "text", ...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "text") el.textContent = value;
    else if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let toastTimer = null;

/** Show a short message at the bottom; `action` = {label, href} adds a link. */
export function toast(message, { action = null, ms = 4000 } = {}) {
  const box = document.getElementById("toast");
  if (!box) return;
  box.querySelector(".toast-text").textContent = message;
  const link = box.querySelector(".toast-action");
  if (action) {
    link.textContent = action.label;
    link.href = action.href;
    link.hidden = false;
  } else {
    link.hidden = true;
  }
  box.hidden = false;
  box.classList.remove("is-leaving");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    box.classList.add("is-leaving");
    toastTimer = setTimeout(() => { box.hidden = true; }, 250);
  }, ms);
}

function locale() {
  return document.documentElement.lang || "zh-CN";
}

/** Format an ISO time for a list: "11月21日 14:32" / "Nov 21, 2:32 PM". */
export function shortTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const sameYear = d.getFullYear() === new Date().getFullYear();
  return new Intl.DateTimeFormat(locale(), {
    year: sameYear ? undefined : "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit",
  }).format(d);
}

/** Format when something happened for "last synced": "今天 18:42", "昨天 09:05", else a date. */
export function syncedTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const time = new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit" }).format(d);
  const day = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const days = Math.round((day(new Date()) - day(d)) / 86_400_000);
  if (days === 0) return t("today_at", { t: time });
  if (days === 1) return t("yesterday_at", { t: time });
  return shortTime(iso);
}

/** Return the local "YYYY-MM-DDTHH:MM" a datetime-local input wants. */
export function localInputValue(date = new Date()) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
    + `T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
