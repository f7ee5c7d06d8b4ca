"""Measure the integrity flags on a synthetic county with planted fakes, and what they cost.

Prints the detection rate per kind of planted fake and overall (target ≥ 95%), the share of
honest records flagged (target ≤ 2%), and the time a 100-visit sync batch and a photo upload
take through the API, alone and with their flags computed after.

Usage: .venv/bin/python bench/bench_integrity.py [--seed 7] [--per-kind 10] [--runs 10]
       [--scale-photos 100000] [--pg postgresql+psycopg://...]
SQLite always runs; PostgreSQL with --pg or $BENCH_DATABASE_URL. About 80 s per database.
"""
import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402

from bench.common import migrated_app  # noqa: E402
from bench.integrity_generator import (  # noqa: E402
    EXPECTED,
    FAKE_KINDS,
    ZONE,
    Cadre,
    County,
    Stopwatch,
    generate,
    honest_days,
    hooks_off,
    paint,
    send_photo,
)
from fieldlog.extensions import db  # noqa: E402
from fieldlog.models import Flag, Photo, User, Visit  # noqa: E402
from fieldlog.services.integrity import rules  # noqa: E402
from fieldlog.services.integrity.flags import compute_visit_flags  # noqa: E402
from fieldlog.services.integrity.photos import candidates_query, compute_photo_flags  # noqa: E402
from fieldlog.services.people.auth import issue_device_token  # noqa: E402


def evaluate(county: County) -> dict:
    """Compare the stored flags with what was planted."""
    flags: dict[str, list[Flag]] = defaultdict(list)
    for flag in db.session.scalars(select(Flag)):
        flags[flag.record_id].append(flag)
    planted_ids = {r.id for r in county.planted()}
    per_kind: dict[str, list[int]] = {kind: [0, 0] for kind in FAKE_KINDS}
    missed = []
    for rec in county.planted():
        found = {f.kind for f in flags[rec.id]}
        per_kind[rec.fake][0] += 1
        if EXPECTED[rec.fake] in found:
            per_kind[rec.fake][1] += 1
        else:
            missed.append((rec.fake, sorted(found)))
    honest = county.honest()
    flagged = [r for r in honest if flags[r.id]]

    def only_beside_a_fake(rec) -> bool:
        return all(json.loads(f.params).get("other_id") in planted_ids for f in flags[rec.id])

    beside = [r for r in flagged if only_beside_a_fake(r)]  # e.g. a reused photo's original
    kinds = Counter(f.kind for r in flagged for f in flags[r.id]
                    if json.loads(f.params).get("other_id") not in planted_ids)
    # Before issue 10 a visit without a fix carried a no_location flag of its own: count the
    # honest records that would be flagged on their own if it still did.
    own = {r.id for r in flagged if not only_beside_a_fake(r)}
    with_no_fix = own | {r.id for r in honest if r.payload["location"] is None}
    return {"per_kind": per_kind, "missed": missed, "honest": len(honest),
            "flagged": len(flagged), "beside": len(beside), "honest_kinds": kinds,
            "with_no_fix_flag": len(with_no_fix)}


def closest_honest_photos(county: County) -> int:
    """Return the smallest dHash distance between photos of two different honest records."""
    honest = {r.id for r in county.honest()}
    hashes = [(record_id, rules.to_unsigned(h)) for record_id, h in db.session.execute(
        select(Photo.record_id, Photo.dhash).where(Photo.dhash_b0.is_not(None)))
        if record_id in honest]
    return min((bin(a ^ b).count("1") for n, (ra, a) in enumerate(hashes)
                for rb, b in hashes[n + 1:] if ra != rb), default=64)


def timings(client, county: County, runs: int, seed: int) -> dict:
    """Time 100-visit batches and photo uploads, each alone and then its flag computation.

    Each batch is a new cadre's 100 door-to-door visits over the last weeks, sent at once (a
    phone long out of signal): the largest batch a real phone sends.
    """
    rng = random.Random(seed + 1)
    result = defaultdict(list)
    for run in range(runs):
        with hooks_off():
            _time_run(client, county, rng, run, result)
        # and as deployed, right after: the API's own hook computes the flags
        cadre = extra_cadre(county.cadres[run % len(county.cadres)], 100 + run)
        records = [r.payload for r in honest_days(rng, cadre, county.days, 0.0, (3, 5))][-100:]
        start = time.perf_counter()
        response = client.post("/api/v1/sync", json={"records": records},
                               headers=cadre.headers)
        result["hooked batch"].append(time.perf_counter() - start)
        assert response.status_code == 200
    return {k: statistics.median(v) * 1000 for k, v in result.items()} | {
        f"{k} max": max(v) * 1000 for k, v in result.items()}


