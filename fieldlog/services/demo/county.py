"""Build the demo county: townships, villages, households, users, past visits and photos.

Everything is drawn from one `random.Random(seed)`, so a seed always gives the same county;
only the dates move, because the visits end yesterday.
"""
import math
import random
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import insert, select

from fieldlog import clock
from fieldlog.domain import PRIORITY_TAGS
from fieldlog.errors import Conflict
from fieldlog.extensions import db
from fieldlog.models import (
    Assignment,
    DeviceToken,
    Household,
    HouseholdTag,
    OrgUnit,
    Photo,
    RecordVersion,
    User,
    Visit,
)
from fieldlog.models.base import utcnow
from fieldlog.schemas.sync import VisitInSchema
from fieldlog.services.common.geo import distance_m
from fieldlog.services.demo import data as vocab
from fieldlog.services.demo.photos import scene_jpeg
from fieldlog.services.demo.records import build_demo_records
from fieldlog.services.org.units import add_unit
from fieldlog.services.people.auth import hash_password
from fieldlog.services.records.photos import process_photo
from fieldlog.services.records.sync import content_hash, version_content
from fieldlog.services.records.uploads import photo_store
from fieldlog.storage import PhotoStore, photo_keys
from fieldlog.timefmt import iso_utc, to_utc_naive

PASSWORD = "demo1234"
USERNAMES = [f"sec{n:02d}" for n in range(1, 9)] + ["sup_town", "sup_county", "inspector", "admin"]
DAY_START, DAY_END = time(8, 30), time(18, 30)
_visit_schema = VisitInSchema()


@dataclass
class _Run:
    """What every step of one build shares."""

    rng: random.Random
    paint: random.Random  # its own stream, so repainting photos leaves the county alone
    zone: ZoneInfo
    now: datetime  # naive UTC
    store: PhotoStore
    heard_so_far: set[str] = field(default_factory=set)


@dataclass
class _Secretary:
    user: User
    village: OrgUnit
    households: list[dict]
    camera: tuple[str, str]  # make and model of their phone
    token: DeviceToken  # the phone that synced their visits
    visits: dict[str, int] = field(default_factory=dict)  # household id → visits so far


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def build_demo_county(seed: int, today: date | None = None) -> str:
    """Create the demo county from `seed`, commit it, and return a one-paragraph summary.

    Its weeks of history end on `today` (the county's day by the app clock unless given), so the
    demo looks the same relative to whichever day it is loaded on.
    """
    loaded = (select(OrgUnit.id).where(OrgUnit.code == vocab.COUNTY["code"]).exists()
              | select(User.id).where(User.username.in_(USERNAMES)).exists())
    if db.session.scalar(select(loaded)):
        raise Conflict("The demo county or its users already exist; load it into an empty "
                       "database.", code="demo_exists")
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")
    run = _Run(random.Random(seed), random.Random(f"{seed}/photos"), zone, utcnow(),
               photo_store())
    today = today or clock.today_in(zone)
    # two-year terms from 1 March: today is always well inside one (ten months in at the least,
    # two left at the most), whatever day the demo is loaded on
    term_start = date(today.year - 1, 3, 1)

    county, townships, villages = _build_org(run.rng)
    registers = {v.id: _build_households(run.rng, v, term_start) for v in villages}
    secretaries, users = _build_users(run.rng, county, townships, villages, registers, term_start)

    weeks = int(current_app.config.get("DEMO_WEEKS", 6))
    first_day = today - timedelta(days=7 * weeks)
    visits, photos, versions = [], [], []
    for sec in secretaries:
        for day, count in _visit_days(run.rng, first_day, today):
            for visit, photo_ids in _day_of_visits(run, sec, day, count):
                versions.append({  # version 1, as sync keeps it, for the history pages
                    "record_type": "visit", "record_id": visit["id"], "version": 1,
                    "data": visit.pop("_content"), "author_id": visit["author_id"],
                    "device_id": visit["device_id"], "received_at": visit["received_at"]})
                visits.append(visit)
                photos += [_photo(run, sec, visit, photo_id) for photo_id in photo_ids]
                sec.token.last_used_at = visit["received_at"]
    if visits:  # DEMO_WEEKS may be 0: a county with no history yet
        db.session.execute(insert(Visit), visits)
        db.session.execute(insert(RecordVersion), versions)
    if photos:
        db.session.execute(insert(Photo), photos)
    db.session.commit()
    more = build_demo_records(run.rng, secretaries, {u.username: u for u in users}, first_day,
                              today, zone)

    households = sum(len(r) for r in registers.values())
    return (f"Demo county {county.name}: {len(townships)} townships, {len(villages)} villages, "
            f"{households} households, {len(users)} users, {len(visits)} visits, "
            f"{len(photos)} photos{_more(more)}. Password for every demo user: {PASSWORD}")


