"""The rules behind integrity flags: thresholds and pure checks, no database.

Each check returns the params of a flag (the numbers its sentence shows) or nothing. The
thresholds are generous on purpose: a flag must point at a record made for show, never at an
honest cadre with a weak GPS fix, a slow upload or a photo taken a little before the visit.
"""
from __future__ import annotations

import io
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from PIL import Image

from fieldlog.services.common.geo import distance_m
from fieldlog.services.org.fence import Fence

FAR_FROM_VILLAGE = "far_from_village"
FAR_FROM_HOUSEHOLD = "far_from_household"
NO_LOCATION = "no_location"
IMPOSSIBLE_TRAVEL = "impossible_travel"
BACKFILL = "backfill"
EXIF_TIME = "exif_time"
EXIF_PLACE = "exif_place"
NO_EXIF = "no_exif"
DUPLICATE_PHOTO = "duplicate_photo"
CLOCK_OFF = "clock_off"

LOCATION_KINDS = (FAR_FROM_VILLAGE, FAR_FROM_HOUSEHOLD, NO_LOCATION)  # from the record alone
CLOCK_KINDS = (CLOCK_OFF,)  # from the record alone
# No longer raised: a visit without a fix is information (shown as 未定位), not suspicion. The
# 2026 rules on government apps forbid forcing location uploads, and a weak signal indoors is
# the honest cadre's everyday. Rows stored by earlier versions are dropped when their record is
# recomputed (the kind stays in LOCATION_KINDS for that) and are never shown or counted.
RETIRED_KINDS = (NO_LOCATION,)
EXIF_KINDS = (EXIF_TIME, EXIF_PLACE, NO_EXIF)  # from the record and its photos' facts
KINDS = (*LOCATION_KINDS, IMPOSSIBLE_TRAVEL, BACKFILL, *EXIF_KINDS, DUPLICATE_PHOTO, *CLOCK_KINDS)

# A village without a radius of its own gets the one the supervisor's sketch draws.
DEFAULT_GEOFENCE_M = 1000
# A fix is given the benefit of its reported accuracy (distance − accuracy must exceed a limit),
# but no more than this: a network-only fix is good to about a kilometre, and a claimed
# accuracy of 50 km must not excuse a fix anywhere in the county.
MAX_ACCURACY_CREDIT_M = 1000
# Register locations are good to tens of metres and a visit may happen in the yard, the field
# next door or at a neighbour's; 300 m beyond the fix's accuracy is no longer "at the house".
HOUSEHOLD_RADIUS_M = 300
# Faster than any road in a rural county allows. The distance is a straight line, shorter
# than the road, so an honest car journey stays well below it.
TRAVEL_MAX_KMH = 120
# Two fixes minutes apart at one place differ by GPS drift, not travel.
TRAVEL_MIN_DISTANCE_M = 1000
# Records further apart in time are not "adjacent": exceeding the speed would take 2,880 km.
TRAVEL_WINDOW = timedelta(hours=24)
# Photos are taken a little before or after the record is saved, and a record may be written
# up later the same half-day; three hours covers both without covering "yesterday's photo".
EXIF_TIME_MAX = timedelta(hours=3)
# The camera's GPS and the record's fix come from the same phone minutes apart; 2 km beyond
# the fix's accuracy (or beyond the geofence when the record has no fix) is another place.
EXIF_PLACE_MAX_M = 2000
# Back-filling: at least this many records created on the phone within a quarter of an hour
# while claiming visit times spread over more than two days. Writing up a morning's visits at
# lunch spans hours, not days.
BACKFILL_MIN_RECORDS = 5
BACKFILL_CREATED_WITHIN = timedelta(minutes=15)
BACKFILL_CLAIMED_SPAN = timedelta(days=2)
# Near-identical photos: re-compressing (JPEG quality 10–95) and resizing (to 15–100%, with or
# without the colour profile) the real camera and phone photos of the test data moves the
# 64-bit dHash of the thumbnail by 0–5 bits (mostly 0–2); different photos, even the demo's
# look-alike village paintings, differ by 13 bits or more.
DUP_MAX_BITS = 6
# A 9x8 grey image whose brightest and darkest cells differ by less than this is featureless
# (a black frame, a blank wall, a covered lens): its dHash is noise and it is not indexed.
FEATURELESS_RANGE = 8
BAND_BITS = 16
# The phone's clock against the server's when the record was sent. Its times are corrected by
# the offset either way (records.device_clock); an hour or more off is a clock set by hand (or
# a zone typed as local time) and, setting the clock back being the easy way to back-date a
# visit, the reviewer sees it. Minutes of drift are not worth their attention.
CLOCK_OFF_MIN = timedelta(hours=1)


