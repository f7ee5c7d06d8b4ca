"""Integrity flags on visits: computed when a record arrives or changes, explained by reviewers.

Flags inform; they never stop a record from being saved. The callers (sync, photo upload)
run these after their own commit and guard them, so a failure here never loses a record.
Photo flags (near-duplicates, EXIF) are in integrity_photos; the rules in integrity_rules.
"""
from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from fieldlog.errors import Conflict, Forbidden, Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import Flag, Household, OrgUnit, Photo, User, Visit
from fieldlog.models.base import utcnow
from fieldlog.permissions import REVIEWER_ROLES, scope_village_ids
from fieldlog.services.integrity import rules
from fieldlog.services.integrity.text import describe, kind_label
from fieldlog.services.people import audit

__all__ = ["compute_visit_flags", "describe", "explain_flag", "flag_for_viewer", "flags_for",
           "kind_label"]

MAX_REASON = 500
VISIT_CHUNK = 500  # a sync batch at most; larger calls (a backfill of old data) go in chunks
_PARTNER_KINDS = (rules.IMPOSSIBLE_TRAVEL, rules.BACKFILL)
_OWN_KINDS = (*rules.LOCATION_KINDS, *_PARTNER_KINDS, *rules.EXIF_KINDS, *rules.CLOCK_KINDS)


def county_zone() -> ZoneInfo:
    """Return the zone camera clocks and days are read in (the app's display zone)."""
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")


def visit_facts(*where) -> list[rules.VisitFacts]:
    """Load visits with their author's name, village centre and household place, in one query."""
    rows = db.session.execute(
        select(Visit.id, Visit.author_id, Visit.village_id, Visit.household_id,
               Visit.occurred_at, Visit.device_created_at, Visit.lat, Visit.lon,
               Visit.accuracy_m, User.display_name, OrgUnit.name, OrgUnit.lat, OrgUnit.lon,
               OrgUnit.geofence_m, Household.lat, Household.lon, OrgUnit.boundary,
               Visit.clock_offset_s)
        .join(User, User.id == Visit.author_id).join(OrgUnit, OrgUnit.id == Visit.village_id)
        .join(Household, Household.id == Visit.household_id).where(*where))
    return [rules.VisitFacts(*row) for row in rows]


def photo_facts(photo: Photo) -> rules.PhotoFacts:
    """Return the EXIF facts of a stored photo."""
    return rules.PhotoFacts(photo.id, photo.taken_at, photo.lat, photo.lon, photo.camera_make,
                            photo.camera_model)


@dataclass(frozen=True)
class Stored:
    """A stored flag, as much of it as recomputing needs."""

    id: int
    params: str
    explained: bool


def load_flags(record_ids: Iterable[str], kinds: Iterable[str]) -> dict[tuple[str, str], Stored]:
    """Return the stored visit flags of these records and kinds, keyed by (record id, kind)."""
    record_ids = sorted(set(record_ids))
    if not record_ids:
        return {}
    rows = db.session.execute(
        select(Flag.id, Flag.record_id, Flag.kind, Flag.params, Flag.explained_at).where(
            Flag.record_type == "visit", Flag.record_id.in_(record_ids),
            Flag.kind.in_(list(kinds))))
    return {(r.record_id, r.kind): Stored(r.id, r.params, r.explained_at is not None)
            for r in rows}


def apply_flags(desired: dict[tuple[str, str], dict], recomputed: set[tuple[str, str]],
                existing: dict[tuple[str, str], Stored],
                owners: dict[str, tuple[int, int]]) -> int:
    """Write flags: insert new ones, refresh numbers, drop unexplained ones that no longer apply.

    `recomputed` holds the (record, kind) pairs computed in full; a desired flag outside it is
    only added if missing. Explained flags stay, explanation and all. One statement per kind of
    change. Returns the number of flags inserted or changed.
    """
    inserts, updates = [], []
    for key, params in desired.items():
        text = json.dumps(params, ensure_ascii=False, sort_keys=True)
        flag = existing.get(key)
        if flag is None:
            author_id, village_id = owners[key[0]]
            inserts.append({"record_type": "visit", "record_id": key[0], "kind": key[1],
                            "author_id": author_id, "village_id": village_id, "params": text,
                            "created_at": utcnow()})
        elif key in recomputed and flag.params != text:
            updates.append({"id": flag.id, "params": text})
    stale = [f.id for key, f in existing.items()
             if key in recomputed and key not in desired and not f.explained]
    if stale:
        db.session.execute(delete(Flag).where(Flag.id.in_(stale)))
    if updates:
        db.session.execute(update(Flag), updates)  # by primary key: one executemany
    if inserts:
        db.session.execute(insert(Flag), inserts)
    return len(inserts) + len(updates)


