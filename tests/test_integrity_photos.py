"""Integrity flags from photos, with real camera and phone files: reuse, EXIF time and place."""
import io
import shutil
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select, text

from fieldlog import create_app
from fieldlog.extensions import db
from fieldlog.models import Flag, Photo, Visit
from fieldlog.services.demo.county import build_demo_county
from fieldlog.services.integrity import rules
from fieldlog.services.integrity.flags import compute_visit_flags
from fieldlog.services.integrity.photos import candidates_query, compute_photo_flags
from fieldlog.services.records.photos import process_photo
from tests.fixtures.photos import forwarded as copy_of
from tests.test_integrity import (
    BASE,
    centre,
    count_statements,
    kinds,
    moved,
    record,
    sentence,
    statements_of,
)
from tests.test_photo_api import upload
from tests.test_sync_api import sync

NOKIA = "jpg_mobile_HMD_Nokia_8.3_5G.jpg"  # 2022-08-14 14:12:31 camera clock, GPS in Helsinki
NOKIA_TAKEN_UTC = datetime(2022, 8, 14, 6, 12, 31, tzinfo=UTC)  # that clock in Asia/Shanghai
NOKIA_POINT = (60.146705555555556, 24.90677222222222)


def thumb_hash(data: bytes) -> int:
    return rules.dhash(process_photo(data, max_bytes=10**8, max_pixels=10**8).thumb)[0]


def mask_bits(spread: tuple[int, int, int, int]) -> int:
    """Return a 64-bit mask with spread[n] bits set in band n."""
    mask = 0
    for band, count in enumerate(spread):
        for k in range(count):
            mask |= 1 << (63 - 16 * band - k)
    return mask


def plain_png(color=(90, 120, 150), size=(400, 300), stripes: bool = True) -> bytes:
    img = Image.new("RGB", size, color)
    if stripes:
        for x in range(0, size[0], 40):
            img.paste((230, 230, 230), (x, 0, x + 15, size[1] // (1 + x % 3)))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def visit_with_photo(phone, household, when, data: bytes, place=None, **form) -> tuple[str, str]:
    """Sync a visit, upload one photo to it, compute the flags as the wiring will; return ids."""
    visit = record(household, when, place)
    assert sync(phone, visit)[0]["status"] == "stored"
    compute_visit_flags([visit["id"]])
    response = upload(phone, data, record_id=visit["id"], **form)
    assert response.status_code == 201, response.get_json()
    photo_id = response.get_json()["id"]
    compute_photo_flags([photo_id])
    return visit["id"], photo_id


@pytest.fixture
def phone1(world, device):
    return device(world.sec1)


@pytest.fixture(scope="module")
def nikon(photos_dir) -> tuple[bytes, bytes]:
    """The two Nikon photos: ~60 m and ten minutes apart, different scenes."""
    return ((photos_dir / "jpg_gps_DSCN0010.jpg").read_bytes(),
            (photos_dir / "jpg_gps_DSCN0021.jpg").read_bytes())


# --- the hash -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["jpg_gps_DSCN0010.jpg", NOKIA, "jpg_orientation_portrait_6.jpg",
                                  "heic_mobile_iphone_13_pro_max.HEIC"])
def test_dhash_survives_recompression_and_resizing(photos_dir, name):
    data = (photos_dir / name).read_bytes()
    original = thumb_hash(data)
    for scale, quality in ((1.0, 10), (0.5, 40), (0.25, 60), (0.15, 30), (0.8, 92)):
        assert rules.hamming(original, thumb_hash(copy_of(data, scale, quality))) <= (
            rules.DUP_MAX_BITS)


def test_different_photos_are_far_apart(photos_dir, nikon):
    hashes = [thumb_hash(d) for d in nikon] + [thumb_hash((photos_dir / NOKIA).read_bytes())]
    assert rules.hamming(hashes[0], hashes[1]) > 3 * rules.DUP_MAX_BITS
    assert rules.hamming(hashes[0], hashes[2]) > 3 * rules.DUP_MAX_BITS


def test_signed_storage_round_trips():
    for bits in (0, 1, (1 << 63) - 1, 1 << 63, (1 << 64) - 1):
        assert -(1 << 63) <= rules.to_signed(bits) < 1 << 63
        assert rules.to_unsigned(rules.to_signed(bits)) == bits


# --- reuse --------------------------------------------------------------------------------------

