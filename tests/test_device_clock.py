"""A phone whose clock is days off loses nothing: sync takes the record on the server's clock.

The phone sends its clock with the batch (`device_now`); the server corrects the device times by
the offset, stores the offset and flags a visit from a phone more than an hour off. Older
clients (no `device_now`) are still served. Issue 12: the device clock skewed ±2 days.
"""
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale

from fieldlog.extensions import db
from fieldlog.models import LedgerEvent, LedgerItem, Meeting, Visit
from fieldlog.services.integrity import rules
from fieldlog.services.integrity.flags import compute_visit_flags, describe, flags_for
from fieldlog.services.records import device_clock
from tests.test_sync_api import visit_payload

DAY = timedelta(days=1)


def on_phone(household, phone_now: datetime, ago: timedelta = timedelta(hours=3)) -> dict:
    """A visit made `ago` before `phone_now`, with every time read off the phone's clock."""
    at = (phone_now - ago).isoformat()
    return visit_payload(household, occurred_at=at, device_created_at=at,
                         location={"lat": 26.5805, "lon": 106.7102, "accuracy_m": 12.0,
                                   "located_at": at})


def send(phone, records, device_now: datetime | None):
    body = {"records": records}
    if device_now is not None:
        body["device_now"] = device_now.isoformat()
    response = phone.post("/api/v1/sync", json=body)
    assert response.status_code == 200, response.get_json()
    answers = response.get_json()["results"]
    compute_visit_flags([r["id"] for r in records if r["type"] == "visit"])
    return answers


def real_now() -> datetime:
    return datetime.now(UTC)


def close(a: datetime, b: datetime, seconds: float = 90) -> bool:
    return abs((a.replace(tzinfo=None) - b.replace(tzinfo=None)).total_seconds()) < seconds


def clock_flag(visit_id: str):
    found = [f for f in flags_for("visit", [visit_id])[visit_id] if f.kind == rules.CLOCK_OFF]
    return found[0] if found else None


@pytest.mark.parametrize(("skew", "english", "chinese"), [
    (2 * DAY, "2 days ahead of the server's", "手机时间比服务器快 2 天"),
    (-2 * DAY, "2 days behind the server's", "手机时间比服务器慢 2 天"),
    (9 * DAY + timedelta(hours=5), "9 days 5 hours ahead", "快 9 天 5 小时"),
])
def test_a_skewed_phone_clock_is_corrected_stored_and_flagged(app, world, device, skew, english,
                                                              chinese):
    phone = device(world.sec1)
    phone_now = real_now() + skew
    record = on_phone(world.h1[0], phone_now)
    [answer] = send(phone, [record], phone_now)
    assert answer["status"] == "stored"
    visit = db.session.get(Visit, record["id"])
    # On the server's clock: three hours before it received the visit, not days off.
    truth = real_now() - timedelta(hours=3)
    for at in (visit.occurred_at, visit.device_created_at, visit.located_at):
        assert close(at, truth), (at, truth)
    assert abs(visit.clock_offset_s - skew.total_seconds()) < 90
    flag = clock_flag(record["id"])
    assert flag is not None
    with app.test_request_context():
        with force_locale("en"):
            assert english in describe(flag)
        with force_locale("zh_Hans_CN"):
            assert chinese in describe(flag)


def test_a_replay_with_another_device_now_is_the_same_record(world, device):
    """The answer was lost; the phone sends the same record a minute later: no conflict."""
    phone = device(world.sec1)
    phone_now = real_now() + 2 * DAY
    record = on_phone(world.h1[0], phone_now)
    [first] = send(phone, [record], phone_now)
    [again] = send(phone, [record], phone_now + timedelta(minutes=1))
    assert again == first and first["status"] == "stored"
    assert db.session.query(Visit).count() == 1


def test_records_saved_offline_for_days_keep_their_time(world, device):
    """An old device time is not skew: the phone's clock is right when it syncs."""
    phone = device(world.sec1)
    record = on_phone(world.h1[0], real_now(), ago=3 * DAY)
    [answer] = send(phone, [record], real_now())
    assert answer["status"] == "stored"
    visit = db.session.get(Visit, record["id"])
    assert close(visit.occurred_at, real_now() - 3 * DAY) and visit.clock_offset_s is None
    assert clock_flag(record["id"]) is None