def chunks(ids: list[str], size: int) -> list[list[str]]:
    """Split ids into chunks, so no statement exceeds the database's parameter limits."""
    return [ids[n:n + size] for n in range(0, len(ids), size)]


def commit_retrying(work: Callable[[], int]) -> int:
    """Run `work` and commit; if a concurrent computation inserted the same flag, redo it once."""
    try:
        written = work()
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        written = work()
        db.session.commit()
    return written


def compute_visit_flags(visit_ids: list[str]) -> int:
    """Compute and store the flags of these visits and of the records they pair with; commit.

    A handful of queries for any sync batch (up to VISIT_CHUNK visits; more go in chunks).
    Returns the number of flags inserted or changed.
    """
    ids = sorted({str(i) for i in visit_ids})
    return sum(commit_retrying(lambda chunk=chunk: _visit_flags(chunk))
               for chunk in chunks(ids, VISIT_CHUNK))


def _visit_flags(ids: list[str]) -> int:
    targets = visit_facts(Visit.id.in_(ids))
    if not targets:
        return 0
    existing = load_flags(ids, _OWN_KINDS)
    neighbours = _neighbourhood(targets, existing)
    by_id = {v.id: v for v in neighbours} | {v.id: v for v in targets}
    target_ids = {v.id for v in targets}

    pairs = rules.adjacent_pairs(by_id.values())
    travel = rules.travel_flags(pairs)
    travel_scope = set(target_ids)
    for a, b in pairs:  # the records next to a target have a new neighbour
        if a.id in target_ids or b.id in target_ids:
            travel_scope |= {a.id, b.id}
    for record_id in target_ids:  # and former partners may have lost one
        flag = existing.get((record_id, rules.IMPOSSIBLE_TRAVEL))
        travel_scope |= {p[0] for p in _params(flag).get("partners", []) if p[0] in by_id}

    backfill = rules.backfill_flags(by_id.values())
    backfill_scope = _near_in_creation(by_id.values(), targets)

    photos: dict[str, list[rules.PhotoFacts]] = {i: [] for i in target_ids}
    for row in db.session.execute(
            select(Photo.record_id, Photo.id, Photo.taken_at, Photo.lat, Photo.lon,
                   Photo.camera_make, Photo.camera_model)
            .where(Photo.record_type == "visit", Photo.record_id.in_(sorted(target_ids)))
            .order_by(Photo.received_at, Photo.id)):
        photos[row[0]].append(rules.PhotoFacts(*row[1:]))

    desired: dict[tuple[str, str], dict] = {}
    recomputed = {(i, k) for i in target_ids
                  for k in (*rules.LOCATION_KINDS, *rules.EXIF_KINDS, *rules.CLOCK_KINDS)}
    zone = county_zone()
    for v in targets:
        for kind, params in {**rules.location_flags(v), **rules.clock_flags(v),
                             **rules.exif_flags(v, photos[v.id], zone)}.items():
            desired[(v.id, kind)] = params
    for scope, found, kind in ((travel_scope, travel, rules.IMPOSSIBLE_TRAVEL),
                               (backfill_scope, backfill, rules.BACKFILL)):
        recomputed |= {(i, kind) for i in scope}
        desired |= {(i, kind): found[i] for i in scope if i in found}

    partners = (travel_scope | backfill_scope) - target_ids
    existing |= load_flags(partners, _PARTNER_KINDS)
    owners = {i: (v.author_id, v.village_id) for i, v in by_id.items()}
    return apply_flags(desired, recomputed, existing, owners)


