"""Sync of every record type: create, replay, edit as a new version, locks, references."""
import json
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from fieldlog.extensions import db
from fieldlog.models import (
    Action,
    AuditEntry,
    DayMark,
    GoalLink,
    LeaveRequest,
    LedgerEvent,
    LedgerItem,
    LedgerLink,
    Meeting,
    RecordVersion,
    Visit,
)
from tests.test_sync_api import sync, visit_payload


def base(record_type: str, **fields) -> dict:
    """Return a record of `kind` as the phone sends it."""
    now = datetime.now(UTC) - timedelta(hours=1)
    record = {"type": record_type, "id": str(uuid.uuid4()), "occurred_at": now.isoformat(),
              "device_created_at": now.isoformat(), **fields}
    if record_type != "ledger_update":  # an update is not located
        record.setdefault("location", {"lat": 26.5805, "lon": 106.7102, "accuracy_m": 9.0})
    return record


def meeting(**fields) -> dict:
    return base("meeting", meeting_type="branch_committee", place="村委会议室", host="王书记",
                expected_count=7, attended_count=6, topics="研究排水沟修缮", **fields)


def versions(record_id: str) -> list[int]:
    return list(db.session.scalars(select(RecordVersion.version).where(
        RecordVersion.record_id == record_id).order_by(RecordVersion.version)))


def test_each_type_is_stored_in_the_authors_village_as_version_one(world, device):
    phone = device(world.sec1)
    goal = base("goal", goal_type="project", title="引进茶叶加工项目", target="年底签约")
    met = meeting(goal_ids=[goal["id"]])
    action = base("action", action_type="pledge", title="修通组组路", state="under_way",
                  due_date="2026-12-31", goal_ids=[goal["id"]])
    mark = base("day_mark", day=date.today().isoformat(), kind="official", reason="training",
                note="县委组织部培训")
    leave = base("leave", leave_type="personal", start_date="2026-12-01",
                 end_date="2026-12-05", reason="家中有事")
    answers = sync(phone, goal, met, action, mark, leave)
    assert [a["status"] for a in answers] == ["stored"] * 5
    assert {a["type"] for a in answers} == {"goal", "meeting", "action", "day_mark", "leave"}
    assert all(a["version"] == 1 and a["review_status"] == "submitted" for a in answers)
    stored = db.session.get(Meeting, met["id"])
    assert (stored.village_id, stored.author_id) == (world.v1.id, world.sec1.id)
    assert stored.attended_count == 6 and stored.lat == 26.5805
    assert db.session.get(Action, action["id"]).due_date == date(2026, 12, 31)
    links = db.session.scalars(select(GoalLink.record_type).where(
        GoalLink.goal_id == goal["id"])).all()
    assert sorted(links) == ["action", "meeting"]
    request = db.session.get(LeaveRequest, leave["id"])
    assert request.days == 5 and json.loads(request.chain) == ["township", "county"]
    assert request.state == "pending" and request.step == 0
    assert db.session.get(DayMark, mark["id"]).kind == "official"
    assert all(versions(r["id"]) == [1] for r in (goal, met, action, mark, leave))


def test_an_edit_with_base_version_makes_version_two_and_keeps_both(world, device):
    phone = device(world.sec1)
    record = visit_payload(world.h1[0])
    sync(phone, record)
    edited = {**record, "heard": "补充：屋顶漏雨。", "base_version": 1}
    [answer] = sync(phone, edited)
    assert answer["status"] == "stored" and answer["version"] == 2
    visit = db.session.get(Visit, record["id"])
    assert visit.heard == "补充：屋顶漏雨。" and visit.version == 2 and visit.updated_at
    assert versions(record["id"]) == [1, 2]
    first = json.loads(db.session.scalar(select(RecordVersion.data).where(
        RecordVersion.record_id == record["id"], RecordVersion.version == 1)))
    assert first["heard"] == record["heard"] and "base_version" not in first
    # The replayed edit is answered the same and changes nothing.
    assert sync(phone, edited) == [answer]
    assert versions(record["id"]) == [1, 2]
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "visit.edit")) == 1


