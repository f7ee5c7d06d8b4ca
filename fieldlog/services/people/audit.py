"""The tamper-evident audit trail: append in the caller's transaction, verify the chain."""
import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import Select, select, text

from fieldlog.extensions import db
from fieldlog.models import AuditEntry, User
from fieldlog.models.base import utcnow
from fieldlog.services.common.bulk import insert_rows
from fieldlog.services.people.audit_labels import ACTION_LABELS
from fieldlog.timefmt import local_midnight_utc

GENESIS = "0" * 64
_LOCK_KEY = 0x6669656C64  # "field": one advisory lock serialises appends on PostgreSQL


_FIELDS = ("id", "at", "actor_id", "actor_name", "action", "object_type", "object_id", "ip",
           "user_agent", "details", "prev_hash")


def _digest(values: dict) -> str:
    """Hash the canonical JSON of an entry's fields (a dict with the _FIELDS keys)."""
    fields = [values[name] for name in _FIELDS]
    fields[1] = fields[1].isoformat(timespec="microseconds")
    canonical = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def entry_hash(entry: AuditEntry) -> str:
    """Return the hash an entry must carry: sha256 over its fields and the previous hash."""
    return _digest({name: getattr(entry, name) for name in _FIELDS})


def _request_facts() -> tuple[str, str]:
    if not has_request_context():
        return "", ""
    return (request.remote_addr or "")[:45], (request.user_agent.string or "")[:200]


def _current_actor() -> User | None:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def _details_json(details: dict | None) -> str:
    return json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str)