def test_minutes_of_drift_are_neither_corrected_nor_flagged(world, device):
    phone = device(world.sec1)
    phone_now = real_now() + timedelta(minutes=3)
    record = on_phone(world.h1[0], phone_now)
    send(phone, [record], phone_now)
    visit = db.session.get(Visit, record["id"])
    assert visit.clock_offset_s is None
    assert close(visit.occurred_at, phone_now - timedelta(hours=3), 1)
    assert clock_flag(record["id"]) is None


def test_a_clock_reset_to_1970_is_corrected(world, device):
    """A dead battery: the phone believes it is 1970; the record still arrives, on time."""
    phone = device(world.sec1)
    phone_now = datetime(1970, 1, 2, 8, 0, tzinfo=UTC)
    record = on_phone(world.h1[0], phone_now, ago=timedelta(minutes=20))
    [answer] = send(phone, [record], phone_now)
    assert answer["status"] == "stored"
    visit = db.session.get(Visit, record["id"])
    assert close(visit.occurred_at, real_now() - timedelta(minutes=20))
    assert clock_flag(record["id"]) is not None


def test_an_older_client_without_device_now_is_served(world, device):
    """No `device_now`: a time in the future says the clock is at least that far ahead."""
    phone = device(world.sec1)
    ahead = {**on_phone(world.h1[0], real_now() + 2 * DAY),  # written up 3 hours after
             "device_created_at": (real_now() + 2 * DAY).isoformat()}
    offline = on_phone(world.h1[1], real_now(), ago=3 * DAY)
    answers = send(phone, [ahead, offline], None)
    assert [a["status"] for a in answers] == ["stored", "stored"]
    fast = db.session.get(Visit, ahead["id"])
    assert close(fast.occurred_at, real_now() - timedelta(hours=3))  # relative time kept
    assert close(fast.device_created_at, real_now())
    assert abs(fast.clock_offset_s - 2 * 86400) < 90 and clock_flag(ahead["id"]) is not None
    slow = db.session.get(Visit, offline["id"])
    assert close(slow.occurred_at, real_now() - 3 * DAY) and slow.clock_offset_s is None


def test_a_time_that_cannot_be_true_becomes_the_receive_time(world, device):
    """A meeting time typed days ahead on a phone whose clock is right."""
    phone = device(world.sec1)
    now = real_now()
    meeting = {"type": "meeting", "id": str(uuid.uuid4()), "meeting_type": "branch_committee",
               "topics": "研究排水沟修缮", "occurred_at": (now + 5 * DAY).isoformat(),
               "device_created_at": now.isoformat(), "location": None, "photo_ids": []}
    [answer] = send(phone, [meeting], now)
    assert answer["status"] == "stored"
    stored = db.session.get(Meeting, meeting["id"])
    assert close(stored.occurred_at, stored.received_at, 2)


def test_other_kinds_from_a_slow_phone_arrive_corrected(world, device):
    phone = device(world.sec1)
    phone_now = real_now() - 2 * DAY
    item = {"type": "ledger_item", "id": str(uuid.uuid4()), "content": "修缮村道",
            "category": "infrastructure", "occurred_at": phone_now.isoformat(),
            "device_created_at": phone_now.isoformat(), "location": None}
    update = {"type": "ledger_update", "id": str(uuid.uuid4()), "item_id": item["id"],
              "to_state": "in_progress", "note": "已联系施工队",
              "occurred_at": phone_now.isoformat(), "device_created_at": phone_now.isoformat()}
    answers = send(phone, [item, update], phone_now)
    assert [a["status"] for a in answers] == ["stored", "stored"]
    stored = db.session.get(LedgerItem, item["id"])
    assert close(stored.occurred_at, real_now()) and stored.clock_offset_s < -2 * 86400 + 90
    assert close(db.session.get(LedgerEvent, update["id"]).occurred_at, real_now())


def test_device_clock_rules():
    now = datetime(2026, 12, 3, 2, 0)
    assert device_clock.offset(now + 2 * DAY, now - DAY, now) == 2 * DAY
    assert device_clock.offset(now + timedelta(minutes=4), now, now) is None
    assert device_clock.offset(None, now - 3 * DAY, now) is None  # offline for days
    assert device_clock.offset(None, now + DAY, now) == DAY
    assert device_clock.corrected(now + 3 * DAY, 2 * DAY, now) == now  # still ahead: now
    assert device_clock.corrected(datetime(2014, 5, 1), None, now) == now
    assert device_clock.corrected(now + DAY, DAY, now) == now
    assert device_clock.corrected(None, DAY, now) is None
