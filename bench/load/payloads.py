"""What a simulated cadre sends in an evening: records as the phone's outbox sends them, photos.

Kept apart from the locustfile so that the test suite can check the payloads against the sync
schema without locust (tests/test_load_stack.py).
"""
from __future__ import annotations

import io
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.load.county import HOUSEHOLDS_PER_VILLAGE, household_id

PHOTO_SOURCES = ["jpg_gps_DSCN0010.jpg", "jpg_gps_DSCN0021.jpg",
                 "jpg_mobile_HMD_Nokia_8.3_5G.jpg", "jpg_orientation_landscape_3.jpg",
                 "jpg_orientation_portrait_6.jpg"]
TESTDATA = Path("/work/shared/testdata/photos")
HEARD = ["老人腿脚不便，儿子在外打工，家中两亩茶园无人管护。",
         "反映村口路灯坏了三盏，晚上出行不便。", "低保年审材料已交，询问何时有结果。",
         "今年玉米收成比去年好，想扩种辣椒。"]
MEETINGS = ["branch_committee", "party_group", "villagers_say", "two_committees"]
ACTIONS = ["party_lecture", "practical_deed", "activity", "plan", "pledge"]
CATEGORIES = ["infrastructure", "other"]
# Of a batch's records: mostly visits, as in the demo county and the seeds' ledgers.
KIND_WEIGHTS = {"visit": 6, "meeting": 1, "ledger_item": 2, "action": 1}


def village_centre(village: int) -> tuple[float, float]:
    """The generated county's centre of a village (bench_progress: 26.0 + …, 106.0 + …)."""
    return 26.0 + (village - 22) * 0.01, 106.0 + (village % 15) * 0.02


def _base(kind: str, village: int, rng: random.Random, now: datetime) -> dict:
    at = now - timedelta(minutes=rng.randint(5, 240))
    lat, lon = village_centre(village)
    return {"type": kind, "id": str(uuid.uuid4()), "occurred_at": at.isoformat(),
            "device_created_at": (at + timedelta(minutes=1)).isoformat(),
            "location": {"lat": round(lat + rng.uniform(-0.003, 0.003), 6),
                         "lon": round(lon + rng.uniform(-0.003, 0.003), 6),
                         "accuracy_m": rng.choice([8.0, 12.0, 25.0]),
                         "located_at": at.isoformat()}}


def record(kind: str, village: int, rng: random.Random, now: datetime | None = None,
           photo_ids: list[str] | None = None) -> dict:
    """Return one record of `kind` for a cadre of `village`, as the phone sends it."""
    now = now or datetime.now(UTC)
    data = _base(kind, village, rng, now)
    household = household_id(village, rng.randrange(HOUSEHOLDS_PER_VILLAGE))
    if kind == "visit":
        data.update(household_id=household, heard=rng.choice(HEARD) * rng.randint(1, 3),
                    requests=rng.choice(["", "希望协调修缮屋后排水沟。"]),
                    follow_up=rng.random() < 0.3)
    elif kind == "meeting":
        data.update(meeting_type=rng.choice(MEETINGS), place="村委会议室", host="第一书记",
                    expected_count=9, attended_count=rng.randint(5, 9), topics="研究产业发展")
    elif kind == "ledger_item":
        data.update(household_id=household, category=rng.choice(CATEGORIES),
                    content="修缮屋后排水沟", handler="village_committee")
    elif kind == "action":
        data.update(action_type=rng.choice(ACTIONS), title="为群众办实事",
                    state=rng.choice(["planned", "under_way"]))
    else:
        raise ValueError(kind)
    if photo_ids and kind != "ledger_item":
        data["photo_ids"] = photo_ids
    return data


def evening_batch(village: int, rng: random.Random, now: datetime | None = None,
                  ) -> tuple[list[dict], dict[str, str]]:
    """Return 1–6 records of mixed types and 0–3 photo ids mapped to the visit they belong to."""
    kinds = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()),
                        k=rng.randint(1, 6))
    photos: dict[str, str] = {}
    records = []
    budget = rng.randint(0, 3)
    for kind in kinds:
        ids = []
        if kind == "visit" and budget:
            ids = [str(uuid.uuid4()) for _ in range(rng.randint(1, budget))]
            budget -= len(ids)
        data = record(kind, village, rng, now, ids)
        photos.update({photo: data["id"] for photo in ids})
        records.append(data)
    return records, photos


def phone_photos(folder: Path, sources: list[str] = PHOTO_SOURCES, long_side: int = 1600,
                 ) -> list[bytes]:
    """Return phone-sized JPEGs (~200–400 KB, EXIF kept) made once from the test photos.

    The phone downscales before upload (DESIGN.md); the files go to `folder` (a temp folder),
    never into the repository.
    """
    from PIL import Image, ImageOps

    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for name in sources:
        target = folder / (Path(name).stem + ".jpg")
        if not target.exists():
            with Image.open(TESTDATA / name) as image:
                exif = image.info.get("exif", b"")
                small = ImageOps.contain(image.convert("RGB"),
                                         (long_side, long_side))
                if max(image.size) < long_side:  # a small source: scale it up to phone size
                    factor = long_side / max(image.size)
                    small = image.convert("RGB").resize(
                        (round(image.width * factor), round(image.height * factor)))
                buffer = io.BytesIO()
                small.save(buffer, "JPEG", quality=80, exif=exif)
            target.write_bytes(buffer.getvalue())
        made.append(target.read_bytes())
    return made
