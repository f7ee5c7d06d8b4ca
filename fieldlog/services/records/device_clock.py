"""A phone's clock against the server's: correct the device times a record carries.

A phone clock can be days off (set by hand, a dead battery, a wrong zone typed as local time).
Refusing such records would strand them on the phone, so every record is taken, and its times
are read through the offset between the two clocks at the moment of sync:

- a client that sends its clock with the batch (`device_now`) gives the offset exactly (up to
  the request's transit time, hence a tolerance);
- an older client does not; its clock is known to be wrong only when a record says it was
  created in the future or before the product existed, and that reading gives the offset.

A record saved offline days ago has an old device time; that is not skew and is kept. A time
that even the correction cannot make true (later than the server's now, before 2015) is
replaced by the server's receive time. The offset is stored with the record; integrity flags
a visit whose phone clock was far off (rules.CLOCK_OFF).
"""
from datetime import datetime, timedelta

# Transit time of a batch on a slow network, and everyday clock drift: not corrected.
TOLERANCE = timedelta(minutes=5)
EARLIEST = datetime(2015, 1, 1)  # naive UTC, like every stored time


def offset(device_now: datetime | None, device_created_at: datetime,
           server_now: datetime) -> timedelta | None:
    """Return how far the phone's clock is ahead (+) of the server's, or None if not beyond
    TOLERANCE (or not knowable). All times naive UTC."""
    if device_now is not None:
        found = device_now - server_now
    elif device_created_at > server_now + TOLERANCE or device_created_at < EARLIEST:
        found = device_created_at - server_now  # at least this far off
    else:
        return None
    return found if abs(found) > TOLERANCE else None


def corrected(value: datetime | None, skew: timedelta | None,
              server_now: datetime) -> datetime | None:
    """Return a device time on the server's clock; the server's now if it cannot be true."""
    if value is None:
        return None
    moved = value - skew if skew is not None else value
    if moved > server_now + TOLERANCE or moved < EARLIEST:
        return server_now
    return moved


def seconds(skew: timedelta | None) -> int | None:
    """Return an offset as whole seconds for storage (None stays None)."""
    return None if skew is None else round(skew.total_seconds())
