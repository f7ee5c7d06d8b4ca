"""Spot-check samples: seeded, reproducible, stratified by cadre, weighted toward flagged records.

How a sample is drawn (the same seed and the same data always give the same sample, on SQLite
and PostgreSQL alike):

1. The population is every visit in the scope whose device time falls, as a local date in the
   display zone (Asia/Shanghai), inside the period. It is ordered by record id in Python, so the
   database's collation never matters.
2. Every cadre with records gets one task; the rest of the size is shared out in proportion to
   each cadre's record count (largest remainder, ties to the lower user id), never more than a
   cadre has. A size smaller than the number of cadres is refused with the minimum in the
   message: a sample that leaves a cadre out is not the fair sample the county asked for.
3. `random.Random(seed)` gives each record, in id order, a key u^(1/w) (Efraimidis–Spirakis),
   where w is `flag_weight` for a record with an unexplained integrity flag and 1 otherwise;
   each cadre's records with the largest keys are taken: weighted sampling without replacement.
"""
import random
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import has_request_context
from flask_babel import get_timezone, gettext
from flask_babel import ngettext as babel_ngettext
from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from fieldlog.errors import Forbidden, Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import CheckTask, Flag, Household, OrgUnit, Sample, User, Visit
from fieldlog.permissions import unit_in_scope
from fieldlog.services.integrity.rules import RETIRED_KINDS
from fieldlog.services.people import audit
from fieldlog.timefmt import to_utc_naive

INSPECTOR_ROLES = ("inspector", "admin")
MAX_SIZE = 500
MAX_PERIOD_DAYS = 366  # a calendar year, leap or not, counted inclusively
MAX_FLAG_WEIGHT = 20.0
MAX_SEED = 10**9 - 1  # what secrets.randbelow(10**9) gives; fits the 32-bit seed column


def translated(message: str, **params) -> str:
    """Translate a message for the person asking (in a request); elsewhere keep the English."""
    if has_request_context():
        return gettext(message, **params)
    return message % params if params else message


_ = translated  # so `pybabel extract` finds the messages


def ngettext(singular: str, plural: str, num: int, **params) -> str:
    """Translate a count's message like `translated`, in the singular or the plural."""
    if has_request_context():
        return babel_ngettext(singular, plural, num, **params)
    return (singular if num == 1 else plural) % {"num": num, **params}


@dataclass(frozen=True)
class Candidate:
    """A record that may be drawn: just the facts the draw and the task need."""

    record_id: str
    author_id: int
    village_id: int
    household_id: str | None
    flagged: bool


def local_period_utc(start: date, end: date) -> tuple[datetime, datetime]:
    """Return [first instant of `start`, first instant after `end`) in the display zone, as UTC."""
    zone = get_timezone()
    return (to_utc_naive(datetime.combine(start, time.min, tzinfo=zone)),
            to_utc_naive(datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)))


def scope_unit_for(user: User, scope_unit_id: int | None) -> OrgUnit:
    """Return the unit to work in: the user's own scope by default; refuse one outside it."""
    if not scope_unit_id:
        return user.scope_unit
    unit = db.session.get(OrgUnit, scope_unit_id)
    if unit is None:
        raise NotFound("No such unit.")
    if not unit_in_scope(user, unit):
        raise Forbidden(_("That unit lies outside your scope."))
    return unit


def _validate(size: int, period_start: date, period_end: date, flag_weight: float) -> None:
    fields = {}
    if not isinstance(size, int) or not 1 <= size <= MAX_SIZE:
        fields["size"] = [_("The size must be a whole number from 1 to %(max)s.", max=MAX_SIZE)]
    if period_start > period_end:
        fields["period_start"] = [_("The period must start on or before its end.")]
    elif (period_end - period_start).days >= MAX_PERIOD_DAYS:
        fields["period_end"] = [_("The period can be at most one year long.")]
    if not 1.0 <= flag_weight <= MAX_FLAG_WEIGHT:
        fields["flag_weight"] = [_("The flag weight must be from 1 to %(max)s.",
                                   max=f"{MAX_FLAG_WEIGHT:g}")]
    if fields:
        raise Invalid(" ".join(message for messages in fields.values() for message in messages),
                      fields=fields)