def _near_in_creation(rows: Iterable[rules.VisitFacts],
                      targets: list[rules.VisitFacts]) -> set[str]:
    """Return the records created within a burst's reach of a target by the same author."""
    created: dict[int, list[datetime]] = {}
    for t in targets:
        created.setdefault(t.author_id, []).append(t.created_at)
    for times in created.values():
        times.sort()
    near = set()
    for v in rows:
        times = created.get(v.author_id)
        if not times:
            continue
        i = bisect_left(times, v.created_at)
        gaps = [abs(times[j] - v.created_at) for j in (i - 1, i) if 0 <= j < len(times)]
        if min(gaps) <= rules.BACKFILL_CREATED_WITHIN:
            near.add(v.id)
    return near


def _params(flag: Stored | None) -> dict:
    return json.loads(flag.params or "{}") if flag is not None else {}


def _neighbourhood(targets: list[rules.VisitFacts],
                   existing: dict[tuple[str, str], Stored]) -> list[rules.VisitFacts]:
    """Load each author's records near the targets in claimed time or in creation time.

    Two windows wide, so the targets' neighbours (and former partners) are seen with their
    own neighbours too: every record whose flags are recomputed is recomputed exactly.
    """
    claimed: dict[int, list[datetime]] = {}
    created: dict[int, list[datetime]] = {}
    for v in targets:
        claimed.setdefault(v.author_id, []).append(v.occurred_at)
        created.setdefault(v.author_id, []).append(v.created_at)
        flag = existing.get((v.id, rules.IMPOSSIBLE_TRAVEL))
        claimed[v.author_id] += [datetime.fromisoformat(p[1])
                                 for p in _params(flag).get("partners", [])]
    reach, burst = 2 * rules.TRAVEL_WINDOW, 2 * rules.BACKFILL_CREATED_WITHIN
    windows = [and_(Visit.author_id == author, or_(
        Visit.occurred_at.between(min(times) - reach, max(times) + reach),
        Visit.device_created_at.between(min(created[author]) - burst,
                                        max(created[author]) + burst)))
        for author, times in sorted(claimed.items())]
    rows = db.session.execute(
        select(Visit.id, Visit.author_id, Visit.village_id, Visit.household_id,
               Visit.occurred_at, Visit.device_created_at, Visit.lat, Visit.lon,
               Visit.accuracy_m).where(or_(*windows)))
    return [rules.VisitFacts(*row) for row in rows]


# --- reading and explaining ---------------------------------------------------------------------

def flags_for(record_type: str, record_ids: Iterable[str]) -> dict[str, list[Flag]]:
    """Return the flags of each record (unexplained first), in one query."""
    ids = sorted({str(i) for i in record_ids})
    result: dict[str, list[Flag]] = {i: [] for i in ids}
    if not ids:
        return result
    flags = db.session.scalars(
        select(Flag).options(joinedload(Flag.explained_by))
        .where(Flag.record_type == record_type, Flag.record_id.in_(ids),
               Flag.kind.not_in(rules.RETIRED_KINDS))
        .order_by(Flag.explained_at.is_not(None), Flag.id))
    for flag in flags:
        result[flag.record_id].append(flag)
    return result


def flag_for_viewer(user: User, flag_id: int) -> Flag:
    """Return a flag on a record in the user's scope; NotFound otherwise."""
    flag = db.session.scalar(select(Flag).where(
        Flag.id == flag_id, Flag.village_id.in_(scope_village_ids(user)),
        Flag.kind.not_in(rules.RETIRED_KINDS)))
    if flag is None:
        raise NotFound("No such flag in your scope.")
    return flag


def explain_flag(user: User, flag_id: int, reason: str) -> Flag:
    """Mark a flag explained with the reviewer's reason, audit it and commit."""
    if user.role not in REVIEWER_ROLES:
        raise Forbidden("Only supervisors and inspectors can explain a flag.")
    flag = flag_for_viewer(user, flag_id)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Please give the reason the flag is explained.",
                      fields={"reason": ["Required."]})
    if len(reason) > MAX_REASON:
        raise Invalid(f"The reason is longer than {MAX_REASON} characters.",
                      fields={"reason": [f"At most {MAX_REASON} characters."]})
    if flag.explained_at is not None:
        raise Conflict("This flag has already been explained.")
    flag.explained_at = utcnow()
    flag.explained_by_id = user.id
    flag.explanation = reason
    audit.record("flag.explain", actor=user, object_type="flag", object_id=flag.id, details={
        "record_type": flag.record_type, "record_id": flag.record_id, "kind": flag.kind,
        "reason": reason})
    db.session.commit()
    return flag