def test_resized_copy_on_another_household_flags_both_records(world, phone1, nikon):
    first, photo = visit_with_photo(phone1, world.h1[0], BASE, nikon[0])
    second, _ = visit_with_photo(phone1, world.h1[2], BASE + timedelta(hours=2),
                                 copy_of(nikon[0], 0.5, 45))
    mine, theirs = kinds(second)[rules.DUPLICATE_PHOTO], kinds(first)[rules.DUPLICATE_PHOTO]
    assert mine["other_id"] == first and theirs["other_id"] == second
    assert mine["other_photo_id"] == photo and mine["same_author"] is True
    assert mine["bits"] <= rules.DUP_MAX_BITS
    assert sentence(second, rules.DUPLICATE_PHOTO).startswith(
        "A photo is the same as, or nearly the same as")
    stored = db.session.get(Photo, photo)
    assert stored.dhash is not None and stored.dhash_b0 == rules.bands(
        rules.to_unsigned(stored.dhash))[0]


def test_two_different_photos_of_one_walk_do_not_match(world, phone1, nikon):
    first, _ = visit_with_photo(phone1, world.h1[0], BASE, nikon[0])
    second, _ = visit_with_photo(phone1, world.h1[2], BASE + timedelta(minutes=10), nikon[1])
    assert rules.DUPLICATE_PHOTO not in kinds(first) | kinds(second)


def test_same_household_same_day_is_one_visit_but_another_day_is_reuse(world, phone1, nikon):
    home = world.h1[0]
    first, _ = visit_with_photo(phone1, home, BASE, nikon[0])
    again, _ = visit_with_photo(phone1, home, BASE + timedelta(hours=3), nikon[0])
    assert rules.DUPLICATE_PHOTO not in kinds(first) | kinds(again)
    later, _ = visit_with_photo(phone1, home, BASE + timedelta(days=7), nikon[0])
    assert kinds(later)[rules.DUPLICATE_PHOTO]["bits"] == 0
    assert rules.DUPLICATE_PHOTO in kinds(first) and rules.DUPLICATE_PHOTO in kinds(again)


def test_reuse_across_cadres_names_the_other_cadre(world, device, nikon):
    mine, _ = visit_with_photo(device(world.sec1), world.h1[0], BASE, nikon[0])
    theirs, _ = visit_with_photo(device(world.sec3), world.h3[0], BASE + timedelta(days=2),
                                 copy_of(nikon[0], 0.7, 70))
    assert kinds(theirs)[rules.DUPLICATE_PHOTO]["other_author"] == "SEC1"
    assert kinds(mine)[rules.DUPLICATE_PHOTO]["other_author"] == "SEC3"
    assert "a photo on SEC3's visit of" in sentence(mine, rules.DUPLICATE_PHOTO)


@pytest.mark.parametrize("spread, flagged", [
    ((2, 2, 1, 1), True),   # DUP_MAX_BITS, and no band is equal: found via one-bit probes
    ((2, 2, 2, 1), False),  # one bit more
])
def test_duplicate_threshold_in_bits(world, phone1, nikon, spread, flagged):
    first, photo_a = visit_with_photo(phone1, world.h1[0], BASE, nikon[0])
    second, photo_b = visit_with_photo(phone1, world.h1[2], BASE + timedelta(days=1), nikon[1])
    a, b = db.session.get(Photo, photo_a), db.session.get(Photo, photo_b)
    bits = rules.to_unsigned(a.dhash) ^ mask_bits(spread)
    b.dhash = rules.to_signed(bits)
    b.dhash_b0, b.dhash_b1, b.dhash_b2, b.dhash_b3 = rules.bands(bits)
    db.session.commit()
    assert all(x != y for x, y in zip(rules.bands(rules.to_unsigned(a.dhash)),
                                      rules.bands(bits), strict=True))
    compute_photo_flags([photo_b])
    assert (rules.DUPLICATE_PHOTO in kinds(second)) is flagged
    assert (rules.DUPLICATE_PHOTO in kinds(first)) is flagged


def test_featureless_photos_never_match(world, phone1):
    grey = plain_png(stripes=False)
    first, photo = visit_with_photo(phone1, world.h1[0], BASE, grey)
    second, _ = visit_with_photo(phone1, world.h1[2], BASE + timedelta(days=1), grey)
    assert rules.DUPLICATE_PHOTO not in kinds(first) | kinds(second)
    stored = db.session.get(Photo, photo)
    assert stored.dhash is not None and stored.dhash_b0 is None


