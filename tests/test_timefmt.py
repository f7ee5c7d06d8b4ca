"""Day and month boundaries are the county's (Asia/Shanghai), not the server's or LMT."""
from datetime import date, datetime

from fieldlog.services.records.visits import month_start_utc
from fieldlog.timefmt import iso_utc, local_midnight_utc, to_utc_naive


def test_local_midnight_is_eight_hours_before_in_utc(app):
    assert local_midnight_utc(date(2026, 11, 21)) == datetime(2026, 11, 20, 16, 0)


def test_month_starts_at_local_midnight(app):
    assert month_start_utc(date(2026, 11, 21)) == datetime(2026, 10, 31, 16, 0)


def test_round_trip_to_iso():
    aware = datetime.fromisoformat("2026-11-01T10:00:00+08:00")
    assert iso_utc(to_utc_naive(aware)) == "2026-11-01T02:00:00Z"