def _more(counts: dict[str, int]) -> str:
    """Describe the records beyond visits (none in a county with no history yet)."""
    return "".join(f", {n} {name}" for name, n in counts.items())


# --- the org tree -------------------------------------------------------------------------------

def _offset(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    """Move a point by metres east and north (good enough over a few kilometres)."""
    return (lat + north_m / 111_320,
            lon + east_m / (111_320 * math.cos(math.radians(lat))))


def _around(rng: random.Random, lat: float, lon: float, max_m: float,
            min_m: float = 0.0) -> tuple[float, float]:
    """Return a random point between min_m and max_m from (lat, lon)."""
    angle = rng.uniform(0, 2 * math.pi)
    radius = math.sqrt(rng.uniform((min_m / max_m) ** 2, 1)) * max_m  # uniform over the disc
    return _offset(lat, lon, radius * math.cos(angle), radius * math.sin(angle))


def _build_org(rng: random.Random):
    """Add the county, 3 townships and 8 villages 3–15 km from their nearest neighbours."""
    c = vocab.COUNTY
    county = add_unit(None, c["code"], c["name"])
    town_names = rng.sample(vocab.TOWNSHIP_NAMES, 3)
    village_names = rng.sample(vocab.VILLAGE_NAMES, 8)
    per_town = rng.sample([3, 3, 2], 3)
    while True:  # rejection sampling (a few dozen tries at most): no village crowded or stranded
        first = rng.uniform(0, 2 * math.pi)
        angles, radii = [first + i * 2 * math.pi / 3 for i in range(3)], [
            rng.uniform(7_000, 10_000) for _ in range(3)]
        centres = [_offset(c["lat"], c["lon"], r * math.cos(a), r * math.sin(a))
                   for a, r in zip(angles, radii, strict=True)]
        points = [_around(rng, *centres[t], 6_000, 2_500)
                  for t in range(3) for _ in range(per_town[t])]
        gaps = [[distance_m(*p, *q) for q in points if q is not p] for p in points]
        if all(3_000 <= min(g) <= 15_000 for g in gaps):
            break

    townships, villages, n, serial = [], [], 0, {"镇": 100, "乡": 200}  # towns 1xx, townships 2xx
    for t, name in enumerate(town_names):
        code = f"{c['code']}{serial[name[-1]]:03d}"
        serial[name[-1]] += 1
        town = add_unit(county, code, name, lat=round(centres[t][0], 6),
                        lon=round(centres[t][1], 6))
        townships.append(town)
        for k in range(per_town[t]):
            lat, lon = points[n]
            villages.append(add_unit(town, f"{code}{201 + k:03d}", village_names[n],
                                     lat=round(lat, 6), lon=round(lon, 6),
                                     geofence_m=rng.randrange(800, 2001, 100)))
            n += 1
    return county, townships, villages


# --- households ---------------------------------------------------------------------------------

def _surname(rng: random.Random) -> str:
    return rng.choices(list(vocab.SURNAMES), weights=list(vocab.SURNAMES.values()))[0]


def _phone(rng: random.Random) -> str:
    return rng.choice(vocab.PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def _build_households(rng: random.Random, village, term_start: date) -> list[dict]:
    """Insert 35–45 households with labels, members, phones, places and tags; return their rows."""
    by_group = rng.random() < 0.5  # "3组12号" or "上寨15号"
    groups = ([f"{g}组" for g in range(1, rng.randint(4, 7) + 1)] if by_group
              else rng.sample(vocab.HAMLETS, rng.randint(3, 5)))
    hamlet_at = {g: _around(rng, village.lat, village.lon, 420, 120) for g in groups}
    clans = rng.sample(list(vocab.SURNAMES)[:24], rng.randint(2, 3))  # a village's big families
    imported = datetime.combine(term_start + timedelta(days=rng.randint(10, 40)), time(2, 0))

    rows, names, numbers = [], set(), dict.fromkeys(groups, 0)
    for _ in range(rng.randint(35, 45)):
        group = rng.choice(groups)
        numbers[group] += rng.choice([1, 1, 1, 2, 3])
        while True:
            surname = rng.choice(clans) if rng.random() < 0.5 else _surname(rng)
            given = rng.choice(vocab.ELDER_MEN if rng.random() < 0.8 else vocab.ELDER_WOMEN)
            if surname + given not in names:
                break
        names.add(surname + given)
        located = rng.random() < 0.7
        lat, lon = _around(rng, *hamlet_at[group], 170) if located else (None, None)
        rows.append({
            "id": _uuid(rng),
            "village_id": village.id, "head_name": surname + given,
            "house_label": f"{group}{numbers[group]}号",
            "member_count": rng.choices(range(1, 8), weights=[10, 26, 24, 18, 11, 7, 4])[0],
            "phone": _phone(rng) if rng.random() < 0.85 else None,
            "lat": round(lat, 6) if located else None, "lon": round(lon, 6) if located else None,
            "created_at": imported,
        })
    tags = _assign_tags(rng, rows)
    db.session.execute(insert(Household), rows)
    tag_rows = [{"household_id": row["id"], "tag": tag}
                for row in rows for tag in sorted(tags[row["id"]])]
    if tag_rows:
        db.session.execute(insert(HouseholdTag), tag_rows)
    for row in rows:
        row["tags"] = tags[row["id"]]
    return rows


def _assign_tags(rng: random.Random, rows: list[dict]) -> dict[str, set[str]]:
    """Tag households with realistic frequencies; many get no tag at all."""
    tags = {row["id"]: set() for row in rows}

    def give(tag: str, count: int, fits=lambda row: True) -> None:
        pool = [row for row in rows if fits(row)]
        for row in rng.sample(pool, min(count, len(pool))):
            tags[row["id"]].add(tag)

    def has(row, *names) -> bool:
        return bool(tags[row["id"]] & set(names))

    n = len(rows)
    give("five_guarantees", rng.choice([0, 0, 1, 1, 2]), lambda r: r["member_count"] == 1)
    give("hardship", round(n * rng.uniform(0.10, 0.15)), lambda r: r["member_count"] <= 4)
    give("low_income", rng.randint(1, 2), lambda r: has(r, "hardship"))
    give("low_income", rng.randint(0, 2), lambda r: not has(r, "low_income"))
    give("monitored", rng.randint(1, 3), lambda r: not has(r, "five_guarantees"))
    give("disability", rng.randint(1, 3))
    give("left_behind_elderly", rng.randint(2, 5), lambda r: r["member_count"] <= 2)
    give("left_behind_children", rng.randint(1, 4), lambda r: r["member_count"] >= 3)
    give("well_off", rng.randint(1, 3), lambda r: not tags[r["id"]] and r["member_count"] >= 3)
    give("old_party_member", rng.randint(2, 4))
    give("retired_cadre", rng.randint(0, 2), lambda r: not has(r, "five_guarantees", "hardship"))
    give("model_worker", rng.choice([0, 1, 1, 2]))
    give("petitioner", rng.choice([0, 1, 1, 2]), lambda r: not has(r, "retired_cadre"))
    return tags


# --- people -------------------------------------------------------------------------------------

def _build_users(rng, county, townships, villages, registers, term_start):
    """Add a secretary per village and the reviewers; return (secretaries, all users)."""
    password_hash = hash_password(PASSWORD)  # scrypt is slow: hash once for every demo user
    created = datetime.combine(term_start - timedelta(days=3), time(1, 30))
    taken = set()

    def person() -> str:
        while (name := _surname(rng) + rng.choice(vocab.CADRE_NAMES)) in taken:
            pass
        taken.add(name)
        return name

    def user(username: str, role: str, unit) -> User:
        row = User(username=username, display_name=person(), role=role, scope_unit_id=unit.id,
                   phone=_phone(rng), password_hash=password_hash, created_at=created)
        db.session.add(row)
        return row

    secretaries = []
    units = rng.sample(vocab.DISPATCHING_UNITS, len(villages))
    for n, village in enumerate(villages, start=1):
        sec = user(f"sec{n:02d}", "secretary", village)
        db.session.flush()
        camera = rng.choice(vocab.DEVICES)
        # The phone the visits came from. Its hash is random, not seeded, so no raw token
        # matches it: the demo ships no usable bearer token.
        token = DeviceToken(id=_uuid(rng), user_id=sec.id, token_hash=secrets.token_hex(32),
                            label=f"{camera[0]} {camera[1]} · Chrome", created_at=created)
        start = term_start if rng.random() < 0.85 else term_start + timedelta(days=184)
        db.session.add_all([token, Assignment(
            user_id=sec.id, village_id=village.id, start_date=start,
            end_date=date(term_start.year + 2, 3, 1) - timedelta(days=1),
            dispatching_unit=units[n - 1])])
        secretaries.append(_Secretary(sec, village, registers[village.id], camera, token))
    reviewers = [user("sup_town", "supervisor", townships[0]),
                 user("sup_county", "supervisor", county),
                 user("inspector", "inspector", county), user("admin", "admin", county)]
    db.session.flush()
    return secretaries, [s.user for s in secretaries] + reviewers


# --- visits -------------------------------------------------------------------------------------

def _visit_days(rng: random.Random, first: date, today: date) -> list[tuple[date, int]]:
    """Return (day, visits) for one secretary: 2–5 visits a week on working days, to yesterday."""
    days: dict[date, int] = {}
    monday = first - timedelta(days=first.weekday())
    while monday < today:
        workdays = [d for d in (monday + timedelta(days=i) for i in range(5)) if first <= d < today]
        count = round(rng.choice([2, 3, 3, 4, 4, 5]) * len(workdays) / 5)
        for day in rng.choices(workdays, k=count) if workdays else []:
            days[day] = days.get(day, 0) + 1
        monday += timedelta(days=7)
    return sorted(days.items())


def _day_of_visits(run: _Run, sec: _Secretary, day: date, count: int):
    """Yield (visit row, photo ids) for one day, walking from door to door."""
    local = datetime.combine(day, DAY_START) + timedelta(
        minutes=run.rng.randint(0, 560 - 70 * count), seconds=run.rng.randint(0, 59))
    for _ in range(count):
        if local.time() > DAY_END:
            return
        yield _visit(run, sec, local)
        local += timedelta(minutes=run.rng.randint(25, 90), seconds=run.rng.randint(0, 59))


def _pick_household(rng: random.Random, sec: _Secretary) -> dict:
    """Prefer the 三老/三户 and households not visited yet, as the term's goals ask."""
    priority = set(PRIORITY_TAGS)
    weights = [(3 if row["tags"] & priority else 1) / (1 + 3 * sec.visits.get(row["id"], 0))
               for row in sec.households]
    return rng.choices(sec.households, weights=weights)[0]


def _visit(run: _Run, sec: _Secretary, local: datetime) -> tuple[dict, list[str]]:
    """Return one visit row, hashed as the same visit replayed from the phone would be."""
    rng = run.rng
    home = _pick_household(rng, sec)
    sec.visits[home["id"]] = sec.visits.get(home["id"], 0) + 1
    occurred = to_utc_naive(local.replace(tzinfo=run.zone))
    created = occurred + timedelta(seconds=rng.randint(5, 480))
    synced_after = (timedelta(minutes=rng.randint(1, 20)) if rng.random() < 0.4
                    else timedelta(minutes=rng.randint(60, 360)))  # out of signal until evening
    location = None
    if rng.random() < 0.9:
        accuracy = round(rng.triangular(5, 40, 12), 1)
        base = ((home["lat"], home["lon"]) if home["lat"] is not None
                else _around(rng, sec.village.lat, sec.village.lon, 400))
        lat, lon = _around(rng, *base, accuracy * 0.8)
        location = {"lat": round(lat, 6), "lon": round(lon, 6), "accuracy_m": accuracy,
                    "located_at": iso_utc(occurred - timedelta(seconds=rng.randint(3, 90)))}
    photo_ids = ([_uuid(rng) for _ in range(rng.choice([1, 1, 1, 2]))]
                 if rng.random() < 0.4 else [])
    requests = vocab.compose_requests(rng)
    payload = {  # what the phone would send for this visit
        "type": "visit", "id": _uuid(rng), "household_id": home["id"],
        "occurred_at": iso_utc(occurred), "device_created_at": iso_utc(created),
        "heard": _heard(run, home), "requests": requests,
        "follow_up": bool(requests) and rng.random() < 0.36, "location": location,
        "photo_ids": photo_ids,
    }
    data = _visit_schema.load(payload)
    row = {
        "id": payload["id"], "author_id": sec.user.id, "village_id": sec.village.id,
        "household_id": home["id"], "occurred_at": occurred, "device_created_at": created,
        "received_at": min(created + synced_after, run.now - timedelta(minutes=1)),
        "heard": payload["heard"], "requests": requests, "follow_up": payload["follow_up"],
        "lat": None, "lon": None, "accuracy_m": None, "located_at": None,
        "photo_count": len(photo_ids), "device_id": sec.token.id, "version": 1,
        "status": "submitted", "content_hash": content_hash(data),
        "_content": version_content(data),
    }
    if location:
        row.update(lat=location["lat"], lon=location["lon"], accuracy_m=location["accuracy_m"],
                   located_at=to_utc_naive(data["location"]["located_at"]))
    return row, photo_ids


def _heard(run: _Run, home: dict) -> str:
    """Compose what was heard on a visit, never the same text twice in the county."""
    for _ in range(20):
        text = vocab.compose_heard(run.rng, home["tags"], home["member_count"])
        if text not in run.heard_so_far:
            break
    run.heard_so_far.add(text)
    return text


# --- photos -------------------------------------------------------------------------------------

def _photo(run: _Run, sec: _Secretary, visit: dict, photo_id: str) -> dict:
    """Paint a photo for a visit, store its sizes and return its row (as receive_photo makes it)."""
    rng = run.rng
    taken = visit["occurred_at"] + timedelta(seconds=rng.randint(-240, 600))
    if visit["lat"] is not None:
        point = _around(rng, visit["lat"], visit["lon"], 15)
    else:  # without a fix for the record, the camera may still have had one
        point = (_around(rng, sec.village.lat, sec.village.lon, 500) if rng.random() < 0.5
                 else None)
    local_taken = taken.replace(tzinfo=UTC).astimezone(run.zone).replace(tzinfo=None)
    data = scene_jpeg(run.paint, taken_at=local_taken, point=point, camera=sec.camera)
    config = current_app.config
    processed = process_photo(data, max_bytes=config["MAX_PHOTO_BYTES"],
                              max_pixels=config["MAX_PHOTO_PIXELS"])
    keys = photo_keys(photo_id)
    run.store.put(keys["original"], processed.original, processed.content_type)
    run.store.put(keys["display"], processed.display, "image/jpeg")
    run.store.put(keys["thumb"], processed.thumb, "image/jpeg")
    facts = processed.facts
    return {
        "id": photo_id, "owner_id": sec.user.id, "record_type": "visit", "record_id": visit["id"],
        "received_at": min(visit["received_at"] + timedelta(seconds=rng.randint(3, 90)),
                           run.now - timedelta(seconds=30)),
        "content_type": processed.content_type, "byte_size": len(processed.original),
        "sha256": processed.sha256, "width": facts.width, "height": facts.height,
        "original_key": keys["original"], "display_key": keys["display"],
        "thumb_key": keys["thumb"], "taken_at": facts.taken_at, "lat": facts.lat,
        "lon": facts.lon,
        "facts_source": "file" if facts.taken_at or facts.lat is not None else None,
        "camera_make": facts.camera_make, "camera_model": facts.camera_model,
    }
