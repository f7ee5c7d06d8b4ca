// What a queued or recently sent record is called, in the language of the page showing it.
// The outbox keeps only data in `label` (what the cadre typed, codes, dates); the words
// around them are looked up here, so a record saved in Chinese reads in English after a
// switch, and the type word shown as a tag is not repeated in the title.
//
// label: {head_name, house_label, title} (typed text, any record) plus, by type,
//   meeting {meeting_type}, action {action_type}, ledger_item {meeting_type} (a villagers' say),
//   day_mark {day, mark}, leave {start, end, withdraw}.

import { t } from "./ui.js";

function known(key, vars) {
  const text = t(key, vars);
  return text === key ? "" : text;
}

function dated(l) {
  return known(l.withdraw ? "label_withdraw" : "label_dates", { start: l.start, end: l.end });
}

const BY_TYPE = {
  meeting: (l) => ({ title: l.head_name || known(`meeting_type_${l.meeting_type}`), sub: l.house_label }),
  action: (l) => ({ title: l.head_name, sub: known(`action_type_${l.action_type}`) }),
  day_mark: (l) => ({ title: [l.day, known(`mark_kind_${l.mark}`)].filter(Boolean).join(" ") }),
  leave: (l) => ({ title: dated(l) }),
  ledger_item: (l) => (l.meeting_type ? { title: l.title || l.head_name,
    sub: known(`meeting_type_${l.meeting_type}`) } : null),
};

/** Return {title, sub} for a record of `type` with the stored `label` (old labels too). */
export function describe(type, label) {
  const l = label || {};
  const coded = BY_TYPE[type] && (l.meeting_type || l.action_type || l.mark || l.start)
    ? BY_TYPE[type](l) : null;
  if (coded && coded.title) return { title: coded.title, sub: coded.sub || "" };
  // Visits and free text: a title when there is one, and whose household it is.
  const title = l.title || l.head_name || "";
  const sub = l.title ? [l.head_name, l.house_label].filter(Boolean).join(" ") : (l.house_label || "");
  return { title, sub };
}