def _lock_head() -> tuple[int, str]:
    """Take the chain's write lock for this transaction and return (last id, last hash).

    PostgreSQL: an advisory transaction lock. SQLite: a no-op write takes the database's
    write lock (the driver begins the transaction before it), so no one appends between our
    read of the head and our commit. The unique prev_hash is the last line of defence.
    """
    session = db.session
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    else:
        session.execute(text("UPDATE audit_log SET id = id WHERE 0"))
    head = session.execute(
        select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    return (head.id, head.hash) if head else (0, GENESIS)


def _chain(items: list[dict], actor: User | None, actor_name: str | None) -> list[dict]:
    """Turn (action, object_type, object_id, details) items into chained entry rows."""
    actor = actor or _current_actor()
    name = (actor_name if actor_name is not None else actor.username if actor else "")[:64]
    ip, agent = _request_facts()
    last_id, last_hash = _lock_head()
    now = utcnow()
    rows = []
    for item in items:
        row = {
            "id": last_id + 1, "at": now, "actor_id": actor.id if actor else None,
            "actor_name": name, "action": item["action"],
            "object_type": item.get("object_type", ""),
            "object_id": str(item.get("object_id", ""))[:64], "ip": ip, "user_agent": agent,
            "details": _details_json(item.get("details")), "prev_hash": last_hash,
        }
        row["hash"] = _digest(row)
        last_id, last_hash = row["id"], row["hash"]
        rows.append(row)
    return rows


def record(action: str, *, actor: User | None = None, object_type: str = "",
           object_id: str | int = "", details: dict | None = None,
           actor_name: str | None = None) -> AuditEntry:
    """Append an entry in the current transaction; the caller's commit makes it (and it) stick."""
    [row] = _chain([{"action": action, "object_type": object_type, "object_id": object_id,
                     "details": details}], actor, actor_name)
    entry = AuditEntry(**row)
    db.session.add(entry)
    db.session.flush()
    return entry


def record_many(items: list[dict], *, actor: User | None = None,
                actor_name: str | None = None) -> int:
    """Append many entries in one bulk insert, in the current transaction; return how many.

    Each item is a dict with `action` and optionally `object_type`, `object_id`, `details`;
    all share one actor, time and request. The chain's head is read once.
    """
    if not items:
        return 0
    rows = _chain(items, actor, actor_name)
    insert_rows(AuditEntry.__table__, rows)  # Core (COPY on PostgreSQL): no ORM work per row
    return len(rows)


@dataclass
class Verdict:
    ok: bool
    checked: int
    head_id: int | None
    head_hash: str | None
    problems: list[str]


def verify(anchor: tuple[int, str] | None = None, batch: int = 5000) -> Verdict:
    """Walk the chain in order; report altered, deleted or reordered entries.

    An `anchor` (id, hash) recorded earlier outside the database also catches entries cut
    off the end, which a chain alone cannot show.
    """
    problems: list[str] = []
    expected_prev, expected_id, checked, last = GENESIS, 1, 0, None
    anchor_seen = anchor is None
    after = 0
    while True:
        # Plain rows, not ORM objects: nothing piles up in the session's identity map.
        rows = db.session.execute(select(AuditEntry.__table__).where(AuditEntry.id > after)
                                  .order_by(AuditEntry.id).limit(batch)).all()
        if not rows:
            break
        for entry in rows:
            if entry.id != expected_id:
                gap = (f"entry {expected_id} is missing" if entry.id == expected_id + 1
                       else f"entries {expected_id}–{entry.id - 1} are missing")
                problems.append(gap)
            if entry.prev_hash != expected_prev:
                problems.append(f"entry {entry.id} does not follow the entry before it")
            if entry_hash(entry) != entry.hash:
                problems.append(f"entry {entry.id} was altered after it was written")
            if anchor and entry.id == anchor[0]:
                anchor_seen = True
                if entry.hash != anchor[1]:
                    problems.append(f"entry {entry.id} differs from the recorded anchor")
            expected_prev, expected_id, last = entry.hash, entry.id + 1, entry
            checked += 1
        after = rows[-1].id
    if not anchor_seen:
        problems.append(f"anchored entry {anchor[0]} is gone: entries were cut off the end")
    return Verdict(not problems, checked, last.id if last else None,
                   last.hash if last else None, problems)


@dataclass
class AuditFilters:
    """A search of the trail: exact actor username, action, object; local dates, inclusive."""

    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_args(cls, args) -> "AuditFilters":
        """Read the filters from a query string; an unreadable date is ignored."""
        def day(name: str) -> date | None:
            value = args.get(name, "").strip()
            try:
                return date.fromisoformat(value) if value else None
            except ValueError:
                return None

        return cls(*(args.get(name, "").strip()[:64]
                     for name in ("actor", "action", "object_type", "object_id")),
                   day("from"), day("to"))

    def as_dict(self) -> dict:
        """Return the filters as query-string arguments (empty ones left out)."""
        values = {"actor": self.actor, "action": self.action, "object_type": self.object_type,
                  "object_id": self.object_id, "from": self.date_from, "to": self.date_to}
        return {k: str(v) for k, v in values.items() if v}


def filtered_entries(filters: AuditFilters) -> Select:
    """Select the entries matching the filters (unordered)."""
    query = select(AuditEntry)
    for column, value in ((AuditEntry.actor_name, filters.actor),
                          (AuditEntry.action, filters.action),
                          (AuditEntry.object_type, filters.object_type),
                          (AuditEntry.object_id, filters.object_id)):
        if value:
            query = query.where(column == value)
    if filters.date_from:
        query = query.where(AuditEntry.at >= local_midnight_utc(filters.date_from))
    if filters.date_to:
        query = query.where(AuditEntry.at < local_midnight_utc(filters.date_to + timedelta(days=1)))
    return query


@dataclass
class AuditRow:
    entry: AuditEntry
    details: list[tuple[str, str]]  # (key, value as shown), long id lists shortened


@dataclass
class AuditPage:
    rows: list[AuditRow]
    newer_than: int | None  # cursor for the page of newer entries, if there is one
    older_than: int | None  # cursor for the page of older entries, if there is one


def _shown(value) -> str:
    if isinstance(value, list):
        more = f" … (+{len(value) - 5})" if len(value) > 5 else ""
        return ", ".join(map(str, value[:5])) + more
    if isinstance(value, dict):
        shown = ", ".join(f"{k}={_shown(v)}" for k, v in value.items() if v not in (None, ""))
        return shown or "—"
    return "—" if value is None else str(value)


def _details(text_value: str) -> list[tuple[str, str]]:
    try:
        value = json.loads(text_value)
    except ValueError:
        return [("?", text_value)]
    if not isinstance(value, dict):
        return [("?", _shown(value))]
    return [(key, _shown(item)) for key, item in sorted(value.items())]


def search(filters: AuditFilters, *, before: int | None = None, after: int | None = None,
           per_page: int = 50) -> AuditPage:
    """Return one page of matching entries, newest first, by keyset on the entry id."""
    query = filtered_entries(filters)
    if after is not None:
        found = list(db.session.scalars(query.where(AuditEntry.id > after)
                                        .order_by(AuditEntry.id).limit(per_page + 1)))
        more_newer, entries = len(found) > per_page, found[:per_page][::-1]
        more_older = bool(entries) and _exists(query.where(AuditEntry.id < entries[-1].id))
    else:
        page = query.where(AuditEntry.id < before) if before is not None else query
        found = list(db.session.scalars(page.order_by(AuditEntry.id.desc()).limit(per_page + 1)))
        more_older, entries = len(found) > per_page, found[:per_page]
        more_newer = bool(entries) and before is not None and _exists(
            query.where(AuditEntry.id > entries[0].id))
    return AuditPage([AuditRow(e, _details(e.details)) for e in entries],
                     entries[0].id if more_newer else None,
                     entries[-1].id if more_older else None)


def _exists(query: Select) -> bool:
    return db.session.scalar(select(query.exists())) or False


def action_choices() -> list[tuple[str, str]]:
    """Return (code, label) of every action known here or found in the trail."""
    found = set(db.session.scalars(select(AuditEntry.action).distinct()))
    return [(code, str(ACTION_LABELS.get(code, code)))
            for code in sorted(found | set(ACTION_LABELS))]


def head() -> tuple[int, str] | None:
    """Return (id, hash) of the newest entry, the anchor to write down."""
    row = db.session.execute(select(AuditEntry.id, AuditEntry.hash)
                             .order_by(AuditEntry.id.desc()).limit(1)).first()
    return (row.id, row.hash) if row else None


def verify_and_record(user: User, anchor: tuple[int, str] | None = None) -> Verdict:
    """Verify the whole trail for a user of the admin page; the check itself is audited."""
    verdict = verify(anchor)
    record("audit.verify", actor=user, object_type="audit_log",
           details={"ok": verdict.ok, "checked": verdict.checked, "head_id": verdict.head_id,
                    "head_hash": verdict.head_hash, "problems": len(verdict.problems),
                    "anchor": f"{anchor[0]}:{anchor[1]}" if anchor else None})
    db.session.commit()
    return verdict


def parse_anchor(value: str | None) -> tuple[int, str] | None:
    """Parse "ID:HASH" as printed by a verification; None if empty; ValueError if malformed."""
    value = (value or "").strip()
    if not value:
        return None
    entry_id, _sep, digest = value.partition(":")
    digest = digest.strip().lower()
    if not entry_id.strip().isdigit() or len(digest) != 64 or \
            any(c not in "0123456789abcdef" for c in digest):
        raise ValueError("anchor must be ID:HASH")
    return int(entry_id), digest
