"""`flask seed-demo`: a believable, reproducible demo county that the app's own rules accept."""
import io
import json
import shutil
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import func, select

from fieldlog import create_app
from fieldlog.domain import TAGS
from fieldlog.errors import Conflict
from fieldlog.extensions import db
from fieldlog.models import (
    Action,
    Assignment,
    DayMark,
    Goal,
    GoalLink,
    Household,
    HouseholdTag,
    LeaveDecision,
    LeaveRequest,
    LedgerEvent,
    LedgerItem,
    LedgerLink,
    Meeting,
    OrgUnit,
    Photo,
    RecordVersion,
    ReviewDecision,
    User,
    Visit,
)
from fieldlog.models.records import ACTION_TYPES, MEETING_TYPES, STATUSES
from fieldlog.services.common.geo import distance_m
from fieldlog.services.demo.county import build_demo_county
from fieldlog.services.people.auth import authenticate
from fieldlog.services.records.uploads import photo_store
from fieldlog.timefmt import iso_utc

SHANGHAI = ZoneInfo("Asia/Shanghai")
USERNAMES = {f"sec{n:02d}" for n in range(1, 9)} | {"sup_town", "sup_county", "inspector", "admin"}


@pytest.fixture(scope="module")
def demo(sqlite_template, tmp_path_factory):
    """Build the full demo county once (it takes seconds); the tests using it only read it."""
    tmp = tmp_path_factory.mktemp("demo")
    shutil.copy(sqlite_template, tmp / "demo.db")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'demo.db'}",
                      "PHOTO_DIR": str(tmp / "photos"), "SECRET_KEY": "test-secret"})
    with app.app_context():
        yield build_demo_county(seed=20261121)
        db.session.remove()
        db.engine.dispose()


def units(kind: str) -> list[OrgUnit]:
    return list(db.session.scalars(select(OrgUnit).where(OrgUnit.kind == kind)))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_demo_county_has_the_org_tree_households_and_users(demo):

    [county] = units("county")
    townships, villages = units("township"), units("village")
    assert len(townships) == 3 and len(villages) == 8
    assert {t.parent_id for t in townships} == {county.id}
    assert all(v.path.startswith(county.path) and v.parent.kind == "township" for v in villages)
    for village in villages:
        assert village.name.endswith("村")
        assert 800 <= village.geofence_m <= 2000
        assert 25 < village.lat < 27 and 106 < village.lon < 108  # the hills of Guizhou
        nearest = min(distance_m(village.lat, village.lon, v.lat, v.lon)
                      for v in villages if v is not village)
        assert 3_000 <= nearest <= 15_000
        households = list(db.session.scalars(select(Household).where(
            Household.village_id == village.id)))
        assert 35 <= len(households) <= 45
        placed = [h for h in households if h.lat is not None]
        assert len(placed) >= len(households) // 2
        assert all(distance_m(h.lat, h.lon, village.lat, village.lon) < 700 for h in placed)
    assert set(db.session.scalars(select(HouseholdTag.tag).distinct())) <= set(TAGS)
    tags = Counter(db.session.scalars(select(HouseholdTag.tag)))
    households = count(Household)
    assert 0.08 <= tags["hardship"] / households <= 0.18
    assert tags["petitioner"] <= 2 * len(villages) and tags["old_party_member"] >= len(villages)
    untagged = households - db.session.scalar(
        select(func.count(HouseholdTag.household_id.distinct())))
    assert untagged > households / 3
    phones = db.session.scalars(select(Household.phone).where(Household.phone.is_not(None)))
    assert all(len(p) == 11 and p[0] == "1" and p[1] in "3456789" for p in phones)

    users = {u.username: u for u in db.session.scalars(select(User))}
    assert set(users) == USERNAMES
    assert users["sup_town"].role == "supervisor"
    assert users["sup_town"].scope_unit.kind == "township"
    assert users["sup_county"].scope_unit_id == county.id
    assert (users["inspector"].role, users["inspector"].scope_unit_id) == ("inspector", county.id)
    assert (users["admin"].role, users["admin"].scope_unit_id) == ("admin", county.id)
    secretaries = [users[f"sec{n:02d}"] for n in range(1, 9)]
    assert {s.scope_unit_id for s in secretaries} == {v.id for v in villages}
    assert all(s.role == "secretary" and s.display_name for s in secretaries)
    terms = list(db.session.scalars(select(Assignment)))
    assert {(a.user_id, a.village_id) for a in terms} == {
        (s.id, s.scope_unit_id) for s in secretaries}
    today = datetime.now(SHANGHAI).date()
    assert all(a.start_date < today < a.end_date and a.dispatching_unit for a in terms)
    assert authenticate("sec03", "demo1234") is not None
    assert authenticate("admin", "demo1234") is not None

    assert demo.startswith("Demo county 青岩县: 3 townships, 8 villages, ")
    assert f"{households} households, 12 users, {count(Visit)} visits, {count(Photo)} photos" \
        in demo and "demo1234" in demo