@dataclass(slots=True)
class VisitFacts:
    """What the rules need of a visit; village and household fields only for the record's own."""

    id: str
    author_id: int
    village_id: int
    household_id: str
    occurred_at: datetime  # naive UTC, as the device claims
    created_at: datetime  # naive UTC, the device's creation time
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    author_name: str = ""
    village_name: str = ""
    village_lat: float | None = None
    village_lon: float | None = None
    geofence_m: int | None = None
    household_lat: float | None = None
    household_lon: float | None = None
    village_boundary: str | None = None  # GeoJSON geometry text, when the village has one
    clock_offset_s: int | None = None  # the phone's clock ahead (+) of the server's, if known


@dataclass(slots=True)
class PhotoFacts:
    """The EXIF facts of one photo, as stored."""

    id: str
    taken_at: datetime | None  # camera clock, local, naive
    lat: float | None
    lon: float | None
    camera_make: str | None
    camera_model: str | None


def credit(accuracy_m: float | None) -> float:
    """Return how much a fix's reported accuracy may excuse."""
    return min(max(accuracy_m or 0.0, 0.0), MAX_ACCURACY_CREDIT_M)


def _approx_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Estimate a short distance with the ellipsoid's local scale (well within 1% under 100 km)."""
    phi = math.radians((lat1 + lat2) / 2)
    per_lat = 111_132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
    per_lon = 111_412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi)
    return math.hypot((lat2 - lat1) * per_lat, ((lon2 - lon1 + 540) % 360 - 180) * per_lon)


def beyond(lat1: float | None, lon1: float | None, lat2: float | None, lon2: float | None,
           limit_m: float) -> float | None:
    """Return the geodesic distance if it exceeds `limit_m`, else None.

    geopy costs ~0.1 ms a call; a cheap estimate first skips the points clearly inside (most
    of them), so every flag and every number shown still comes from the geodesic.
    """
    if None in (lat1, lon1, lat2, lon2):
        return None
    approx = _approx_m(lat1, lon1, lat2, lon2)
    if approx < 100_000 and max(abs(lat1), abs(lat2)) < 80 and approx <= 0.95 * limit_m:
        return None
    metres = distance_m(lat1, lon1, lat2, lon2)
    return metres if metres > limit_m else None


def _acc(value: float | None) -> float | None:
    return None if value is None else round(value)


@lru_cache(maxsize=256)
def _boundary_fence(boundary: str) -> Fence:
    """Parse a village's boundary once per batch of records, not once per record."""
    return Fence(None, None, None, boundary)


def location_flags(v: VisitFacts) -> dict[str, dict]:
    """Check the record's own place: outside the geofence, away from the house.

    A record without a fix has nothing to check: its absence is shown, never flagged.
    """
    if v.lat is None or v.lon is None:
        return {}
    flags = {}
    if v.village_boundary:
        # A village with a boundary: a fix inside the polygon is in the village, wherever the
        # centre; outside it, the distance beyond the boundary counts (less the accuracy).
        outside = _boundary_fence(v.village_boundary).outside_by_m(v.lat, v.lon)
        if outside > credit(v.accuracy_m):
            flags[FAR_FROM_VILLAGE] = {"distance_m": round(outside), "boundary": True,
                                       "accuracy_m": _acc(v.accuracy_m),
                                       "village": v.village_name}
    else:
        radius = v.geofence_m or DEFAULT_GEOFENCE_M
        far = beyond(v.lat, v.lon, v.village_lat, v.village_lon, radius + credit(v.accuracy_m))
        if far is not None:
            flags[FAR_FROM_VILLAGE] = {"distance_m": round(far), "radius_m": radius,
                                       "accuracy_m": _acc(v.accuracy_m),
                                       "village": v.village_name}
    far = beyond(v.lat, v.lon, v.household_lat, v.household_lon,
                 HOUSEHOLD_RADIUS_M + credit(v.accuracy_m))
    if far is not None:
        flags[FAR_FROM_HOUSEHOLD] = {"distance_m": round(far), "limit_m": HOUSEHOLD_RADIUS_M,
                                     "accuracy_m": _acc(v.accuracy_m)}
    return flags


