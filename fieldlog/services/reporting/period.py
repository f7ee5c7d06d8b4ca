"""The period a report counts over: a month, quarter, year or each cadre's term, and its bounds
in stored UTC.
"""
import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from babel.dates import format_skeleton
from flask_babel import get_locale
from flask_babel import gettext as _

from fieldlog.errors import Invalid
from fieldlog.timefmt import local_midnight_utc, local_today

PERIOD_KINDS = ("month", "quarter", "year", "term")
_MONTH, _QUARTER, _YEAR = (re.compile(p) for p in
                           (r"^(\d{4})-(\d{2})$", r"^(\d{4})-Q([1-4])$", r"^(\d{4})$"))


@dataclass(frozen=True)
class Period:
    """A month ("2026-11"), quarter ("2026-Q4"), year ("2026") or each cadre's term ("term").

    `start` and `end` are local dates, both inclusive; a term has none (each cadre's own).
    """

    kind: str
    key: str
    start: date | None = None
    end: date | None = None

    @classmethod
    def parse(cls, text: str | None, today: date | None = None) -> "Period":
        """Read a period key; an empty one is the current month. Raise Invalid when malformed."""
        text = (text or "").strip()
        if not text:
            today = today or local_today()
            return cls.month(today.year, today.month)
        if text == "term":
            return cls("term", "term")
        if m := _MONTH.match(text):
            year, month = int(m[1]), int(m[2])
            if 1 <= month <= 12 and year >= 2000:
                return cls.month(year, month)
        elif m := _QUARTER.match(text):
            if int(m[1]) >= 2000:
                year, quarter = int(m[1]), int(m[2])
                first = date(year, 3 * quarter - 2, 1)
                last = 3 * quarter
                return cls("quarter", f"{year}-Q{quarter}", first,
                           date(year, last, monthrange(year, last)[1]))
        elif (m := _YEAR.match(text)) and int(m[1]) >= 2000:
            year = int(m[1])
            return cls("year", str(year), date(year, 1, 1), date(year, 12, 31))
        raise Invalid(_("A period is written 2026-11 (month), 2026-Q4 (quarter), 2026 (year) "
                        "or term."), fields={"period": "malformed"})

    @classmethod
    def month(cls, year: int, month: int) -> "Period":
        return cls("month", f"{year}-{month:02d}", date(year, month, 1),
                   date(year, month, monthrange(year, month)[1]))

    @classmethod
    def around(cls, kind: str, today: date) -> "Period":
        """Return the period of `kind` that holds `today`."""
        if kind == "quarter":
            return cls.parse(f"{today.year}-Q{(today.month - 1) // 3 + 1}")
        if kind == "year":
            return cls.parse(str(today.year))
        if kind == "term":
            return cls("term", "term")
        return cls.month(today.year, today.month)

    def shifted(self, steps: int) -> "Period":
        """Return the period `steps` before (negative) or after this one; a term stays."""
        if self.kind == "month":
            n = self.start.year * 12 + self.start.month - 1 + steps
            return Period.month(n // 12, n % 12 + 1)
        if self.kind == "quarter":
            n = self.start.year * 4 + (self.start.month - 1) // 3 + steps
            return Period.parse(f"{n // 4}-Q{n % 4 + 1}")
        if self.kind == "year":
            return Period.parse(str(self.start.year + steps))
        return self

    @property
    def label(self) -> str:
        if self.kind == "month":
            return format_skeleton("yMMMM", self.start, locale=get_locale())
        if self.kind == "quarter":
            return _("Q%(q)s %(y)s", q=(self.start.month - 1) // 3 + 1, y=self.start.year)
        if self.kind == "year":
            return _("Year %(y)s", y=self.start.year)
        return _("Term to date")

    def bounds_utc(self) -> tuple[datetime, datetime]:
        """Return [start, end) in stored naive UTC: local midnights of the first and next day."""
        return utc_bounds(self.start, self.end)


def utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """Return the naive-UTC instants of local midnight on `start` and on the day after `end`."""
    return local_midnight_utc(start), local_midnight_utc(end + timedelta(days=1))
