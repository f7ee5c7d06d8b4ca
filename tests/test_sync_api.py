"""The batch sync endpoint: idempotent replays, conflicts, scope, validation, bulk statements."""
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from fieldlog.extensions import db
from fieldlog.models import Visit


def visit_payload(household, **overrides) -> dict:
    """Return a visit as the phone sends it."""
    now = datetime.now(UTC)
    payload = {
        "type": "visit", "id": str(uuid.uuid4()), "household_id": household.id,
        "occurred_at": (now - timedelta(hours=3)).isoformat(),
        "device_created_at": (now - timedelta(hours=3)).isoformat(),
        "heard": "老人腿脚不便，儿子在外打工。", "requests": "希望修缮屋后排水沟。",
        "follow_up": True,
        "location": {"lat": 26.5805, "lon": 106.7102, "accuracy_m": 12.0,
                     "located_at": (now - timedelta(hours=3)).isoformat()},
        "photo_ids": [],
    }
    payload.update(overrides)
    return payload


def sync(phone, *records):
    response = phone.post("/api/v1/sync", json={"records": list(records)})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def visit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Visit))


def test_batch_stores_visits_with_server_and_device_times(world, device):
    phone = device(world.sec1)
    record = visit_payload(world.h1[0])
    [answer] = sync(phone, record)
    assert answer["status"] == "stored" and answer["version"] == 1
    visit = db.session.get(Visit, record["id"])
    assert visit.village_id == world.v1.id and visit.author_id == world.sec1.id
    assert visit.heard.startswith("老人") and visit.follow_up is True
    assert visit.accuracy_m == 12.0 and visit.device_id == phone.device_id
    # Device time is what the phone claimed; receipt time is the server's clock.
    assert abs((visit.occurred_at - datetime.now(UTC).replace(tzinfo=None)).total_seconds()
               - -3 * 3600) < 60
    assert abs((visit.received_at - datetime.now(UTC).replace(tzinfo=None)).total_seconds()) < 60


def test_replay_with_same_content_answers_the_same_and_stores_nothing(world, device):
    phone = device(world.sec1)
    record = visit_payload(world.h1[0])
    first = sync(phone, record)
    again = sync(phone, record)
    assert again == first
    assert visit_count() == 1


def test_replay_with_reformatted_times_is_still_the_same_content(world, device):
    """A phone that serialises the same instant with another offset is replaying, not editing."""
    phone = device(world.sec1)
    record = visit_payload(world.h1[0], occurred_at="2026-11-01T10:00:00+08:00")
    first = sync(phone, record)
    second = sync(phone, {**record, "occurred_at": "2026-11-01T02:00:00Z"})
    assert second == first and visit_count() == 1


def test_same_uuid_with_other_content_is_a_conflict_and_overwrites_nothing(world, device):
    phone = device(world.sec1)
    record = visit_payload(world.h1[0])
    sync(phone, record)
    [answer] = sync(phone, {**record, "heard": "改过的内容"})
    assert answer["status"] == "conflict" and "nothing was overwritten" in answer["message"]
    assert db.session.get(Visit, record["id"]).heard.startswith("老人")


def test_another_user_replaying_a_uuid_gets_a_conflict(world, device):
    record = visit_payload(world.h1[0])
    sync(device(world.sec1), record)
    [answer] = sync(device(world.sec2), record)
    assert answer["status"] == "conflict"


def test_record_for_a_village_outside_scope_is_refused(world, device):
    phone = device(world.sec1)
    [answer] = sync(phone, visit_payload(world.h2[0]))
    assert answer["status"] == "forbidden" and "outside your scope" in answer["message"]
    assert visit_count() == 0


def test_supervisor_cannot_record_visits(world, device):
    [answer] = sync(device(world.sup_t1), visit_payload(world.h1[0]))
    assert answer["status"] == "forbidden"


def test_each_record_is_answered_on_its_own(world, device):
    phone = device(world.sec1)
    good = visit_payload(world.h1[0])
    bad_gps = visit_payload(world.h1[1], location={"lat": 123.0, "lon": 106.7})
    unknown = visit_payload(world.h1[2], household_id=str(uuid.uuid4()))
    # A time no phone clock shows (a time days ahead is taken: tests/test_device_clock.py).
    future = visit_payload(world.h1[3], occurred_at="1900-01-01T08:00:00+08:00")
    no_type = {"id": "x"}
    answers = sync(phone, good, bad_gps, unknown, future, no_type)
    assert [a["status"] for a in answers] == ["stored", "invalid", "invalid", "invalid", "invalid"]
    assert "lat" in answers[1]["fields"]["location"]
    assert answers[2]["fields"] == {"household_id": ["Unknown household."]}
    assert "check the phone's clock" in answers[3]["fields"]["occurred_at"][0]
    assert visit_count() == 1


def test_duplicate_uuid_inside_one_batch(world, device):
    phone = device(world.sec1)
    record = visit_payload(world.h1[0])
    answers = sync(phone, record, record, {**record, "heard": "另一个"})
    assert [a["status"] for a in answers] == ["stored", "stored", "conflict"]
    assert answers[0] == answers[1] and visit_count() == 1


