"""An honest synthetic county, with known fakes of every kind planted in it, sent through the API.

Everything comes from one seed. Honest cadres visit households door to door on working days,
with GPS noise and accuracies of 5–50 m, now and then a multipath outlier or a visit met at the
village committee, sometimes writing a day's visits up in the evening, and attach painted photos
(fieldlog.services.demo.photos) whose EXIF time and place match the visit. Fakes are planted at
quiet hours so they do not disturb honest records. Records are synced day by day through
/api/v1/sync and photos through /api/v1/photos, and flags are computed after each call, as the
sync and upload hooks do (switched off here, so each step is timed on its own).
"""
from __future__ import annotations

import io
import math
import random
import time as clock
import uuid
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from fieldlog.extensions import db
from fieldlog.models import Household, OrgUnit, User
from fieldlog.services.common.geo import distance_m
from fieldlog.services.demo.data import DEVICES
from fieldlog.services.demo.photos import scene_jpeg
from fieldlog.services.integrity import rules
from fieldlog.services.integrity.flags import compute_visit_flags
from fieldlog.services.integrity.photos import compute_photo_flags
from fieldlog.services.org.units import add_unit
from fieldlog.services.people.auth import hash_password, issue_device_token
from tests.fixtures.photos import forwarded

ZONE = ZoneInfo("Asia/Shanghai")
COUNTY_CENTRE = (26.60, 106.70)
FAKE_KINDS = (rules.FAR_FROM_VILLAGE, rules.FAR_FROM_HOUSEHOLD, rules.IMPOSSIBLE_TRAVEL,
              "reuse_same_cadre", "reuse_other_cadre", rules.EXIF_TIME, rules.EXIF_PLACE,
              rules.NO_EXIF, rules.BACKFILL)
# Honest visits saved without a GPS fix (indoors, location denied, a cold GPS), as on the
# held-out county: 22 of its 1,149 honest visits. Location is never required, so none of these
# may be flagged.
UNLOCATED_SHARE = 22 / 1149
# What each planted fake must be flagged as.
EXPECTED = {kind: kind for kind in FAKE_KINDS} | {"reuse_same_cadre": rules.DUPLICATE_PHOTO,
                                                 "reuse_other_cadre": rules.DUPLICATE_PHOTO}


def offset(point: tuple[float, float], metres: float, bearing_deg: float) -> tuple[float, float]:
    """Move a point (good to centimetres over a few kilometres)."""
    lat, lon = point
    bearing = math.radians(bearing_deg)
    north, east = metres * math.cos(bearing), metres * math.sin(bearing)
    return (lat + north / 110_574, lon + east / (111_320 * math.cos(math.radians(lat))))


def around(rng: random.Random, point, max_m: float, min_m: float = 0.0):
    """Return a random point between min_m and max_m from `point`, uniform over the ring."""
    radius = math.sqrt(rng.uniform((min_m / max_m) ** 2, 1)) * max_m
    return offset(point, radius, rng.uniform(0, 360))


