"""Build the demo county: townships, villages, households, users, past visits and photos.

Everything is drawn from one `random.Random(seed)`, so a seed always gives the same county;
only the dates move, because the visits end yesterday.
"""
import random
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
    OrgUnit,
    Photo,
    RecordVersion,
    User,
    Visit,
)
from fieldlog.models.base import utcnow
from fieldlog.schemas.sync import VisitInSchema
from fieldlog.services.demo import data as vocab
from fieldlog.services.demo.photos import scene_jpeg
from fieldlog.services.demo.places import (
    PASSWORD,
    USERNAMES,
    Secretary,
    around,
    build_households,
    build_org,
    build_users,
    draw_uuid,
)
from fieldlog.services.demo.records import build_demo_records
from fieldlog.services.records.content import content_hash, version_content
from fieldlog.services.records.photos import process_photo
from fieldlog.services.records.uploads import photo_store
from fieldlog.storage import PhotoStore, photo_keys
from fieldlog.timefmt import iso_utc, to_utc_naive

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

    county, townships, villages = build_org(run.rng)
    registers = {v.id: build_households(run.rng, v, term_start) for v in villages}
    secretaries, users = build_users(run.rng, county, townships, villages, registers, term_start)

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


def _day_of_visits(run: _Run, sec: Secretary, day: date, count: int):
    """Yield (visit row, photo ids) for one day, walking from door to door."""
    local = datetime.combine(day, DAY_START) + timedelta(
        minutes=run.rng.randint(0, 560 - 70 * count), seconds=run.rng.randint(0, 59))
    for _ in range(count):
        if local.time() > DAY_END:
            return
        yield _visit(run, sec, local)
        local += timedelta(minutes=run.rng.randint(25, 90), seconds=run.rng.randint(0, 59))


def _pick_household(rng: random.Random, sec: Secretary) -> dict:
    """Prefer the 三老/三户 and households not visited yet, as the term's goals ask."""
    priority = set(PRIORITY_TAGS)
    weights = [(3 if row["tags"] & priority else 1) / (1 + 3 * sec.visits.get(row["id"], 0))
               for row in sec.households]
    return rng.choices(sec.households, weights=weights)[0]


def _visit(run: _Run, sec: Secretary, local: datetime) -> tuple[dict, list[str]]:
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
                else around(rng, sec.village.lat, sec.village.lon, 400))
        lat, lon = around(rng, *base, accuracy * 0.8)
        location = {"lat": round(lat, 6), "lon": round(lon, 6), "accuracy_m": accuracy,
                    "located_at": iso_utc(occurred - timedelta(seconds=rng.randint(3, 90)))}
    photo_ids = ([draw_uuid(rng) for _ in range(rng.choice([1, 1, 1, 2]))]
                 if rng.random() < 0.4 else [])
    requests = vocab.compose_requests(rng)
    payload = {  # what the phone would send for this visit
        "type": "visit", "id": draw_uuid(rng), "household_id": home["id"],
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

def _photo(run: _Run, sec: Secretary, visit: dict, photo_id: str) -> dict:
    """Paint a photo for a visit, store its sizes and return its row (as receive_photo makes it)."""
    rng = run.rng
    taken = visit["occurred_at"] + timedelta(seconds=rng.randint(-240, 600))
    if visit["lat"] is not None:
        point = around(rng, visit["lat"], visit["lon"], 15)
    else:  # without a fix for the record, the camera may still have had one
        point = (around(rng, sec.village.lat, sec.village.lon, 500) if rng.random() < 0.5
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
