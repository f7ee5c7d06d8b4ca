"""The demo county's places and people: the org tree, each village's households, the users.

Drawn from the build's one random stream (`county.build_demo_county` passes it in), so a seed
always gives the same county.
"""
import math
import random
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import insert

from fieldlog.extensions import db
from fieldlog.models import Assignment, DeviceToken, Household, HouseholdTag, OrgUnit, User
from fieldlog.services.common.geo import distance_m
from fieldlog.services.demo import data as vocab
from fieldlog.services.org.units import add_unit
from fieldlog.services.people.auth import hash_password

PASSWORD = "demo1234"
USERNAMES = [f"sec{n:02d}" for n in range(1, 9)] + ["sup_town", "sup_county", "inspector", "admin"]


@dataclass
class Secretary:
    user: User
    village: OrgUnit
    households: list[dict]
    camera: tuple[str, str]  # make and model of their phone
    token: DeviceToken  # the phone that synced their visits
    visits: dict[str, int] = field(default_factory=dict)  # household id → visits so far


def draw_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# --- the org tree -------------------------------------------------------------------------------

def _offset(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    """Move a point by metres east and north (good enough over a few kilometres)."""
    return (lat + north_m / 111_320,
            lon + east_m / (111_320 * math.cos(math.radians(lat))))


def around(rng: random.Random, lat: float, lon: float, max_m: float,
            min_m: float = 0.0) -> tuple[float, float]:
    """Return a random point between min_m and max_m from (lat, lon)."""
    angle = rng.uniform(0, 2 * math.pi)
    radius = math.sqrt(rng.uniform((min_m / max_m) ** 2, 1)) * max_m  # uniform over the disc
    return _offset(lat, lon, radius * math.cos(angle), radius * math.sin(angle))


def build_org(rng: random.Random):
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
        points = [around(rng, *centres[t], 6_000, 2_500)
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


def build_households(rng: random.Random, village, term_start: date) -> list[dict]:
    """Insert 35–45 households with labels, members, phones, places and tags; return their rows."""
    by_group = rng.random() < 0.5  # "3组12号" or "上寨15号"
    groups = ([f"{g}组" for g in range(1, rng.randint(4, 7) + 1)] if by_group
              else rng.sample(vocab.HAMLETS, rng.randint(3, 5)))
    hamlet_at = {g: around(rng, village.lat, village.lon, 420, 120) for g in groups}
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
        lat, lon = around(rng, *hamlet_at[group], 170) if located else (None, None)
        rows.append({
            "id": draw_uuid(rng),
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

def build_users(rng, county, townships, villages, registers, term_start):
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
        token = DeviceToken(id=draw_uuid(rng), user_id=sec.id, token_hash=secrets.token_hex(32),
                            label=f"{camera[0]} {camera[1]} · Chrome", created_at=created)
        start = term_start if rng.random() < 0.85 else term_start + timedelta(days=184)
        db.session.add_all([token, Assignment(
            user_id=sec.id, village_id=village.id, start_date=start,
            end_date=date(term_start.year + 2, 3, 1) - timedelta(days=1),
            dispatching_unit=units[n - 1])])
        secretaries.append(Secretary(sec, village, registers[village.id], camera, token))
    reviewers = [user("sup_town", "supervisor", townships[0]),
                 user("sup_county", "supervisor", county),
                 user("inspector", "inspector", county), user("admin", "admin", county)]
    db.session.flush()
    return secretaries, [s.user for s in secretaries] + reviewers