def population(unit: OrgUnit, period_start: date, period_end: date) -> list[Candidate]:
    """Return the visits of the unit's villages in the local-date period, ordered by id."""
    since, until = local_period_utc(period_start, period_end)
    flagged = exists().where(Flag.record_type == "visit", Flag.record_id == Visit.id,
                             Flag.explained_at.is_(None), Flag.kind.not_in(RETIRED_KINDS))
    rows = db.session.execute(
        select(Visit.id, Visit.author_id, Visit.village_id, Visit.household_id,
               flagged.label("flagged"))
        .join(OrgUnit, OrgUnit.id == Visit.village_id)
        .where(OrgUnit.path.startswith(unit.path, autoescape=True),
               Visit.occurred_at >= since, Visit.occurred_at < until))
    candidates = [Candidate(str(r.id), r.author_id, r.village_id,
                            str(r.household_id) if r.household_id else None, bool(r.flagged))
                  for r in rows]
    candidates.sort(key=lambda c: c.record_id)
    return candidates


def allocate(counts: dict[int, int], size: int) -> dict[int, int]:
    """Give each stratum one, then share the rest in proportion to its count (capped by it)."""
    if size < len(counts):
        raise ValueError("size smaller than the number of strata")
    taken = {key: 1 for key in counts}
    remaining = min(size, sum(counts.values())) - len(counts)
    while remaining > 0:
        spare = {key: n for key, n in sorted(counts.items()) if taken[key] < n}
        total = sum(spare.values())
        quotas = {key: remaining * n / total for key, n in spare.items()}
        given = 0
        for key, quota in quotas.items():
            share = min(int(quota), counts[key] - taken[key])
            taken[key] += share
            given += share
        left = remaining - given
        for key in sorted(spare, key=lambda k: (-(quotas[k] - int(quotas[k])), k)):
            if left == 0:
                break
            if taken[key] < counts[key]:
                taken[key] += 1
                left -= 1
        remaining = left
    return taken


def choose(candidates: list[Candidate], size: int, seed: int,
           flag_weight: float) -> list[Candidate]:
    """Draw the sample from an id-ordered population; the same inputs give the same result."""
    rng = random.Random(seed)
    by_cadre: dict[int, list[tuple[float, Candidate]]] = defaultdict(list)
    for candidate in candidates:  # one draw per record, in id order: the seed fixes every key
        weight = flag_weight if candidate.flagged else 1.0
        by_cadre[candidate.author_id].append((rng.random() ** (1.0 / weight), candidate))
    quotas = allocate({cadre: len(rows) for cadre, rows in by_cadre.items()}, size)
    chosen = []
    for cadre in sorted(by_cadre):
        ranked = sorted(by_cadre[cadre], key=lambda pair: (-pair[0], pair[1].record_id))
        chosen.extend(candidate for _key, candidate in ranked[:quotas[cadre]])
    return chosen


def _check_seed(seed: int) -> None:
    if not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise Invalid(_("The seed must be a whole number from 0 to %(max)s.", max=MAX_SEED),
                      fields={"seed": [f"0 to {MAX_SEED}."]})


def _check_inspector(inspector: User) -> None:
    if inspector.role not in INSPECTOR_ROLES:
        raise Forbidden(_("Only inspectors draw spot-check samples."))


def _prepare(inspector: User, scope_unit_id: int, period_start: date, period_end: date,
             size: int, seed: int, flag_weight: float) -> tuple[OrgUnit, list[Candidate]]:
    _check_inspector(inspector)
    _check_seed(seed)
    _validate(size, period_start, period_end, flag_weight)
    unit = scope_unit_for(inspector, scope_unit_id)
    candidates = population(unit, period_start, period_end)
    if not candidates:
        raise Invalid(_("There are no records in this scope and period to sample."),
                      code="empty_population")
    cadres = len({c.author_id for c in candidates})
    if size < cadres:
        raise Invalid(
            ngettext("%(num)s cadre has records in this scope and period, and every cadre must "
                     "be represented: choose a size of at least %(num)s, or a smaller scope.",
                     "%(num)s cadres have records in this scope and period, and every cadre "
                     "must be represented: choose a size of at least %(num)s, or a smaller "
                     "scope.", cadres),
            code="size_below_cadres", fields={"size": [f"At least {cadres}."]})
    return unit, candidates


def preview_sample(inspector: User, scope_unit_id: int, period_start: date, period_end: date,
                   size: int, seed: int, flag_weight: float = 3.0) -> list[str]:
    """Return the record ids a draw with these inputs gives, without storing anything."""
    _unit, candidates = _prepare(inspector, scope_unit_id, period_start, period_end, size,
                                 seed, flag_weight)
    return [c.record_id for c in choose(candidates, size, seed, flag_weight)]