def test_hundred_visits_apply_in_a_few_statements(app, world, device):
    """Records, their audit entries and their flags: a fixed number of statements per batch."""
    phone = device(world.sec1)

    def statements_for(count: int) -> list[str]:
        records = [visit_payload(world.h1[n % 5]) for n in range(count)]
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            answers = sync(phone, *records)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert all(a["status"] == "stored" for a in answers)
        return statements

    few, many = statements_for(10), statements_for(100)
    assert visit_count() == 110
    inserts = [s for s in many if s.lstrip().upper().startswith(
        ("INSERT INTO VISITS", 'COPY "VISITS"'))]  # COPY on PostgreSQL
    assert len(inserts) == 1, "visits must be inserted in bulk"
    # A few statements are conditional (nothing to delete, nothing to flag): not per record.
    assert len(many) <= len(few) + 4 and len(many) < 30, many


@pytest.mark.parametrize("body, code", [
    ("not json", "bad_json"),
    ("[1, 2]", "bad_json"),
    ('{"records": []}', "invalid"),
    ('{"records": "x"}', "invalid"),
])
def test_malformed_batches_get_one_clear_error_shape(world, device, body, code):
    response = device(world.sec1).post("/api/v1/sync", data=body,
                                       content_type="application/json")
    assert response.status_code == 422
    payload = response.get_json()
    assert payload["error"] == code and payload["message"] and "fields" in payload


def test_batch_too_large_is_refused(world, device):
    records = [visit_payload(world.h1[0]) for _ in range(501)]
    response = device(world.sec1).post("/api/v1/sync", json={"records": records})
    assert response.status_code == 422 and "records" in response.get_json()["fields"]


def test_no_credentials_is_401_in_the_error_shape(client, world):
    response = client.post("/api/v1/sync", json={"records": [visit_payload(world.h1[0])]})
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_revoked_device_token_is_refused(client, world, device, login):
    phone = device(world.sec1)
    session = login("sec1")
    client.post("/logout", data={"csrf_token": session.csrf, "device_id": phone.device_id})
    response = phone.post("/api/v1/sync", json={"records": [visit_payload(world.h1[0])]})
    assert response.status_code == 401 and "signed out" in response.get_json()["message"]


def test_cookie_session_needs_the_csrf_header(client, world, login):
    session = login("sec1")
    record = visit_payload(world.h1[0])
    refused = client.post("/api/v1/sync", json={"records": [record]})
    assert refused.status_code == 400 and refused.get_json()["error"] == "bad_request"
    accepted = client.post("/api/v1/sync", json={"records": [record]},
                           headers={"X-CSRFToken": session.csrf})
    assert accepted.status_code == 200 and accepted.get_json()["results"][0]["status"] == "stored"


def test_browser_token_replays_hours_later_without_session_or_csrf(app, client, world, login):
    """Offline replay: the session and its CSRF token are gone, the record still lands."""
    session = login("sec1")
    issued = client.post("/api/v1/devices", json={"label": "Chrome on Android"},
                         headers={"X-CSRFToken": session.csrf})
    assert issued.status_code == 201
    token = issued.get_json()["token"]
    client.delete_cookie("session")  # the session expired while the phone was offline
    later = app.test_client()
    response = later.post("/api/v1/sync", json={"records": [visit_payload(world.h1[0])]},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json()["results"][0]["status"] == "stored"


def test_device_registration_needs_csrf(client, world, login):
    login("sec1")
    response = client.post("/api/v1/devices", json={"label": "x"})
    assert response.status_code == 400


def test_households_for_the_phone_never_carry_phone_numbers(world, device):
    response = device(world.sec1).get("/api/v1/households")
    households = response.get_json()["households"]
    assert len(households) == 5 and all("phone" not in h for h in households)
    assert {h["village_id"] for h in households} == {world.v1.id}


def test_sync_computes_integrity_flags(world, device):
    from fieldlog.models import Flag

    far = visit_payload(world.h1[0], location={"lat": 26.70, "lon": 106.71, "accuracy_m": 10})
    unlocated = visit_payload(world.h1[1], location=None)
    sync(device(world.sec1), far, unlocated)
    kinds = {(f.record_id, f.kind) for f in db.session.scalars(select(Flag))}
    assert (far["id"], "far_from_village") in kinds
    assert not {k for i, k in kinds if i == unlocated["id"]}  # no fix is not a flag


def test_a_failing_flag_engine_never_loses_a_record(app, world, device, monkeypatch):
    import fieldlog.services.integrity.flags as integrity

    def broken(_ids):
        raise RuntimeError("flag engine bug")

    monkeypatch.setattr(integrity, "compute_visit_flags", broken)
    record = visit_payload(world.h1[0])
    [answer] = sync(device(world.sec1), record)
    assert answer["status"] == "stored" and db.session.get(Visit, record["id"]) is not None
