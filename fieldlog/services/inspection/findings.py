"""What inspections found, for the people who manage cadres: the integrity summary and findings.

Read-only. Every list here is a fixed handful of grouped queries, however many cadres there are.
"""
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased

from fieldlog.errors import NotFound
from fieldlog.extensions import db
from fieldlog.models import CheckTask, Flag, Household, OrgUnit, Photo, PresenceCheck, User, Visit
from fieldlog.permissions import unit_in_scope
from fieldlog.services.inspection.sampling import local_period_utc, scope_unit_for
from fieldlog.services.integrity.rules import RETIRED_KINDS

# Check photos hang off a task, whose id is an integer; Photo.record_id is a UUID, so a task's
# photos use a UUID derived from the task id (record_type "check").
_CHECK_NAMESPACE = uuid.UUID("6a1f8a4e-3c1d-4b8e-9a43-2f6d0c9b7e51")


def check_photo_uuid(task_id: int) -> str:
    """Return the record id a check task's photos are stored under."""
    return str(uuid.uuid5(_CHECK_NAMESPACE, f"check-task:{task_id}"))


@dataclass
class Finding:
    """One finished check of a record, as a supervisor reads it."""

    task_id: int
    record_type: str
    record_id: str
    method: str
    outcome: str
    notes: str
    done_at: datetime
    inspector: str
    flagged: bool
    occurred_at: datetime | None = None
    household: str = ""
    house_label: str = ""
    village: str = ""
    photos: list[Photo] = field(default_factory=list)


def _findings(where) -> list[Finding]:
    inspector = aliased(User)
    rows = db.session.execute(
        select(CheckTask, inspector.display_name, Visit.occurred_at, Household.head_name,
               Household.house_label, OrgUnit.name)
        .join(inspector, inspector.id == CheckTask.done_by_id)
        .join(OrgUnit, OrgUnit.id == CheckTask.village_id)
        .outerjoin(Visit, Visit.id == CheckTask.record_id)
        .outerjoin(Household, Household.id == CheckTask.household_id)
        .where(CheckTask.done_at.is_not(None), *where)
        .order_by(CheckTask.done_at.desc(), CheckTask.id.desc())).all()
    found = [Finding(task.id, task.record_type, str(task.record_id), task.method, task.outcome,
                     task.notes, task.done_at, name, task.flagged, occurred, head or "",
                     label or "", village)
             for task, name, occurred, head, label, village in rows]
    by_key = {check_photo_uuid(f.task_id): f for f in found}
    if by_key:
        for photo in db.session.scalars(
                select(Photo).where(Photo.record_type == "check",
                                    Photo.record_id.in_(list(by_key)))
                .order_by(Photo.received_at, Photo.id)):
            by_key[str(photo.record_id)].photos.append(photo)
    return found


def findings_for_records(record_ids: list[str]) -> list[Finding]:
    """Return the finished checks of these records, newest first.

    The caller has already established that the viewer may see the records.
    """
    if not record_ids:
        return []
    return _findings([CheckTask.record_id.in_([str(r) for r in record_ids])])


@dataclass
class PresenceFinding:
    check: PresenceCheck
    inspector: str
    answers: list[dict]


@dataclass
class CadreFindings:
    cadre: User
    village: OrgUnit
    checks: list[Finding]
    presence: list[PresenceFinding]


def findings_for_cadre(cadre_id: int, *, viewer: User) -> CadreFindings:
    """Return the finished checks of a cadre's records and their presence checks, in scope."""
    cadre = db.session.get(User, cadre_id)
    if cadre is None or cadre.role != "secretary" or not unit_in_scope(viewer, cadre.scope_unit):
        raise NotFound("No such cadre in your scope.")
    in_scope = select(OrgUnit.id).where(OrgUnit.path.startswith(viewer.scope_unit.path,
                                                                autoescape=True))
    checks = _findings([CheckTask.author_id == cadre.id, CheckTask.village_id.in_(in_scope)])
    inspector = aliased(User)
    presence = [PresenceFinding(check, name, json.loads(check.answers or "[]"))
                for check, name in db.session.execute(
                    select(PresenceCheck, inspector.display_name)
                    .join(inspector, inspector.id == PresenceCheck.inspector_id)
                    .where(PresenceCheck.cadre_id == cadre.id,
                           PresenceCheck.village_id.in_(in_scope))
                    .order_by(PresenceCheck.asked_at.desc(), PresenceCheck.id.desc()))]
    return CadreFindings(cadre, cadre.scope_unit, checks, presence)


# ---------- the integrity summary ----------