def test_demo_visits_are_past_in_scope_and_believable(demo):
    now = datetime.now(UTC).replace(tzinfo=None)
    today = datetime.now(SHANGHAI).date()
    visits = list(db.session.scalars(select(Visit)))
    secretaries = list(db.session.scalars(select(User).where(User.role == "secretary")))

    for sec in secretaries:
        own = [v for v in visits if v.author_id == sec.id]
        assert len(own) >= 6  # 2–5 a week over six weeks
        assert all(v.village_id == sec.scope_unit_id == v.household.village_id for v in own)
    for visit in visits:
        local = visit.occurred_at.replace(tzinfo=UTC).astimezone(SHANGHAI)
        assert local.date() < today and local.weekday() < 5
        assert time(8, 30) <= local.time() <= time(18, 30)
        assert visit.occurred_at < visit.device_created_at < visit.received_at < now
        assert visit.status in STATUSES and visit.version == 1 and len(visit.content_hash) == 64
        assert visit.heard
        if visit.lat is not None:
            assert 5 <= visit.accuracy_m <= 40
            near = visit.household if visit.household.lat is not None else visit.village
            assert distance_m(visit.lat, visit.lon, near.lat, near.lon) < 700
    assert len({v.heard for v in visits}) == len(visits)
    assert 0.12 < sum(v.follow_up for v in visits) / len(visits) < 0.4
    assert 0.15 < sum(not v.requests for v in visits) / len(visits) < 0.45
    assert sum(v.lat is not None for v in visits) / len(visits) > 0.8
    # Bounds are wide: the visits move with today's date, and the test must not be flaky.
    # Few households are visited twice while others wait (逐门逐户).
    assert len({v.household_id for v in visits}) > 0.7 * len(visits)


def test_demo_photos_are_real_images_stored_like_uploads(demo):
    photos = list(db.session.scalars(select(Photo)))
    visits = {v.id: v for v in db.session.scalars(select(Visit))}
    assert 0.25 < len({p.record_id for p in photos}) / len(visits) < 0.55
    per_visit = Counter(p.record_id for p in photos)
    assert all(visits[vid].photo_count == n for vid, n in per_visit.items())
    assert sum(v.photo_count for v in visits.values()) == len(photos)

    store = photo_store()
    for photo in photos[:10]:
        visit = visits[photo.record_id]
        assert photo.owner_id == visit.author_id and photo.record_type == "visit"
        assert photo.content_type == "image/jpeg" and photo.facts_source == "file"
        assert photo.camera_make and photo.camera_model
        local = visit.occurred_at.replace(tzinfo=UTC).astimezone(SHANGHAI).replace(tzinfo=None)
        assert abs(photo.taken_at - local) < timedelta(minutes=15)
        if photo.lat is not None and visit.lat is not None:
            assert distance_m(photo.lat, photo.lon, visit.lat, visit.lon) < 50
        original = store.get(photo.original_key)
        assert len(original) == photo.byte_size
        with Image.open(io.BytesIO(original)) as img:
            assert img.format == "JPEG" and img.size == (photo.width, photo.height)
        with Image.open(io.BytesIO(store.get(photo.display_key))) as img:
            assert img.format == "JPEG" and not img.getexif()
        with Image.open(io.BytesIO(store.get(photo.thumb_key))) as img:
            assert max(img.size) <= 320


def test_a_demo_visit_replayed_from_the_phone_is_the_same_record(app, device):
    """The content hash matches the sync service's, so a replay is 'stored', not a conflict."""
    app.config["DEMO_WEEKS"] = 1
    build_demo_county(seed=5)
    visit = db.session.scalars(select(Visit).where(Visit.photo_count == 0,
                                                   Visit.lat.is_not(None))).first()
    phone = device(visit.author)
    record = {
        "type": "visit", "id": visit.id, "household_id": visit.household_id,
        "occurred_at": iso_utc(visit.occurred_at),
        "device_created_at": iso_utc(visit.device_created_at),
        "heard": visit.heard, "requests": visit.requests, "follow_up": visit.follow_up,
        "location": {"lat": visit.lat, "lon": visit.lon, "accuracy_m": visit.accuracy_m,
                     "located_at": iso_utc(visit.located_at)},
        "photo_ids": [],
    }
    response = phone.post("/api/v1/sync", json={"records": [record]})
    assert response.status_code == 200
    assert response.get_json()["results"][0]["status"] == "stored"


def test_same_seed_builds_the_same_county(app):
    app.config["DEMO_WEEKS"] = 0  # the register, not the history, is what the seed fixes

    def county(seed: int) -> tuple:
        build_demo_county(seed=seed)
        shape = (
            sorted(db.session.execute(select(OrgUnit.code, OrgUnit.name, OrgUnit.lat)).all()),
            sorted(db.session.scalars(select(Household.head_name))),
            sorted(db.session.scalars(select(User.display_name))),
        )
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
        return shape

    first = county(11)
    assert county(11) == first
    assert county(12)[1] != first[1]


