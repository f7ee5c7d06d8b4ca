"""Print the days `make test-dates` runs the suite on: each edge of the calendar, always ahead.

The 1st, the 15th and the last day of a month, the end of a 28-day February, and 1 January,
all after today's real date (a browser's cookies expire by the real clock, so the suite may
travel forward but not back).
"""
import calendar
from datetime import date


def calendar_days(today: date) -> list[date]:
    """Return the five days, in the year after `today`'s (Feb 28 of the next non-leap year)."""
    year = today.year + 1
    plain = next(y for y in range(year, year + 8) if not calendar.isleap(y))
    return [date(year, 1, 1), date(year, 4, 1), date(year, 3, 15), date(year, 5, 31),
            date(plain, 2, 28)]


if __name__ == "__main__":
    print(" ".join(d.isoformat() for d in calendar_days(date.today())))