def _time_run(client, county: County, rng: random.Random, run: int, result: dict) -> None:
    """Time one 100-visit batch, one day's batch and one photo, each alone and its flags."""
    cadre = extra_cadre(county.cadres[run % len(county.cadres)], run)
    records = [r.payload for r in honest_days(rng, cadre, county.days, 0.0, (3, 5))][-100:]
    start = time.perf_counter()
    response = client.post("/api/v1/sync", json={"records": records},
                           headers=cadre.headers)
    result["batch"].append(time.perf_counter() - start)
    assert response.status_code == 200 and len(records) == 100
    start = time.perf_counter()
    compute_visit_flags([r["id"] for r in records])
    result["batch flags"].append(time.perf_counter() - start)
    # The usual evening sync: a day of another team member, after weeks of daily syncs.
    member = extra_cadre(county.cadres[run % len(county.cadres)], 50 + run)
    weekdays = [d for d in county.days if d.weekday() < 5]
    for past in weekdays[:-1]:
        past_day = [r.payload for r in honest_days(rng, member, [past], 0.0, (3, 3))]
        if past_day:
            client.post("/api/v1/sync", json={"records": past_day}, headers=member.headers)
            compute_visit_flags([r["id"] for r in past_day])
    day: list[dict] = []
    while not day:  # (a cadre is away one day in seven)
        day = [r.payload for r in honest_days(rng, member, weekdays[-1:], 0.0, (3, 3))]
    start = time.perf_counter()
    response = client.post("/api/v1/sync", json={"records": day}, headers=member.headers)
    result["day"].append(time.perf_counter() - start)
    assert response.status_code == 200
    start = time.perf_counter()
    compute_visit_flags([r["id"] for r in day])
    result["day flags"].append(time.perf_counter() - start)

    local = datetime.fromisoformat(records[0]["occurred_at"]).astimezone(ZONE)
    data = paint((rng.getrandbits(32), local.replace(tzinfo=None),
                  (records[0]["location"]["lat"], records[0]["location"]["lon"]),
                  cadre.camera))
    start = time.perf_counter()
    photo_id = send_photo(client, cadre.headers, records[0]["id"], data)
    result["upload"].append(time.perf_counter() - start)
    start = time.perf_counter()
    compute_photo_flags([photo_id])
    result["photo flags"].append(time.perf_counter() - start)


def extra_cadre(colleague: Cadre, n: int) -> Cadre:
    """Add a second team member to a colleague's village, with a phone token."""
    user = User(username=f"gteam{n:02d}", display_name=f"工作队员{n:02d}", role="secretary",
                scope_unit_id=colleague.village.id, password_hash=colleague.user.password_hash)
    db.session.add(user)
    db.session.commit()
    _token, raw = issue_device_token(user, "integrity bench")
    return Cadre(user, colleague.village, colleague.households, colleague.camera,
                 {"Authorization": f"Bearer {raw}"})


def lookup_at_scale(extra: int, repeats: int = 20) -> tuple[int, float, str]:
    """Add `extra` stored photos with random hashes, then time and explain one lookup.

    Returns (photos stored, median lookup ms, the database's plan for the lookup).
    """
    rng = random.Random(99)
    visit_ids = list(db.session.scalars(select(Visit.id)))
    owner = db.session.scalar(select(User.id).where(User.role == "secretary"))
    rows = []
    for n in range(extra):
        bits = rng.getrandbits(64)
        b0, b1, b2, b3 = rules.bands(bits)
        rows.append({"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                     "owner_id": owner, "record_type": "visit",
                     "record_id": rng.choice(visit_ids), "content_type": "image/jpeg",
                     "byte_size": 1, "sha256": f"{n:064x}", "width": 1, "height": 1,
                     "original_key": "x", "display_key": "x", "thumb_key": "x",
                     "dhash": rules.to_signed(bits), "dhash_b0": b0, "dhash_b1": b1,
                     "dhash_b2": b2, "dhash_b3": b3})
        if len(rows) == 5000 or n == extra - 1:
            db.session.execute(insert(Photo), rows)
            rows = []
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    photo = db.session.scalars(select(Photo).where(Photo.thumb_key != "x",
                                                   Photo.dhash_b0.is_not(None))).first()
    spent = []
    for _ in range(repeats):
        start = time.perf_counter()
        db.session.execute(candidates_query([photo])).all()
        spent.append(time.perf_counter() - start)
    query = str(candidates_query([photo]).compile(db.engine,
                                                  compile_kwargs={"literal_binds": True}))
    if db.engine.dialect.name == "sqlite":
        plan = "; ".join(str(row[-1]) for row in db.session.execute(
            text(f"EXPLAIN QUERY PLAN {query}")))
    else:
        plan = "; ".join(row[0].strip().split("  (cost")[0] for row in db.session.execute(
            text(f"EXPLAIN {query}")) if "Scan" in row[0] or "Bitmap" in row[0])
    total = db.session.scalar(select(func.count()).select_from(Photo))
    return total, statistics.median(spent) * 1000, plan