def test_seed_demo_command_prints_the_summary_once(app):
    app.config["DEMO_WEEKS"] = 1
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo", "--if-empty", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Demo county 青岩县: 3 townships, 8 villages")
    assert "Password for every demo user: demo1234" in result.output
    again = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "already has data" in again.output
    with pytest.raises(Conflict):  # a second county would clash; nothing is half-written
        build_demo_county(seed=4)
    assert count(User) == 12 and count(OrgUnit) == 12


def test_demo_has_every_other_kind_of_record(demo):
    """Meetings of each type, six-one actions, goals, the ledger, day marks, leave, reviews."""
    now = datetime.now(UTC).replace(tzinfo=None)
    secretaries = list(db.session.scalars(select(User).where(User.role == "secretary")))
    meetings = list(db.session.scalars(select(Meeting)))
    assert {m.meeting_type for m in meetings} == set(MEETING_TYPES)
    actions = list(db.session.scalars(select(Action)))
    assert {a.action_type for a in actions} == set(ACTION_TYPES)
    assert {a.state for a in actions} == {"planned", "under_way", "done"}
    assert all(a.done_on for a in actions if a.state == "done")
    assert count(Goal) >= len(secretaries) and count(GoalLink) >= len(secretaries)
    for model in (Meeting, Action, Goal, LedgerItem, DayMark, LeaveRequest):
        for row in db.session.scalars(select(model)):
            assert row.occurred_at < row.received_at < now
            assert row.village_id == row.author.scope_unit_id
            assert db.session.scalar(select(func.count()).select_from(RecordVersion).where(
                RecordVersion.record_id == row.id)) == 1  # stored as the phone sent it

    items = list(db.session.scalars(select(LedgerItem)))
    assert {i.state for i in items} == {"open", "in_progress", "resolved", "feedback"}
    for item in items:
        assert db.session.scalar(select(LedgerLink.record_type).where(
            LedgerLink.item_id == item.id)) == "visit"
        events = list(db.session.scalars(select(LedgerEvent).where(
            LedgerEvent.item_id == item.id).order_by(LedgerEvent.occurred_at)))
        assert [e.to_state for e in events] == ["in_progress", "resolved", "feedback"][
            :len(events)]
        assert len(events) == ["open", "in_progress", "resolved", "feedback"].index(item.state)
        if item.state in ("resolved", "feedback"):
            assert item.occurred_at < item.resolved_at < now
    marks = list(db.session.scalars(select(DayMark)))
    assert {m.kind for m in marks} == {"present", "official"} and all(m.note for m in marks)

    leaves = {state: [r for r in db.session.scalars(select(LeaveRequest)) if r.state == state]
              for state in ("pending", "approved", "rejected")}
    assert leaves["approved"] and leaves["pending"]
    sup_town = db.session.scalar(select(User).where(User.username == "sup_town"))
    assert any(r.village.path.startswith(sup_town.scope_unit.path) for r in leaves["pending"])
    for leave in leaves["approved"]:
        decisions = list(db.session.scalars(select(LeaveDecision).where(
            LeaveDecision.leave_id == leave.id)))
        assert decisions and {d.decision for d in decisions} == {"approved"}
    decisions = list(db.session.scalars(select(ReviewDecision)))
    returned = [d for d in decisions if d.decision == "returned"]
    assert returned and all(d.comment for d in returned)
    assert any(d.decision == "approved" for d in decisions)
    for d in decisions:
        record = db.session.get(Visit if d.record_type == "visit" else Meeting, d.record_id)
        assert record.status == d.decision and d.decided_at > record.received_at
    assert "meetings" in demo and "records returned" in demo


def test_demo_records_feed_the_progress_table(demo):
    from fieldlog.services.reporting.figures import cadre_figures
    from fieldlog.services.reporting.period import Period

    secretaries = list(db.session.scalars(select(User).where(User.role == "secretary")))
    figures = cadre_figures([s.id for s in secretaries], Period.parse("term"))
    assert sum(f.visits["total"] for f in figures.values()) == count(Visit)
    assert sum(f.meetings_total for f in figures.values()) == count(Meeting)
    assert all(f.days_in_village > 0 and f.six_one_done >= 2 for f in figures.values())
    assert sum(f.returned for f in figures.values()) == db.session.scalar(
        select(func.count()).select_from(ReviewDecision).where(
            ReviewDecision.decision == "returned"))


def test_every_demo_record_has_its_first_version_for_the_history_pages(demo):
    for model, kind in ((Visit, "visit"), (Meeting, "meeting"), (LedgerItem, "ledger_item")):
        records = set(db.session.scalars(select(model.id)))
        first = set(db.session.scalars(select(RecordVersion.record_id).where(
            RecordVersion.record_type == kind, RecordVersion.version == 1)))
        assert records and records <= first, kind
    sample = db.session.scalars(select(RecordVersion).where(
        RecordVersion.record_type == "visit")).first()
    assert json.loads(sample.data)["id"] == sample.record_id