# --- EXIF ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("gap, flagged", [(timedelta(hours=2, minutes=59), False),
                                          (timedelta(hours=3, minutes=1), True)])
def test_camera_time_is_read_in_the_county_zone(world, phone1, photos_dir, gap, flagged):
    data = (photos_dir / NOKIA).read_bytes()
    visit, _ = visit_with_photo(phone1, world.h1[1], NOKIA_TAKEN_UTC - gap, data,
                                place=moved(NOKIA_POINT, 30))
    assert (rules.EXIF_TIME in kinds(visit)) is flagged
    assert rules.EXIF_PLACE not in kinds(visit)
    if flagged:
        assert kinds(visit)[rules.EXIF_TIME]["hours"] == 3.0
        assert sentence(visit, rules.EXIF_TIME) == (
            "A photo's camera time (2022-08-14 14:12) is 3 hours after the visit time; "
            "more than 3 hours apart.")


@pytest.mark.parametrize("metres, flagged", [(2000 + 10 - 50, False), (2000 + 10 + 50, True)])
def test_camera_place_against_the_fix(world, phone1, photos_dir, metres, flagged):
    data = (photos_dir / NOKIA).read_bytes()
    visit, _ = visit_with_photo(phone1, world.h1[1], NOKIA_TAKEN_UTC, data,
                                place=moved(NOKIA_POINT, metres, 10))
    assert (rules.EXIF_PLACE in kinds(visit)) is flagged
    assert rules.EXIF_TIME not in kinds(visit)


def test_camera_place_against_the_village_when_the_visit_has_no_fix(world, phone1, nikon):
    """Photo GPS 43.47N 11.88E; 北堡村 is in Guizhou."""
    visit, _ = visit_with_photo(phone1, world.h1[1], BASE, nikon[0])
    found = kinds(visit)
    assert found[rules.EXIF_PLACE]["against"] == "village" and rules.NO_LOCATION not in found
    assert "from 北堡村's centre, and the visit has no GPS fix" in sentence(
        visit, rules.EXIF_PLACE)


def test_no_camera_exif_flags_screenshots_only(world, phone1, photos_dir):
    screenshot, _ = visit_with_photo(phone1, world.h1[1], BASE, plain_png(), place=centre(
        world.v1))
    assert set(kinds(screenshot)) == {rules.NO_EXIF}
    assert sentence(screenshot, rules.NO_EXIF).startswith("Photos with no camera time")
    assert sentence(screenshot, rules.NO_EXIF).endswith(": 1 of 1.")
    # The phone downscaled it but sent the facts it read: not a screenshot.
    told, _ = visit_with_photo(phone1, world.h1[1], BASE + timedelta(hours=1), plain_png(),
                               place=centre(world.v1),
                               taken_at=(BASE + timedelta(hours=9)).replace(tzinfo=None)
                               .isoformat())
    assert rules.NO_EXIF not in kinds(told)
    heic = (photos_dir / "heic_mobile_iphone_13_pro_max.HEIC").read_bytes()  # time, no GPS
    taken = datetime(2022, 2, 16, 4, 55, tzinfo=UTC)  # 12:55 on the camera clock
    iphone, _ = visit_with_photo(phone1, world.h1[1], taken, heic, place=centre(world.v1))
    assert kinds(iphone) == {}


def test_visit_recompute_keeps_photo_facts_in_view(world, phone1, photos_dir):
    """An edited visit time is checked again against its photos' camera time."""
    data = (photos_dir / NOKIA).read_bytes()
    visit, _ = visit_with_photo(phone1, world.h1[1], NOKIA_TAKEN_UTC, data,
                                place=NOKIA_POINT)
    assert rules.EXIF_TIME not in kinds(visit)
    db.session.get(Visit, visit).occurred_at = (NOKIA_TAKEN_UTC + timedelta(days=1)).replace(
        tzinfo=None)
    db.session.commit()
    compute_visit_flags([visit])
    assert kinds(visit)[rules.EXIF_TIME]["hours"] == -24.0


