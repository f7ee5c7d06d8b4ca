"""Time conversions shared by services: everything is stored as naive UTC."""
from datetime import UTC, datetime


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
    return value.replace(microsecond=value.microsecond).isoformat() + "Z"