def test_edits_that_cannot_apply_are_conflicts_and_change_nothing(world, device):
    phone = device(world.sec1)
    record = meeting()
    sync(phone, record)
    # No base_version: a different record under the same id.
    [plain] = sync(phone, {**record, "topics": "别的内容"})
    assert plain["status"] == "conflict" and plain["error"] == "conflict"
    # A stale base_version.
    sync(phone, {**record, "topics": "第二版", "base_version": 1})
    [stale] = sync(phone, {**record, "topics": "从旧版改的", "base_version": 1})
    assert stale["error"] == "stale"
    # Another cadre cannot edit it.
    [other] = sync(device(world.sec2), {**record, "topics": "x", "base_version": 2})
    assert other["error"] == "conflict"
    # Approved: locked.
    db.session.get(Meeting, record["id"]).status = "approved"
    db.session.commit()
    [locked] = sync(phone, {**record, "topics": "批准后再改", "base_version": 2})
    assert locked["status"] == "conflict" and locked["error"] == "locked"
    stored = db.session.get(Meeting, record["id"])
    assert stored.topics == "第二版" and stored.version == 2


def test_a_returned_record_edited_goes_back_to_submitted(world, device):
    phone = device(world.sec1)
    record = visit_payload(world.h1[0])
    sync(phone, record)
    db.session.get(Visit, record["id"]).status = "returned"
    db.session.commit()
    [answer] = sync(phone, {**record, "requests": "改正后的诉求", "base_version": 1})
    assert answer["review_status"] == "submitted"
    assert db.session.get(Visit, record["id"]).status == "submitted"


def test_ledger_item_from_a_visit_then_updates_with_history(world, device):
    phone = device(world.sec1)
    visit = visit_payload(world.h1[0])
    item = base("ledger_item", household_id=world.h1[0].id, category="infrastructure",
                content="修缮屋后排水沟", handler="township", due_date="2026-12-20",
                source={"type": "visit", "id": visit["id"]})
    answers = sync(phone, item, visit)  # any order within a batch: visits apply first
    assert [a["status"] for a in answers] == ["stored", "stored"]
    assert db.session.scalar(select(LedgerLink.record_id).where(
        LedgerLink.item_id == item["id"])) == visit["id"]
    start = base("ledger_update", item_id=item["id"], to_state="in_progress",
                 note="已报乡镇")
    bad = base("ledger_update", item_id=item["id"], to_state="feedback")
    [ok, refused] = sync(phone, start, bad)
    assert ok["status"] == "stored"
    assert refused["status"] == "invalid" and "to_state" in refused["fields"]
    assert sync(phone, start)[0]["status"] == "stored"  # replay: no second event
    stored = db.session.get(LedgerItem, item["id"])
    assert stored.state == "in_progress" and stored.state_changed_at
    events = db.session.scalars(select(LedgerEvent).where(LedgerEvent.item_id == item["id"]))
    assert [(e.from_state, e.to_state) for e in events] == [("open", "in_progress")]
    done = base("ledger_update", item_id=item["id"], to_state="resolved",
                handler="village_committee")
    sync(phone, done)
    stored = db.session.get(LedgerItem, item["id"])
    assert stored.state == "resolved" and stored.resolved_at
    assert stored.handler == "village_committee"
    # Out of scope: another village's cadre.
    [forbidden] = sync(device(world.sec3), base("ledger_update", item_id=item["id"], note="x"))
    assert forbidden["status"] == "forbidden"


def test_references_to_unknown_or_foreign_records_are_invalid(world, device):
    phone = device(world.sec1)
    other_village_visit = visit_payload(world.h3[0])
    sync(device(world.sec3), other_village_visit)
    answers = sync(
        phone,
        meeting(goal_ids=[str(uuid.uuid4())]),
        base("ledger_item", content="x", source={"type": "visit", "id": str(uuid.uuid4())}),
        base("ledger_item", content="x", source={"type": "visit",
                                                 "id": other_village_visit["id"]}),
        base("ledger_item", content="x", household_id=world.h3[0].id),
        base("ledger_update", item_id=str(uuid.uuid4()), note="x"),
    )
    assert [a["status"] for a in answers] == ["invalid"] * 5
    assert db.session.scalar(select(func.count()).select_from(LedgerItem)) == 0
    assert db.session.scalar(select(func.count()).select_from(Meeting)) == 0