def test_the_demo_county_is_not_flagged_even_where_it_has_no_fix(sqlite_template, tmp_path):
    """The demo's painted photos are honest: no reuse, no EXIF mismatch; a missing fix is no
    flag either (information, not suspicion)."""
    shutil.copy(sqlite_template, tmp_path / "demo.db")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/demo.db",
                      "PHOTO_DIR": str(tmp_path / "photos"), "SECRET_KEY": "t", "DEMO_WEEKS": 2})
    with app.app_context():
        build_demo_county(seed=20261121, today=date(2026, 11, 18))
        compute_visit_flags(list(db.session.scalars(select(Visit.id))))
        photo_ids = list(db.session.scalars(select(Photo.id)))
        compute_photo_flags(photo_ids)
        found = Counter(db.session.scalars(select(Flag.kind)))
        unlocated = db.session.scalar(select(func.count()).where(Visit.lat.is_(None)))
        hashed = db.session.scalar(select(func.count()).where(Photo.dhash.is_not(None)))
        db.session.remove()
        db.engine.dispose()
    assert len(photo_ids) >= 20 and hashed == len(photo_ids)  # 20 with this seed and day
    assert unlocated > 0 and found == Counter()


# --- cost ---------------------------------------------------------------------------------------

def test_statements_do_not_grow_with_the_photos(world, phone1, nikon):
    def photos(n: int, day: int) -> list[str]:
        """Upload n forwarded copies of the first Nikon photo, each to its own visit."""
        ids = []
        for k in range(n):
            visit = record(world.h1[k % 5], BASE + timedelta(days=day, hours=k),
                           centre(world.v1))
            sync(phone1, visit)
            response = upload(phone1, copy_of(nikon[0], 0.5 + 0.1 * k, 60),
                              record_id=visit["id"])
            ids.append(response.get_json()["id"])
        return ids

    visit_with_photo(phone1, world.h1[0], BASE, nikon[0])
    one, four = photos(1, 2), photos(4, 5)
    # each run hashes its photos' thumbnails (one UPDATE for all) and reads the matches' records;
    # a statement or two are conditional (nothing new to insert or update), none is per photo
    for_one, for_four = (count_statements(lambda: compute_photo_flags(one)),
                         count_statements(lambda: compute_photo_flags(four)))
    assert for_four <= for_one + 2 and for_four <= 8, (for_one, for_four)
    assert all(rules.DUPLICATE_PHOTO in kinds(v) for v in db.session.scalars(
        select(Photo.record_id).where(Photo.id.in_(four))))


def test_a_photo_reused_many_times_reads_only_the_newest_copies(world, phone1, nikon,
                                                               monkeypatch):
    """A picture on many records: each new copy's job reads MATCH_LIMIT copies, not all of
    them, and still every record carrying it is flagged."""
    from fieldlog.services.integrity import photos as photo_flags

    monkeypatch.setattr(photo_flags, "MATCH_LIMIT", 3)
    visits = [visit_with_photo(phone1, world.h1[k % 5], BASE + timedelta(days=k), nikon[0])
              for k in range(8)]
    newest = db.session.get(Photo, visits[-1][1])
    rows = db.session.execute(candidates_query([newest])).all()
    assert len(rows) == 4  # the three newest copies and the photo itself, of eight
    assert {r.id for r in rows} == {photo for _visit, photo in visits[-4:]}
    for visit_id, _photo in visits:
        assert rules.DUPLICATE_PHOTO in kinds(visit_id), visit_id
    assert kinds(visits[-1][0])[rules.DUPLICATE_PHOTO]["other_id"] in {
        v for v, _p in visits[-4:-1]}


def test_duplicate_lookup_uses_the_band_indexes(world, phone1, nikon):
    visit_with_photo(phone1, world.h1[0], BASE, nikon[0])
    seen = statements_of(lambda: visit_with_photo(phone1, world.h1[2], BASE + timedelta(days=1),
                                                  nikon[1]))
    lookups = [s for s in seen if "dhash_b0 IN" in s]  # (the upload's own hook runs one too)
    assert lookups
    for lookup in lookups:
        where = lookup.split("WHERE", 1)[1]
        assert all(f"photos.dhash_b{n} IN" in where for n in range(4))
        assert "record" not in where  # no other condition the planner could prefer to the bands
    if db.engine.dialect.name == "sqlite":
        photo = db.session.scalars(select(Photo)).first()
        query = candidates_query([photo]).compile(db.engine,
                                                  compile_kwargs={"literal_binds": True})
        plan = " ".join(str(row[-1]) for row in db.session.execute(
            text(f"EXPLAIN QUERY PLAN {query}")))
        assert "MULTI-INDEX OR" in plan and "ix_photos_dhash_b0" in plan, plan
        assert "SCAN photos" not in plan, plan
