"""Time conversions shared by services, schemas and views: everything is stored as naive UTC."""
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask_babel import get_timezone

from fieldlog import clock


def to_utc_naive(value: datetime | None) -> datetime | None:
    """Convert an aware datetime to naive UTC (the stored form)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def iso_utc(value: datetime | None) -> str | None:
    """Format a stored naive-UTC datetime as ISO 8601 with a Z."""
    if value is None:
        return None
    return value.isoformat() + "Z"


def local_midnight_utc(day: date) -> datetime:
    """Return the start of a day in the display zone, as naive UTC (how times are stored).

    Flask-Babel's zone is a pytz zone, which gives local mean time (+08:06) when passed as
    `tzinfo=`; zoneinfo gets the real offset.
    """
    local = datetime.combine(day, time.min, tzinfo=ZoneInfo(str(get_timezone())))
    return local.astimezone(UTC).replace(tzinfo=None)


def local_today() -> date:
    """Return today's date in the display zone (the county's day, not the server's)."""
    return clock.today_in(str(get_timezone()))


def local_date(value: datetime) -> date:
    """Return the display zone's date of an aware datetime (naive ones are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(str(get_timezone()))).date()