def draw_sample(inspector: User, scope_unit_id: int, period_start: date, period_end: date,
                size: int, seed: int | None = None, flag_weight: float = 3.0) -> Sample:
    """Draw a sample, create its check tasks, audit `sample.draw` and commit."""
    if seed is None:
        seed = secrets.randbelow(10**9)
    unit, candidates = _prepare(inspector, scope_unit_id, period_start, period_end, size,
                                seed, flag_weight)
    chosen = choose(candidates, size, seed, flag_weight)
    sample = Sample(inspector_id=inspector.id, scope_unit_id=unit.id, period_start=period_start,
                    period_end=period_end, size=size, seed=seed, flag_weight=flag_weight)
    sample.tasks = [CheckTask(record_type="visit", record_id=c.record_id, author_id=c.author_id,
                              village_id=c.village_id, household_id=c.household_id,
                              flagged=c.flagged) for c in chosen]
    db.session.add(sample)
    db.session.flush()
    audit.record("sample.draw", actor=inspector, object_type="sample", object_id=sample.id,
                 details={"seed": seed, "size": size, "drawn": len(chosen),
                          "population": len(candidates), "scope_unit_id": unit.id,
                          "period": [period_start.isoformat(), period_end.isoformat()],
                          "flag_weight": flag_weight,
                          "flagged_drawn": sum(c.flagged for c in chosen)})
    db.session.commit()
    return sample


def reproduces(sample: Sample) -> bool:
    """Return whether drawing again from the sample's seed gives the same records today."""
    try:
        again = preview_sample(sample.inspector, sample.scope_unit_id, sample.period_start,
                               sample.period_end, sample.size, sample.seed, sample.flag_weight)
    except (Invalid, Forbidden, NotFound):
        return False
    return sorted(again) == sorted(task.record_id for task in sample.tasks)


# ---------- reading samples ----------


def scope_units(user: User) -> list[OrgUnit]:
    """Return the units a user may choose as a scope: theirs and everything under it."""
    return list(db.session.scalars(select(OrgUnit).where(
        OrgUnit.path.startswith(user.scope_unit.path, autoescape=True)).order_by(OrgUnit.path)))


@dataclass
class SampleRow:
    sample: Sample
    scope_name: str
    tasks: int
    done: int


def samples_of(inspector: User) -> list[SampleRow]:
    """List the inspector's samples, newest first, with their progress (one query)."""
    rows = db.session.execute(
        select(Sample, OrgUnit.name, func.count(CheckTask.id), func.count(CheckTask.done_at))
        .join(OrgUnit, OrgUnit.id == Sample.scope_unit_id)
        .outerjoin(CheckTask, CheckTask.sample_id == Sample.id)
        .where(Sample.inspector_id == inspector.id)
        .group_by(Sample.id, OrgUnit.name).order_by(Sample.created_at.desc(), Sample.id.desc()))
    return [SampleRow(*row) for row in rows]


@dataclass
class TaskRow:
    task: CheckTask
    cadre: str
    village: str
    household: str
    house_label: str
    occurred_at: datetime | None


@dataclass
class SampleView:
    sample: Sample
    scope: OrgUnit
    tasks: list[TaskRow]

    @property
    def done(self) -> int:
        return sum(row.task.outcome is not None for row in self.tasks)


def own_sample(inspector: User, sample_id: int) -> SampleView:
    """Return one of the inspector's samples with its tasks (one query); NotFound otherwise."""
    sample = db.session.get(Sample, sample_id)
    if sample is None or sample.inspector_id != inspector.id:
        raise NotFound("No such sample among yours.")
    author = aliased(User)
    rows = db.session.execute(
        select(CheckTask, author.display_name, OrgUnit.name, Household.head_name,
               Household.house_label, Visit.occurred_at)
        .join(author, author.id == CheckTask.author_id)
        .join(OrgUnit, OrgUnit.id == CheckTask.village_id)
        .outerjoin(Household, Household.id == CheckTask.household_id)
        .outerjoin(Visit, Visit.id == CheckTask.record_id)
        .where(CheckTask.sample_id == sample.id)
        .order_by(author.display_name, Visit.occurred_at, CheckTask.id))
    return SampleView(sample, db.session.get(OrgUnit, sample.scope_unit_id),
                      [TaskRow(task, name, village, head or "", label or "", occurred)
                       for task, name, village, head, label, occurred in rows])