class Stopwatch:
    """Add up the time spent in each labelled step."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    @contextmanager
    def __call__(self, label: str):
        start = clock.perf_counter()
        try:
            yield
        finally:
            self.seconds[label] += clock.perf_counter() - start
            self.calls[label] += 1


@dataclass
class Cadre:
    user: User
    village: OrgUnit
    households: list[dict]  # id, lat, lon (None if not on the register), true place
    camera: tuple[str, str]
    headers: dict
    used_evenings: set[date] = field(default_factory=set)


@dataclass
class Rec:
    """One visit to send, with what it is (honest or a planted fake) and its photos."""

    cadre: Cadre
    payload: dict
    fake: str | None = None
    photos: list[dict] = field(default_factory=list)  # {"spec": ... } or {"bytes": ...}

    @property
    def id(self) -> str:
        return self.payload["id"]

    @property
    def created(self) -> datetime:
        return datetime.fromisoformat(self.payload["device_created_at"])


@dataclass
class County:
    cadres: list[Cadre]
    records: list[Rec]
    days: list[date]
    photo_count: int = 0

    def planted(self) -> list[Rec]:
        return [r for r in self.records if r.fake]

    def honest(self) -> list[Rec]:
        return [r for r in self.records if not r.fake]


# --- the county ---------------------------------------------------------------------------------

def build_org(rng: random.Random, villages: int, households: int, password_hash: str):
    """Add a county, three townships and their villages, households and one cadre per village."""
    county = add_unit(None, "IG", "试验县")
    units, centres = [], []
    for t in range(3):
        town_at = offset(COUNTY_CENTRE, rng.uniform(8_000, 12_000), 120 * t + rng.uniform(-20, 20))
        town = add_unit(county, f"IG{t + 1}", f"第{t + 1}镇", lat=town_at[0], lon=town_at[1])
        for _ in range(villages // 3 + (1 if t < villages % 3 else 0)):
            while True:  # villages 2.5 km or more apart, as real ones are
                at = around(rng, town_at, 6_000, 1_500)
                if all(math.dist((at[0] * 111, at[1] * 100), (c[0] * 111, c[1] * 100)) > 2.5
                       for c in centres):
                    break
            centres.append(at)
            units.append(add_unit(town, f"IG{t + 1}{len(units) + 1:02d}", f"村{len(units) + 1}",
                                  lat=at[0], lon=at[1],
                                  geofence_m=rng.randrange(800, 2001, 100)))
    cadres = []
    for n, village in enumerate(units):
        rows = []
        for k in range(households):
            true = around(rng, (village.lat, village.lon), 0.6 * village.geofence_m)
            located = rng.random() < 0.85
            row = {"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                   "village_id": village.id, "head_name": f"户主{n}-{k}",
                   "house_label": f"{k // 10 + 1}组{k + 1}号", "member_count": rng.randint(1, 6),
                   "lat": true[0] if located else None, "lon": true[1] if located else None}
            db.session.add(Household(**row))
            rows.append({"id": row["id"], "lat": row["lat"], "lon": row["lon"], "true": true})
        user = User(username=f"gsec{n + 1:02d}", display_name=f"驻村书记{n + 1:02d}",
                    role="secretary", scope_unit_id=village.id, password_hash=password_hash)
        db.session.add(user)
        cadres.append(Cadre(user, village, rows, rng.choice(DEVICES), {}))
    db.session.commit()
    for cadre in cadres:
        _token, raw = issue_device_token(cadre.user, "integrity bench")
        cadre.headers = {"Authorization": f"Bearer {raw}"}
    return cadres


def payload(household: dict, occurred: datetime, created: datetime,
            fix: tuple[float, float] | None, accuracy: float | None) -> dict:
    """Return a visit as the phone sends it (times are aware UTC)."""
    return {
        "type": "visit", "id": str(uuid.uuid4()), "household_id": household["id"],
        "occurred_at": occurred.isoformat(), "device_created_at": created.isoformat(),
        "heard": "户主身体尚可，家中两亩茶园。", "requests": "", "follow_up": False,
        "location": None if fix is None else {"lat": round(fix[0], 7), "lon": round(fix[1], 7),
                                              "accuracy_m": accuracy, "located_at": None},
        "photo_ids": [],
    }


def drop_fixes(rng: random.Random, records: list[Rec], share: float) -> None:
    """Save `share` of these honest visits without a fix (their own generator: the rest of the
    county is drawn as before)."""
    for rec in records:
        if rng.random() < share:
            rec.payload["location"] = None


def utc(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=ZONE).astimezone(UTC)


def honest_fix(rng: random.Random, true: tuple[float, float]) -> tuple[tuple[float, float], float]:
    """Return a GPS fix near a true place and its reported accuracy (a 68% radius)."""
    accuracy = round(rng.triangular(5, 50, 12), 1)
    error = abs(rng.gauss(0, accuracy * 0.7))
    if rng.random() < 0.005:  # multipath near walls and hills
        error += rng.uniform(80, 250)
    return offset(true, error, rng.uniform(0, 360)), accuracy


def honest_days(rng: random.Random, cadre: Cadre, days: list[date], photo_share: float,
                per_day: tuple[int, int] = (2, 4)):
    """Yield a cadre's honest visits: working days, door to door, 08:30–18:00."""
    for day in days:
        if day.weekday() == 6 or (day.weekday() == 5 and rng.random() < 0.8):
            continue
        if rng.random() < 0.15:  # away: a meeting, training, leave
            continue
        clock = datetime.combine(day, time(8, 30)) + timedelta(minutes=rng.randint(0, 90))
        evening_write_up = rng.random() < 0.05
        write_up = utc(day, time(19, 0)) + timedelta(seconds=rng.randint(0, 600))
        for _ in range(rng.randint(*per_day)):
            if clock.time() > time(18, 0):
                break
            home = rng.choice(cadre.households)
            occurred = clock.replace(tzinfo=ZONE).astimezone(UTC)
            if rng.random() < 0.01:  # met at the village committee, not at home
                true = around(rng, (cadre.village.lat, cadre.village.lon), 50)
            else:
                true = around(rng, home["true"], 25)
            fix, accuracy = honest_fix(rng, true)
            created = (write_up + timedelta(seconds=rng.randint(0, 240)) if evening_write_up
                       else occurred + timedelta(seconds=rng.randint(10, 300)))
            rec = Rec(cadre, payload(home, occurred, created, fix, accuracy))
            if rng.random() < photo_share:
                taken = clock + timedelta(seconds=rng.randint(-600, 1200))
                point = None if rng.random() < 0.1 else around(rng, true, 15)
                rec.photos.append({"spec": (rng.getrandbits(32), taken, point, cadre.camera)})
            yield rec
            clock += timedelta(minutes=rng.randint(25, 90))


