"""A cadre's month against the county's threshold: the one rule of the threshold (`days_target`)
and the month's figures (`MonthFigures`) for one cadre or for every secretary in a scope.

The days themselves come from `days.village_days`; this module only counts and compares them.
"""
import calendar
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import OrgUnit, User
from fieldlog.permissions import scope_village_ids
from fieldlog.services.attendance.days import DAY_STATES, PRESENT, leave_days_taken, village_days
from fieldlog.services.org.settings import county_setting
from fieldlog.timefmt import local_today

# -- the one rule of the threshold ------------------------------------------------------------

def months_between(start: date, end: date) -> float:
    """Return how many months [start, end] spans, counting part months by their days."""
    total, day = 0.0, start
    while day <= end:
        last = date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
        stop = min(last, end)
        total += ((stop - day).days + 1) / last.day
        day = stop + timedelta(days=1)
    return total


def _half_up(value: float) -> int:
    return math.floor(value + 0.5 + 1e-9)


class DaysTarget(NamedTuple):
    """The village days asked of a cadre over a period (see `days_target`)."""

    required: int  # for the whole period
    expected: int  # by today: pro rata while the period runs, `required` once it is over
    running: bool  # the period holds today: figures and grades are provisional


def days_target(per_month: int, start: date, end: date, today: date) -> DaysTarget:
    """Return the days required of [start, end] and the days expected by `today`.

    The one rule every page states: the county's days a month, times the months of the period
    (part months by their days). While the period runs (today inside it, today counted as
    gone) the threshold is pro rata to the days gone: threshold × days gone ÷ days of the
    period, per month, rounded to the nearest whole day (halves up). On the 3rd of a 30-day
    month with 20 days a month: 20 × 3 ÷ 30 = 2. A period over asks the whole threshold.
    """
    required = _half_up(per_month * months_between(start, end))
    if today < start:
        return DaysTarget(required, 0, False)
    if today >= end:
        return DaysTarget(required, required, today == end)
    return DaysTarget(required, min(required, _half_up(per_month * months_between(start, today))),
                      True)


@dataclass
class MonthFigures:
    """One cadre's month: each day's state and the counts shown against the threshold."""

    year: int
    month: int
    days: dict[date, str]
    threshold: int  # for the whole month
    leave_taken: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    expected: int = 0  # by today (see days_target)
    running: bool = False

    @property
    def village_days(self) -> int:
        return sum(self.counts.get(state, 0) for state in PRESENT)

    @property
    def below(self) -> bool:
        return self.village_days < self.expected

    @property
    def first(self) -> date:
        return month_bounds(self.year, self.month)[0]

    @property
    def last(self) -> date:
        return month_bounds(self.year, self.month)[1]


def month_bounds(year: int, month: int) -> tuple[date, date]:
    """Return the first and last day of a month."""
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _figures(year: int, month: int, days: dict[date, str], threshold: int,
             leave_taken: int) -> MonthFigures:
    counts = {state: 0 for state in DAY_STATES}
    for state in days.values():
        counts[state] += 1
    target = days_target(threshold, *month_bounds(year, month), local_today())
    return MonthFigures(year, month, days, target.required, leave_taken, counts,
                        target.expected, target.running)


def threshold_for(unit: OrgUnit) -> int:
    """Return the county's village days required per month."""
    return int(county_setting(unit, "attendance_days_per_month"))


def month_summary(user: User, year: int, month: int) -> MonthFigures:
    """Return one cadre's month of village days, marks, 报备 and leave."""
    first, last = month_bounds(year, month)
    days = village_days([user.id], first, last)[user.id]
    # Leave taken so far, as every page counts it (a running month is cut at today).
    taken = leave_days_taken([user.id], first, min(last, local_today()))[user.id]
    return _figures(year, month, days, threshold_for(user.scope_unit), taken)


def month_table(viewer: User, year: int, month: int) -> list[tuple[User, MonthFigures]]:
    """Return every secretary in the viewer's scope with their month, by village and name."""
    cadres = list(db.session.scalars(
        select(User).join(OrgUnit, User.scope_unit_id == OrgUnit.id)
        .where(User.role == "secretary", User.active.is_(True),
               User.scope_unit_id.in_(scope_village_ids(viewer)))
        .order_by(OrgUnit.path, User.display_name)))
    first, last = month_bounds(year, month)
    ids = [c.id for c in cadres]
    days = village_days(ids, first, last)
    taken = leave_days_taken(ids, first, min(last, local_today()))
    threshold = threshold_for(viewer.scope_unit)
    return [(c, _figures(year, month, days[c.id], threshold, taken[c.id])) for c in cadres]