def travel_between(a: VisitFacts, b: VisitFacts) -> dict | None:
    """Return the numbers of an impossible journey from record `a` to the later record `b`."""
    seconds = (b.occurred_at - a.occurred_at).total_seconds()
    if seconds > TRAVEL_WINDOW.total_seconds():
        return None
    excused = credit(a.accuracy_m) + credit(b.accuracy_m)
    # speed > limit  ⇔  distance − accuracies > limit × time
    limit = max(TRAVEL_MIN_DISTANCE_M, excused + TRAVEL_MAX_KMH / 3.6 * seconds)
    metres = beyond(a.lat, a.lon, b.lat, b.lon, limit)
    if metres is None:
        return None
    speed = round((metres - excused) / seconds * 3.6) if seconds > 0 else None
    return {"distance_m": round(metres), "seconds": round(seconds), "speed_kmh": speed,
            "limit_kmh": TRAVEL_MAX_KMH}


def adjacent_pairs(rows: Iterable[VisitFacts]) -> list[tuple[VisitFacts, VisitFacts]]:
    """Pair each located record with the next located one by the same author, in claimed time."""
    by_author: dict[int, list[VisitFacts]] = defaultdict(list)
    for row in rows:
        if row.lat is not None and row.lon is not None:
            by_author[row.author_id].append(row)
    pairs = []
    for located in by_author.values():
        located.sort(key=lambda r: (r.occurred_at, r.id))
        pairs += [(a, b) for a, b in zip(located, located[1:], strict=False)
                  if b.occurred_at - a.occurred_at <= TRAVEL_WINDOW]
    return pairs


def travel_flags(pairs: list[tuple[VisitFacts, VisitFacts]]) -> dict[str, dict]:
    """Flag both ends of every impossible journey; each keeps its worst one and all partners."""
    found: dict[str, list[tuple[float, dict]]] = defaultdict(list)
    for a, b in pairs:
        journey = travel_between(a, b)
        if journey is None:
            continue
        worst = math.inf if journey["speed_kmh"] is None else journey["speed_kmh"]
        for this, other in ((a, b), (b, a)):
            found[this.id].append((worst, {**journey, "other_id": other.id,
                                           "other_at": other.occurred_at.isoformat()}))
    flags = {}
    for record_id, journeys in found.items():
        journeys.sort(key=lambda j: -j[0])
        flags[record_id] = {**journeys[0][1],
                            "partners": [[j["other_id"], j["other_at"]] for _, j in journeys]}
    return flags


def backfill_flags(rows: Iterable[VisitFacts]) -> dict[str, dict]:
    """Flag every record of a burst created within minutes that claims times days apart."""
    by_author: dict[int, list[VisitFacts]] = defaultdict(list)
    for row in rows:
        by_author[row.author_id].append(row)
    flags: dict[str, dict] = {}
    for records in by_author.values():
        records.sort(key=lambda r: (r.created_at, r.id))
        end = 0
        for start, first in enumerate(records):
            end = max(end, start)
            while (end + 1 < len(records)
                   and records[end + 1].created_at - first.created_at <= BACKFILL_CREATED_WITHIN):
                end += 1
            burst = records[start:end + 1]
            if len(burst) < BACKFILL_MIN_RECORDS:
                continue
            claimed = [r.occurred_at for r in burst]
            span = max(claimed) - min(claimed)
            if span <= BACKFILL_CLAIMED_SPAN:
                continue
            params = {"count": len(burst), "days": round(span.total_seconds() / 86_400, 1),
                      "minutes": math.ceil((burst[-1].created_at - first.created_at)
                                           .total_seconds() / 60)}
            for r in burst:
                if flags.get(r.id, {}).get("count", 0) < params["count"]:
                    flags[r.id] = params
    return flags


def clock_flags(v: VisitFacts) -> dict[str, dict]:
    """Flag a visit sent from a phone whose clock was far from the server's."""
    if v.clock_offset_s is None or abs(v.clock_offset_s) < CLOCK_OFF_MIN.total_seconds():
        return {}
    return {CLOCK_OFF: {"hours": round(v.clock_offset_s / 3600, 1)}}


def camera_time_utc(taken_at: datetime, zone: ZoneInfo) -> datetime:
    """Read a camera's local clock (EXIF has no zone) in the county's zone, as naive UTC."""
    return taken_at.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """Return the county-local date of a naive-UTC instant."""
    return moment.replace(tzinfo=UTC).astimezone(zone).date()


def no_camera_facts(p: PhotoFacts) -> bool:
    """Tell whether a photo has no time, no place and no camera: a screenshot or a forward."""
    return p.taken_at is None and p.lat is None and not p.camera_make and not p.camera_model