# --- fakes --------------------------------------------------------------------------------------

def quiet_evening(rng: random.Random, cadre: Cadre, days: list[date]) -> datetime:
    """Return a time at 19:30–20:30 on a day this cadre has no other evening fake."""
    day = rng.choice([d for d in days[5:] if d not in cadre.used_evenings])
    cadre.used_evenings.add(day)
    return utc(day, time(19, 30)) + timedelta(seconds=rng.randint(0, 3600))


def clean(rng: random.Random, cadre: Cadre, when: datetime, home=None) -> Rec:
    """Return a visit that looks honest in itself (the fake is elsewhere)."""
    home = home or rng.choice([h for h in cadre.households if h["lat"] is not None])
    fix, accuracy = honest_fix(rng, around(rng, home["true"], 20))
    return Rec(cadre, payload(home, when, when + timedelta(seconds=rng.randint(20, 240)), fix,
                              accuracy))


def plant(rng: random.Random, county: County, per_kind: int) -> None:
    """Add `per_kind` fakes of every kind (impossible travel: pairs; back-filling: bursts)."""
    cadres, days = county.cadres, county.days
    honest_photos = [(r, p) for r in county.honest() for p in r.photos]
    add = county.records.append
    for n in range(per_kind):
        cadre = cadres[n % len(cadres)]
        centre = (cadre.village.lat, cadre.village.lon)

        rec = clean(rng, cadre, quiet_evening(rng, cadre, days))  # at the county seat, say
        far = around(rng, centre, 20_000, cadre.village.geofence_m + 3_000)
        rec.payload["location"].update(lat=far[0], lon=far[1])
        rec.fake = rules.FAR_FROM_VILLAGE
        add(rec)

        home = rng.choice([h for h in cadre.households if h["lat"] is not None])
        rec = clean(rng, cadre, quiet_evening(rng, cadre, days), home)
        away = around(rng, (home["lat"], home["lon"]), 1_000, 500)
        rec.payload["location"].update(lat=away[0], lon=away[1])
        rec.fake = rules.FAR_FROM_HOUSEHOLD
        add(rec)

        start = quiet_evening(rng, cadre, days)
        first = clean(rng, cadre, start)
        if n % 2:  # typed-in times: two records 1.4–1.9 km apart, seconds apart
            here = (first.payload["location"]["lat"], first.payload["location"]["lon"])
            gap, there = rng.randint(10, 25), around(rng, here, 1_900, 1_400)
        else:  # the second place is the farthest village, minutes later: 200–600 km/h
            other = max((c.village for c in cadres), key=lambda v: distance_m(
                v.lat, v.lon, *centre))
            there = around(rng, (other.lat, other.lon), 300)
            gap = round(distance_m(*there, *centre) / rng.uniform(55, 165))
        second = clean(rng, cadre, start + timedelta(seconds=gap))
        second.payload["location"].update(lat=there[0], lon=there[1])
        for rec in (first, second):
            rec.fake = rules.IMPOSSIBLE_TRAVEL
            add(rec)

        # A visit without a fix is no fake (location is never required); this one stays, as an
        # honest record, so that the county is the same draw as when it was planted as one.
        rec = clean(rng, cadre, quiet_evening(rng, cadre, days))
        rec.payload["location"] = None
        add(rec)

        own = [(r, p) for r, p in honest_photos if r.cadre is cadre]
        source, photo = rng.choice(own or honest_photos)
        homes = [h for h in cadre.households
                 if h["lat"] is not None and h["id"] != source.payload["household_id"]]
        rec = clean(rng, cadre, quiet_evening(rng, cadre, days), rng.choice(homes))
        rec.photos.append({"same_as": photo})  # the same file sent again
        rec.fake = "reuse_same_cadre"
        add(rec)

        others = [(r, p) for r, p in honest_photos if r.cadre is not cadre]
        source, photo = rng.choice(others)
        rec = clean(rng, cadre, quiet_evening(rng, cadre, days))
        rec.photos.append({"copy_of": photo, "scale": rng.uniform(0.35, 0.8),
                           "quality": rng.randint(35, 85)})  # forwarded through a chat app
        rec.fake = "reuse_other_cadre"
        add(rec)

        rec = clean(rng, cadre, quiet_evening(rng, cadre, days))
        local = datetime.fromisoformat(rec.payload["occurred_at"]).astimezone(ZONE)
        taken = local.replace(tzinfo=None) - timedelta(hours=rng.uniform(6, 96))
        point = (rec.payload["location"]["lat"], rec.payload["location"]["lon"])
        rec.photos.append({"spec": (rng.getrandbits(32), taken, point, cadre.camera)})
        rec.fake = rules.EXIF_TIME
        add(rec)

        rec = clean(rng, cadre, quiet_evening(rng, cadre, days))
        local = datetime.fromisoformat(rec.payload["occurred_at"]).astimezone(ZONE)
        elsewhere = around(rng, centre, 25_000, cadre.village.geofence_m + 4_000)
        rec.photos.append({"spec": (rng.getrandbits(32), local.replace(tzinfo=None)
                                    + timedelta(minutes=rng.randint(-5, 5)), elsewhere,
                                    cadre.camera)})
        rec.fake = rules.EXIF_PLACE
        add(rec)

        rec = clean(rng, cadre, quiet_evening(rng, cadre, days))
        rec.photos.append({"spec": (rng.getrandbits(32), None, None, None), "png": True})
        rec.fake = rules.NO_EXIF
        add(rec)

    for n in range(max(1, per_kind // 5)):  # bursts of six, each claiming five mornings
        cadre = cadres[(3 * n + 1) % len(cadres)]
        evening = quiet_evening(rng, cadre, days)
        day = evening.astimezone(ZONE).date()
        for k in range(6):
            claimed = utc(day - timedelta(days=5 - k), time(7, 30)) + timedelta(
                seconds=rng.randint(0, 1800))
            rec = clean(rng, cadre, claimed)
            rec.payload["device_created_at"] = (evening + timedelta(seconds=90 * k + rng.randint(
                0, 60))).isoformat()
            rec.fake = rules.BACKFILL
            add(rec)


# --- photos -------------------------------------------------------------------------------------

def paint(spec) -> bytes:
    """Paint one photo (in a worker process): seed, camera-local time, GPS point, camera."""
    seed, taken, point, camera = spec
    rng = random.Random(seed)
    if taken is None:  # a screenshot: the gallery's picture, saved as PNG with no EXIF
        data = scene_jpeg(rng, taken_at=datetime(2026, 1, 1), point=None, camera=("x", "y"))
        with Image.open(io.BytesIO(data)) as img:
            out = io.BytesIO()
            img.convert("RGB").resize((1080, 810)).save(out, "PNG")
        return out.getvalue()
    return scene_jpeg(rng, taken_at=taken, point=point, camera=camera)


def paint_all(records: list[Rec], workers: int) -> None:
    """Paint every photo spec in parallel and put the bytes in place."""
    todo = [p for r in records for p in r.photos if "spec" in p]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for photo, data in zip(todo, pool.map(paint, [p["spec"] for p in todo], chunksize=8),
                               strict=True):
            photo["bytes"] = data
    for r in records:
        for photo in r.photos:
            if "same_as" in photo:
                photo["bytes"] = photo["same_as"]["bytes"]
            elif "copy_of" in photo:
                photo["bytes"] = forwarded(photo["copy_of"]["bytes"], photo["scale"],
                                           photo["quality"])


@contextmanager
def hooks_off():
    """Switch off the API's own after-commit flag hooks, so a call and its flags time apart.

    The explicit compute_*_flags calls that follow each API call do what the hooks do.
    """
    from fieldlog.services.records.events import records_committed

    with records_committed.muted():
        yield


# --- sending ------------------------------------------------------------------------------------

def send(client, county: County, timer: Stopwatch) -> None:
    """Sync each cadre's records day by day (by creation time), then upload their photos."""
    batches: dict[tuple[date, int], list[Rec]] = defaultdict(list)
    for rec in county.records:
        batches[(rec.created.astimezone(ZONE).date(), rec.cadre.user.id)].append(rec)
    for (_day, _cadre), recs in sorted(batches.items()):
        headers = recs[0].cadre.headers
        for rec in recs:
            rec.payload["photo_ids"] = [p.setdefault("id", str(uuid.uuid4())) for p in rec.photos]
        with timer("sync"):
            response = client.post("/api/v1/sync", json={"records": [r.payload for r in recs]},
                                   headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        assert all(a["status"] == "stored" for a in response.get_json()["results"]), \
            response.get_json()
        with timer("visit flags"):
            compute_visit_flags([r.id for r in recs])
        for rec in recs:
            for photo in rec.photos:
                with timer("upload"):
                    send_photo(client, headers, rec.id, photo["bytes"], photo["id"])
                with timer("photo flags"):
                    compute_photo_flags([photo["id"]])
                county.photo_count += 1


def send_photo(client, headers: dict, record_id: str, data: bytes,
               photo_id: str | None = None) -> str:
    """Upload a photo for a visit through the API; return its id."""
    photo_id = photo_id or str(uuid.uuid4())
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), "p.jpg"),
                                       "record_type": "visit", "record_id": record_id})
    response = client.put(f"/api/v1/photos/{photo_id}", data=body, headers=headers,
                          content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 201, response.get_json()
    return photo_id


def generate(client, *, seed: int, villages: int = 20, households: int = 30, days: int = 60,
             photo_share: float = 0.12, per_kind: int = 10, workers: int = 2,
             timer: Stopwatch | None = None) -> County:
    """Build the county, plant the fakes, send everything through the API; return what was sent."""
    rng, timer = random.Random(seed), timer or Stopwatch()
    cadres = build_org(rng, villages, households, hash_password("integrity-bench"))
    today = datetime.now(ZONE).date()
    span = [today - timedelta(days=days - k) for k in range(days)]  # up to yesterday
    county = County(cadres, [], span)
    for cadre in cadres:
        county.records += list(honest_days(rng, cadre, span, photo_share))
    drop_fixes(random.Random(seed + 1), county.records, UNLOCATED_SHARE)
    with timer("paint"):
        paint_all(county.records, workers)  # fakes reuse honest photos: paint those first
    plant(rng, county, per_kind)
    with timer("paint"):
        paint_all(county.planted(), workers)
    with hooks_off():
        send(client, county, timer)
    return county
