"""Print the days `make test-dates` runs the suite on: each edge of the calendar, always ahead.

The 1st, the 15th and the last day of a month, the end of a 28-day February, and 1 January,
all after today's real date (a browser's cookies expire by the real clock, so the suite may
travel forward but not back).
"""
import calendar
import zlib
from datetime import date


def calendar_days(today: date) -> list[date]:
    """Return the five days, in the year after `today`'s (Feb 28 of the next non-leap year)."""
    year = today.year + 1
    plain = next(y for y in range(year, year + 8) if not calendar.isleap(y))
    return [date(year, 1, 1), date(year, 4, 1), date(year, 3, 15), date(year, 5, 31),
            date(plain, 2, 28)]


def day_of_test(nodeid: str, days: list[date], rotation: int) -> date:
    """Return the day a test module runs on in `make test`: spread by its path, turned weekly.

    Each module gets one of the days; the share moves on by one each ISO week (`rotation`), so
    within as many weeks as days every module has met every edge, while a run costs no more
    than one suite.
    """
    return days[(zlib.crc32(nodeid.encode()) + rotation) % len(days)]


def rotation_of(today: date) -> int:
    """Return this week's turn of the edge days (the ISO week number, counted across years)."""
    year, week, _ = today.isocalendar()
    return year * 53 + week


if __name__ == "__main__":
    print(" ".join(d.isoformat() for d in calendar_days(date.today())))
