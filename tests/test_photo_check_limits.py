"""The phone's photo question (static/js/photo-check.js) uses the server's EXIF limits.

A photo just beyond the limits the page is given is flagged by exif_flags(); just inside
them it is not, so the phone asks exactly when a supervisor would see a flag.
"""
import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fieldlog.services.integrity.rules import (
    EXIF_PLACE,
    EXIF_TIME,
    PhotoFacts,
    VisitFacts,
    exif_flags,
    photo_check_limits,
)

ZONE = ZoneInfo("Asia/Shanghai")
CENTRE = (26.58, 106.71)
VISIT_UTC = datetime(2026, 5, 4, 2, 0)  # 10:00 in the county


def _visit(lat=None, lon=None, accuracy_m=None) -> VisitFacts:
    return VisitFacts(id="v", author_id=1, village_id=1, household_id="h",
                      occurred_at=VISIT_UTC, created_at=VISIT_UTC, lat=lat, lon=lon,
                      accuracy_m=accuracy_m, village_lat=CENTRE[0], village_lon=CENTRE[1],
                      geofence_m=1500)


def _north(metres: float) -> tuple[float, float]:
    return CENTRE[0] + metres / 110_766, CENTRE[1]  # metres per degree of latitude near 26.6°N


def _photo(*, hours: float = 0, place=(None, None)) -> PhotoFacts:
    local = VISIT_UTC.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZONE).replace(tzinfo=None)
    return PhotoFacts(id="p", taken_at=local + timedelta(hours=hours), lat=place[0],
                      lon=place[1], camera_make="X", camera_model="Y")


@pytest.mark.parametrize(("factor", "flagged"), [(0.97, False), (1.03, True)])
def test_the_limits_given_to_the_phone_are_where_the_server_flags(factor, flagged):
    limits = photo_check_limits(*CENTRE, 1500)
    assert limits["village"] == {"lat": CENTRE[0], "lon": CENTRE[1]}

    late = exif_flags(_visit(), [_photo(hours=limits["max_hours"] * factor)], ZONE)
    assert (EXIF_TIME in late) is flagged
    far = exif_flags(_visit(), [_photo(place=_north(limits["max_m"] * factor))], ZONE)
    assert (EXIF_PLACE in far) is flagged
    fix = _north(0)
    from_fix = exif_flags(_visit(*fix, accuracy_m=20),
                          [_photo(place=_north((limits["fix_max_m"] + 20) * factor))], ZONE)
    assert (EXIF_PLACE in from_fix) is flagged
    assert math.isclose(limits["max_accuracy_credit_m"], 1000)


def test_a_village_without_a_centre_gives_no_place_to_compare():
    assert photo_check_limits(None, None, None)["village"] is None