def exif_flags(v: VisitFacts, photos: list[PhotoFacts], zone: ZoneInfo) -> dict[str, dict]:
    """Compare each photo's camera time and place with the record's; spot photos with neither."""
    flags: dict[str, dict] = {}
    worst_time = EXIF_TIME_MAX
    for p in photos:
        if p.taken_at is None:
            continue
        # The camera's clock is the phone's: compare it with the visit time as the phone
        # read it, before sync corrected it by the clock offset.
        gap = camera_time_utc(p.taken_at, zone) - v.occurred_at - \
            timedelta(seconds=v.clock_offset_s or 0)
        if abs(gap) > worst_time:
            worst_time = abs(gap)
            flags[EXIF_TIME] = {"photo_id": p.id, "taken_at": p.taken_at.isoformat(),
                                "hours": round(gap.total_seconds() / 3600, 1),
                                "limit_hours": EXIF_TIME_MAX.total_seconds() / 3600}
    worst_place = 0.0
    for p in photos:
        if v.lat is not None and v.lon is not None:
            against, limit = "fix", EXIF_PLACE_MAX_M + credit(v.accuracy_m)
            metres = beyond(p.lat, p.lon, v.lat, v.lon, limit)
        else:
            against = "village"
            limit = EXIF_PLACE_MAX_M + (v.geofence_m or DEFAULT_GEOFENCE_M)
            metres = beyond(p.lat, p.lon, v.village_lat, v.village_lon, limit)
        if metres is not None and metres > worst_place:
            worst_place = metres
            flags[EXIF_PLACE] = {"photo_id": p.id, "distance_m": round(metres),
                                 "limit_m": EXIF_PLACE_MAX_M, "against": against,
                                 "village": v.village_name, "accuracy_m": _acc(v.accuracy_m)}
    bare = [p for p in photos if no_camera_facts(p)]
    if bare:
        flags[NO_EXIF] = {"count": len(bare), "total": len(photos), "photo_id": bare[0].id}
    return flags


# --- perceptual hash ----------------------------------------------------------------------------

def dhash(image_bytes: bytes) -> tuple[int, bool]:
    """Return the 64-bit difference hash of an image and whether the image is featureless.

    Grey, squeezed to 9x8, each bit tells whether a cell is brighter than its right neighbour:
    re-compression and resizing barely move it, other pictures land ~32 bits away.
    """
    with Image.open(io.BytesIO(image_bytes)) as img:
        small = img.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    cells = small.tobytes()
    bits = 0
    for row in range(8):
        for col in range(8):
            bits = bits << 1 | (cells[row * 9 + col] > cells[row * 9 + col + 1])
    return bits, max(cells) - min(cells) < FEATURELESS_RANGE


def bands(bits: int) -> tuple[int, int, int, int]:
    """Split a 64-bit hash into four 16-bit bands, most significant first."""
    return tuple((bits >> shift) & 0xFFFF for shift in (48, 32, 16, 0))


def probes(band: int) -> list[int]:
    """Return a band and its 16 one-bit neighbours.

    Two hashes within 7 bits differ in at most one bit in some band (pigeonhole over four
    bands), so looking these up in the band indexes finds every hash within DUP_MAX_BITS.
    """
    return [band] + [band ^ (1 << k) for k in range(BAND_BITS)]


def to_signed(bits: int) -> int:
    """Store an unsigned 64-bit hash in a signed BIGINT column."""
    return bits - (1 << 64) if bits >= 1 << 63 else bits


def to_unsigned(value: int) -> int:
    """Read back a hash stored by to_signed()."""
    return value & ((1 << 64) - 1)


def hamming(a: int, b: int) -> int:
    """Count the bits in which two 64-bit hashes differ."""
    return (to_unsigned(a) ^ to_unsigned(b)).bit_count()


def photo_check_limits(village_lat: float | None, village_lon: float | None,
                       geofence_m: int | None) -> dict:
    """Return what the phone needs to ask about a picked photo before the server would flag it.

    The limits of exif_flags(): camera time more than EXIF_TIME_MAX from the visit; camera
    place beyond EXIF_PLACE_MAX_M (plus the fix's accuracy, up to MAX_ACCURACY_CREDIT_M) from
    the phone's fix, or without a fix beyond EXIF_PLACE_MAX_M plus the geofence from the centre.
    """
    has_centre = village_lat is not None and village_lon is not None
    return {"max_hours": EXIF_TIME_MAX.total_seconds() / 3600,
            "max_m": EXIF_PLACE_MAX_M + (geofence_m or DEFAULT_GEOFENCE_M),
            "fix_max_m": EXIF_PLACE_MAX_M, "max_accuracy_credit_m": MAX_ACCURACY_CREDIT_M,
            "village": {"lat": village_lat, "lon": village_lon} if has_centre else None}
