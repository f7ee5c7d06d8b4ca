"""The tamper-evident audit trail: append in the caller's transaction, verify the chain."""
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import select, text

from fieldlog.extensions import db
from fieldlog.models import AuditEntry, User
from fieldlog.models.base import utcnow

GENESIS = "0" * 64
_LOCK_KEY = 0x6669656C64  # "field": one advisory lock serialises appends on PostgreSQL


def _canonical(entry: AuditEntry) -> str:
    return json.dumps([
        entry.id, entry.at.isoformat(timespec="microseconds"), entry.actor_id, entry.actor_name,
        entry.action, entry.object_type, entry.object_id, entry.ip, entry.user_agent,
        entry.details, entry.prev_hash,
    ], ensure_ascii=False, separators=(",", ":"))


def entry_hash(entry: AuditEntry) -> str:
    """Return the hash an entry must carry: sha256 over its fields and the previous hash."""
    return hashlib.sha256(_canonical(entry).encode()).hexdigest()


def _request_facts() -> tuple[str, str]:
    if not has_request_context():
        return "", ""
    return (request.remote_addr or "")[:45], (request.user_agent.string or "")[:200]


def _current_actor() -> User | None:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def record(action: str, *, actor: User | None = None, object_type: str = "",
           object_id: str | int = "", details: dict | None = None,
           actor_name: str | None = None) -> AuditEntry:
    """Append an entry in the current transaction; the caller's commit makes it (and it) stick."""
    session = db.session
    session.flush()  # hold the write lock (SQLite) before reading the chain's head
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    head = session.execute(
        select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    actor = actor or _current_actor()
    ip, agent = _request_facts()
    entry = AuditEntry(
        id=(head.id + 1) if head else 1, at=utcnow(), actor_id=actor.id if actor else None,
        actor_name=(actor_name if actor_name is not None else actor.username if actor else "")[:64],
        action=action, object_type=object_type, object_id=str(object_id)[:64], ip=ip,
        user_agent=agent, prev_hash=head.hash if head else GENESIS,
        details=json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str),
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    session.flush()
    return entry


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
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.id > after)
                                  .order_by(AuditEntry.id).limit(batch)).all()
        if not rows:
            break
        for entry in rows:
            if entry.id != expected_id:
                problems.append(f"entries {expected_id}–{entry.id - 1} are missing")
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
        db.session.expunge_all()
    if not anchor_seen:
        problems.append(f"anchored entry {anchor[0]} is gone: entries were cut off the end")
    return Verdict(not problems, checked, last.id if last else None,
                   last.hash if last else None, problems)


def parse_time(value: str | None) -> datetime | None:
    """Parse a YYYY-MM-DD filter value from the audit search form."""
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