def test_one_mark_per_day_and_a_supervisor_cannot_record(world, device):
    phone = device(world.sec1)
    day = date.today().isoformat()
    first = base("day_mark", day=day, kind="present", note="在村整理材料")
    second = base("day_mark", day=day, kind="official", reason="meeting", note="县里开会")
    answers = sync(phone, first, second)
    assert [a["status"] for a in answers] == ["stored", "invalid"]
    assert "day" in answers[1]["fields"]
    # Changing the day's mark is an edit of the first one.
    [edit] = sync(phone, {**first, "kind": "official", "reason": "meeting",
                          "note": "县里开会", "base_version": 1})
    assert edit["version"] == 2 and db.session.get(DayMark, first["id"]).kind == "official"
    [refused] = sync(device(world.sup_t1), meeting())
    assert refused["status"] == "forbidden"


def test_leave_can_be_withdrawn_until_an_approver_acts(world, device):
    phone = device(world.sec1)
    leave = base("leave", leave_type="sick", start_date="2026-12-01", end_date="2026-12-02")
    sync(phone, leave)
    assert json.loads(db.session.get(LeaveRequest, leave["id"]).chain) == ["township"]
    [answer] = sync(phone, {**leave, "cancel": True, "base_version": 1})
    assert answer["status"] == "stored"
    assert db.session.get(LeaveRequest, leave["id"]).state == "cancelled"
    [again] = sync(phone, {**leave, "reason": "再改", "base_version": 2})
    assert again["error"] == "locked"


def test_invalid_fields_are_named(world, device):
    phone = device(world.sec1)
    answers = sync(
        phone,
        base("meeting", meeting_type="picnic", topics="x"),
        base("meeting", meeting_type="other", topics="x"),
        base("action", action_type="pledge", title="   "),
        base("leave", leave_type="personal", start_date="2026-12-05", end_date="2026-12-01"),
        base("day_mark", day="2026-11-01", kind="present", note=""),
    )
    assert [a["status"] for a in answers] == ["invalid"] * 5
    assert "meeting_type" in answers[0]["fields"]
    assert "title" in answers[1]["fields"] and "title" in answers[2]["fields"]
    assert "end_date" in answers[3]["fields"] and "note" in answers[4]["fields"]


def test_a_practical_deed_takes_before_and_after_photos(client, world, device, login,
                                                         photos_dir):
    from fieldlog.models import Photo
    from tests.test_photo_api import upload

    phone = device(world.sec1)
    deed = base("action", action_type="practical_deed", title="修缮排水沟", state="done")
    sync(phone, deed)
    before = upload(phone, photos_dir / "jpg_gps_DSCN0010.jpg", record_id=deed["id"],
                    record_type="action", slot="before")
    after = upload(phone, photos_dir / "jpg_mobile_HMD_Nokia_8.3_5G.jpg", record_id=deed["id"],
                   record_type="action", slot="after")
    assert before.status_code == after.status_code == 201
    slots = dict(db.session.execute(select(Photo.slot, Photo.record_type).where(
        Photo.record_id == deed["id"])).all())
    assert slots == {"before": "action", "after": "action"}
    bad = upload(phone, photos_dir / "jpg_gps_DSCN0010.jpg", record_id=deed["id"],
                 record_type="action", slot="sideways")
    assert bad.status_code == 422 and "slot" in bad.get_json()["fields"]
    # Seen within scope only.
    login("sup_t1")
    assert client.get(f"/review/photos/{before.get_json()['id']}/thumb").status_code == 200
    login("sup_t2")
    assert client.get(f"/review/photos/{before.get_json()['id']}/thumb").status_code == 404