@dataclass
class Row:
    """Figures of one cadre or one township."""

    key: int
    name: str
    place: str = ""
    township_id: int | None = None
    records: int = 0
    unlocated: int = 0  # records without a GPS fix: information, never a flag
    flags: dict[str, int] = field(default_factory=dict)
    unexplained: int = 0
    checks: dict[str, int] = field(default_factory=dict)  # outcome → count; None → pending
    presence: dict[str, int] = field(default_factory=dict)

    @property
    def flag_total(self) -> int:
        return sum(self.flags.values())

    @property
    def checks_done(self) -> int:
        return sum(n for outcome, n in self.checks.items() if outcome)

    def add(self, other: "Row") -> None:
        self.records += other.records
        self.unlocated += other.unlocated
        self.unexplained += other.unexplained
        for mine, theirs in ((self.flags, other.flags), (self.checks, other.checks),
                             (self.presence, other.presence)):
            for key, n in theirs.items():
                mine[key] = mine.get(key, 0) + n


@dataclass
class Summary:
    unit: OrgUnit
    start: date
    end: date
    townships: list[Row]
    cadres: list[Row]
    total: Row
    kinds: list[str]


def integrity_summary(user: User, scope_unit_id: int | None,
                      period: tuple[date, date]) -> Summary:
    """Sum records, flags by kind, checks by outcome and presence checks per cadre and township."""
    unit = scope_unit_for(user, scope_unit_id)
    start, end = period
    since, until = local_period_utc(start, end)
    villages = {v.id: v for v in db.session.scalars(
        select(OrgUnit).where(OrgUnit.kind == "village",
                              OrgUnit.path.startswith(unit.path, autoescape=True)))}
    townships = {t.id: t for t in db.session.scalars(
        select(OrgUnit).where(OrgUnit.id.in_({v.parent_id for v in villages.values()})))}
    in_scope = list(villages)
    visits = (Visit.village_id.in_(in_scope), Visit.occurred_at >= since,
              Visit.occurred_at < until)
    records = db.session.execute(
        select(Visit.author_id, func.count(), func.sum(case((Visit.lat.is_(None), 1), else_=0)))
        .where(*visits).group_by(Visit.author_id)).all()
    flags = db.session.execute(
        select(Visit.author_id, Flag.kind, func.count(),
               func.sum(case((Flag.explained_at.is_(None), 1), else_=0)))
        .join(Visit, (Visit.id == Flag.record_id) & (Flag.record_type == "visit"))
        .where(*visits, Flag.kind.not_in(RETIRED_KINDS))
        .group_by(Visit.author_id, Flag.kind)).all()
    checks = db.session.execute(
        select(Visit.author_id, CheckTask.outcome, func.count())
        .join(Visit, (Visit.id == CheckTask.record_id) & (CheckTask.record_type == "visit"))
        .where(*visits).group_by(Visit.author_id, CheckTask.outcome)).all()
    presence = db.session.execute(
        select(PresenceCheck.cadre_id, PresenceCheck.outcome, func.count())
        .where(PresenceCheck.village_id.in_(in_scope), PresenceCheck.asked_at >= since,
               PresenceCheck.asked_at < until)
        .group_by(PresenceCheck.cadre_id, PresenceCheck.outcome)).all()
    authors = {r[0] for r in records} | {r[0] for r in presence}
    cadres = {u.id: u for u in db.session.scalars(select(User).where(
        (User.id.in_(authors)) | ((User.role == "secretary") & User.scope_unit_id.in_(in_scope))))}

    rows: dict[int, Row] = {}
    for cadre in cadres.values():
        village = villages.get(cadre.scope_unit_id)
        rows[cadre.id] = Row(cadre.id, cadre.display_name, village.name if village else "",
                             village.parent_id if village else None)
    for author_id, n, unlocated in records:
        rows[author_id].records, rows[author_id].unlocated = n, int(unlocated or 0)
    for author_id, kind, n, unexplained in flags:
        rows[author_id].flags[kind] = n
        rows[author_id].unexplained += int(unexplained or 0)
    for author_id, outcome, n in checks:
        rows[author_id].checks[outcome] = n
    for cadre_id, outcome, n in presence:
        rows[cadre_id].presence[outcome] = n

    by_township = {t.id: Row(t.id, t.name) for t in townships.values()}
    total = Row(unit.id, unit.name)
    for row in rows.values():
        if row.township_id in by_township:
            by_township[row.township_id].add(row)
        total.add(row)
    cadre_rows = sorted(rows.values(), key=lambda r: (
        townships[r.township_id].code if r.township_id in townships else "", r.place, r.name))
    kinds = sorted({kind for _a, kind, _n, _u in flags})
    return Summary(unit, start, end,
                   sorted(by_township.values(), key=lambda r: townships[r.key].code),
                   cadre_rows, total, kinds)