def run(url: str, args) -> None:
    wall = time.perf_counter()
    app = migrated_app(url, "fieldlog-integrity-", RATELIMIT_ENABLED=False)
    with app.app_context():
        client = app.test_client()
        watch = Stopwatch()
        county = generate(client, seed=args.seed, per_kind=args.per_kind, timer=watch)
        found = evaluate(county)
        closest = closest_honest_photos(county)
        timing = timings(client, county, args.runs, args.seed)
        scaled = lookup_at_scale(args.scale_photos)
        db.session.remove()
        db.engine.dispose()

    name = url.split(":")[0]
    planted = sum(n for n, _ in found["per_kind"].values())
    detected = sum(d for _, d in found["per_kind"].values())
    print(f"\n== {name}: {len(county.records)} visits ({len(county.planted())} planted fakes), "
          f"{county.photo_count} photos, {len(county.cadres)} cadres, "
          f"{len(county.days)} days; built and sent in {time.perf_counter() - wall:.0f} s")
    print("   " + ", ".join(f"{k} {v:.1f} s ({watch.calls[k]} calls)"
                            for k, v in watch.seconds.items()))
    print(f"{'planted fake':20} {'found':>9} {'rate':>7}")
    for kind, (n, d) in found["per_kind"].items():
        print(f"{kind:20} {d:>4}/{n:<4} {d / n:7.1%}")
    print(f"{'ALL':20} {detected:>4}/{planted:<4} {detected / planted:7.1%}   (target ≥ 95%)")
    for kind, kinds in found["missed"]:
        print(f"   missed: {kind} (flags: {', '.join(kinds) or 'none'})")
    honest, flagged, beside = found["honest"], found["flagged"], found["beside"]
    own = flagged - beside
    print(f"honest records flagged on their own: {own}/{honest} = {own / honest:.2%} (target ≤ "
          f"2%); {beside} more only as the other side of a planted fake (the original of a "
          f"reused photo): {flagged}/{honest} = {flagged / honest:.2%} in all")
    print(f"   honest flags by kind: {dict(found['honest_kinds'])}")
    unlocated = sum(1 for r in county.honest() if r.payload["location"] is None)
    again = found["with_no_fix_flag"]
    print(f"   honest visits without a GPS fix: {unlocated} (never a flag); were a missing fix "
          f"still a flag: {again}/{honest} = {again / honest:.2%} flagged on their own")
    print(f"closest two honest photos: {closest} bits apart (duplicate at ≤ "
          f"{rules.DUP_MAX_BITS})")
    print(f"100-visit batch: {timing['batch']:.1f} ms median (max {timing['batch max']:.1f}); "
          f"+ its flags {timing['batch flags']:.1f} ms (max {timing['batch flags max']:.1f}) = "
          f"+{timing['batch flags'] / timing['batch']:.0%}")
    print(f"100-visit batch through the API with its hook computing the flags: "
          f"{timing['hooked batch']:.1f} ms median")
    print(f"a day's batch (3 visits): {timing['day']:.1f} ms median; + its flags "
          f"{timing['day flags']:.1f} ms = +{timing['day flags'] / timing['day']:.0%}")
    print(f"photo upload: {timing['upload']:.1f} ms median; + its flags "
          f"{timing['photo flags']:.1f} ms (max {timing['photo flags max']:.1f}) = "
          f"+{timing['photo flags'] / timing['upload']:.0%}")
    print(f"near-duplicate lookup among {scaled[0]:,} stored photos: {scaled[1]:.1f} ms median;"
          f" plan: {scaled[2]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-kind", type=int, default=10)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--scale-photos", type=int, default=100_000,
                        help="random-hash photos added at the end to time the lookup at scale")
    parser.add_argument("--pg", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", args)
    if args.pg:
        run(args.pg, args)


if __name__ == "__main__":
    main()
