"""The one place fieldlog reads the clock: every "now" and "today" in the app comes from here.

Nothing else calls `datetime.now()`, `date.today()` or `time.time()`, so a test (or a demo loaded
"as of" another day) moves the whole app by moving this clock. The suite travels the process with
time-machine (`tests/conftest.py`, `FIELDLOG_TODAY`); `make test-dates` runs it on several days.
"""
import time
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def now() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


def utcnow() -> datetime:
    """Return the current UTC time as a naive datetime (how every timestamp is stored)."""
    return now().replace(tzinfo=None)


def today_in(zone: str | ZoneInfo) -> date:
    """Return today's date in a time zone (a county's day is not the server's)."""
    return now().astimezone(zone if isinstance(zone, ZoneInfo) else ZoneInfo(str(zone))).date()


def epoch_seconds() -> float:
    """Return seconds since the epoch (session stamps)."""
    return time.time()
