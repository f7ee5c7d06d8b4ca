"""Meeting minutes: sync with goal links and ledger items, the phone list, read pages, edits."""
import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from fieldlog.extensions import db
from fieldlog.models import GoalLink, LedgerItem, LedgerLink, Meeting, RecordVersion, ReviewDecision
from fieldlog.services.records.meetings import meeting_counts_by_type
from tests.test_sync_api import sync


def _times(hours_ago: float = 1) -> dict:
    at = (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat()
    return {"occurred_at": at, "device_created_at": at,
            "location": {"lat": 26.5805, "lon": 106.7102, "accuracy_m": 12.0, "located_at": at},
            "photo_ids": []}


def goal_payload(**overrides) -> dict:
    return {"type": "goal", "id": str(uuid.uuid4()), "goal_type": "new_members",
            "title": "本届发展两名党员", "target": "两名入党积极分子转为预备党员",
            "progress": "", "state": "under_way", **_times(48), **overrides}


def meeting_payload(**overrides) -> dict:
    return {"type": "meeting", "id": str(uuid.uuid4()), "meeting_type": "branch_assembly",
            "title": "第三季度支部党员大会", "place": "村委会议室", "host": "王书记",
            "expected_count": 30, "attended_count": 26, "attendees": "见签到表",
            "topics": "学习文件；讨论发展党员", "decisions": "确定两名积极分子",
            "goal_ids": [], **_times(), **overrides}


def action_payload(**overrides) -> dict:
    return {"type": "action", "id": str(uuid.uuid4()), "action_type": "practical_deed",
            "title": "修缮三组排水沟", "description": "雨季积水", "state": "under_way",
            "due_date": None, "done_on": None, "evidence": "", "goal_ids": [], **_times(),
            **overrides}


def ledger_payload(meeting_id: str, **overrides) -> dict:
    return {"type": "ledger_item", "id": str(uuid.uuid4()), "content": "村口路灯坏了",
            "category": "infrastructure", "source": {"type": "meeting", "id": meeting_id},
            **_times(), **overrides}


def matrix_objects(world, device, table, local) -> dict:
    """A meeting, an action and a goal of sec1 (own) and sec3 (foreign) for the scope matrix."""
    made = {}
    for key, secretary in (("own", world.sec1), ("foreign", world.sec3)):
        goal = goal_payload()
        meeting, action = meeting_payload(goal_ids=[goal["id"]]), action_payload()
        answers = sync(device(secretary), goal, meeting, action)
        assert [a["status"] for a in answers] == ["stored"] * 3, answers
        made[key] = {"meeting": meeting["id"], "action": action["id"], "goal": goal["id"]}
    return {kind: table(made["own"][kind], local, made["foreign"][kind])
            for kind in ("meeting", "action", "goal")}


def page_json(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="record-data">(.*?)</script>', html,
                      re.S)
    assert match, "no record data on the edit page"
    return json.loads(match.group(1))


@pytest.fixture
def english(client):
    def set_english():
        with client.session_transaction() as session:
            session["locale"] = "en"
    return set_english


# --- sync -------------------------------------------------------------------------------------

def test_meeting_with_goal_link_is_stored_and_shown(world, device, login, client):
    phone = device(world.sec1)
    goal = goal_payload()
    meeting = meeting_payload(goal_ids=[goal["id"]])
    assert [a["status"] for a in sync(phone, goal, meeting)] == ["stored", "stored"]
    stored = db.session.get(Meeting, meeting["id"])
    assert stored.village_id == world.v1.id and stored.attended_count == 26
    link = db.session.scalar(select(GoalLink).where(GoalLink.record_id == meeting["id"]))
    assert link.goal_id == goal["id"] and link.record_type == "meeting"

    login("sup_t1")
    page = client.get(f"/review/meetings/{meeting['id']}").get_data(as_text=True)
    assert 'data-testid="meeting-detail"' in page and "第三季度支部党员大会" in page
    assert f'data-goal-id="{goal["id"]}"' in page
    assert '<dd data-testid="attendance">26/30</dd>' in page
    assert 'data-testid="distance-village"' in page  # from the village centre
    assert 'data-version="1"' in page


def test_villagers_say_items_become_ledger_items_linked_to_the_meeting(world, device, login,
                                                                       client):
    phone = device(world.sec1)
    meeting = meeting_payload(meeting_type="villagers_say", title="", topics="村民说事：道路与用水")
    item1 = ledger_payload(meeting["id"], household_id=world.h1[1].id)
    item2 = ledger_payload(meeting["id"], content="希望解决饮水管道老化", raiser_name="李大爷",
                           category="health")
    answers = sync(phone, meeting, item1, item2)
    assert [a["status"] for a in answers] == ["stored"] * 3, answers
    links = db.session.scalars(select(LedgerLink).where(
        LedgerLink.record_type == "meeting", LedgerLink.record_id == meeting["id"])).all()
    assert {link.item_id for link in links} == {item1["id"], item2["id"]}
    assert db.session.get(LedgerItem, item1["id"]).household_id == world.h1[1].id
    assert db.session.get(LedgerItem, item2["id"]).raiser_name == "李大爷"

    login("sec1")
    page = client.get(f"/review/meetings/{meeting['id']}").get_data(as_text=True)
    assert page.count('data-testid="ledger-item"') == 2
    assert world.h1[1].head_name in page and "李大爷" in page


def test_item_sent_before_its_meeting_in_another_batch_is_refused(world, device):
    phone = device(world.sec1)
    meeting = meeting_payload(meeting_type="villagers_say")
    [answer] = sync(phone, ledger_payload(meeting["id"]))
    assert answer["status"] == "invalid" and "source" in answer["fields"]
    assert db.session.scalar(select(func.count()).select_from(LedgerItem)) == 0


@pytest.mark.parametrize("change, field", [
    ({"topics": "", "decisions": "", "title": ""}, "topics"),
    ({"meeting_type": "other", "title": ""}, "title"),
    ({"meeting_type": "tea_party"}, "meeting_type"),
    ({"attended_count": -3}, "attended_count"),
    ({"goal_ids": [str(uuid.uuid4())]}, "goal_ids"),
])
def test_bad_meeting_is_refused_with_a_message_and_stores_nothing(world, device, change, field):
    [answer] = sync(device(world.sec1), meeting_payload(**change))
    assert answer["status"] == "invalid" and field in answer["fields"], answer
    assert answer["message"]
    assert db.session.scalar(select(func.count()).select_from(Meeting)) == 0
    assert db.session.scalar(select(func.count()).select_from(RecordVersion)) == 0


# --- the phone list -----------------------------------------------------------------------------

def test_meeting_list_is_own_newest_first_with_attendance_and_status(world, device, login,
                                                                    client):
    old = meeting_payload(title="旧会议", **{k: v for k, v in _times(30).items()})
    new = meeting_payload(title="新会议", meeting_type="two_committees", expected_count=None)
    sync(device(world.sec1), old, new)
    sync(device(world.sec2), meeting_payload(title="别村的会议"))
    db.session.get(Meeting, old["id"]).status = "approved"
    db.session.commit()
    login("sec1")
    page = client.get("/m/meetings").get_data(as_text=True)
    ids = re.findall(r'data-testid="meeting-item" data-meeting-id="([^"]+)"', page)
    assert ids == [new["id"], old["id"]]
    assert "别村的会议" not in page
    assert '<strong class="attendance" data-testid="attendance">26/30</strong>' in page
    assert '26/—' in page  # expected not given
    assert 'data-status="approved"' in page and 'data-status="submitted"' in page
    # An approved record offers no edit.
    assert page.count('data-testid="edit-meeting"') == 1
    assert f"/m/records/meeting/{new['id']}/edit" in page


def test_forms_render_for_the_secretary_only(world, login, client):
    login("sec1")
    page = client.get("/m/meetings/new").get_data(as_text=True)
    assert page.count('name="meeting_type"') == 7 and 'id="item-template"' in page
    assert world.h1[0].head_name in page  # who raised an item: the village's households
    assert 'id="record-data"' not in page
    login("sup_t1")
    assert client.get("/m/meetings/new").status_code == 403
    assert client.get("/m/meetings").status_code == 403


# --- read pages: scope -------------------------------------------------------------------------

@pytest.mark.parametrize("username, status", [
    ("sec1", 200), ("sup_t1", 200), ("sup_county", 200), ("inspector", 200), ("admin", 200),
    ("sup_t2", 404), ("sec2", 404), ("sec3", 404),
])
def test_meeting_page_scope(world, device, login, client, username, status):
    meeting = meeting_payload()
    sync(device(world.sec1), meeting)
    login(username)
    response = client.get(f"/review/meetings/{meeting['id']}")
    assert response.status_code == status
    if status == 404:
        assert "第三季度" not in response.get_data(as_text=True)


def test_meeting_page_anonymous_goes_to_sign_in(world, device, client):
    meeting = meeting_payload()
    sync(device(world.sec1), meeting)
    response = client.get(f"/review/meetings/{meeting['id']}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- edits --------------------------------------------------------------------------------------

def test_edit_page_prefills_and_an_edit_makes_version_2(world, device, login, client):
    phone = device(world.sec1)
    meeting = meeting_payload()
    sync(phone, meeting)
    login("sec1")
    page = client.get(f"/m/records/meeting/{meeting['id']}/edit").get_data(as_text=True)
    data = page_json(page)
    assert data["id"] == meeting["id"] and data["version"] == 1 and not data["locked"]
    assert data["data"]["topics"] == meeting["topics"]
    assert data["data"]["expected_count"] == 30
    assert 'data-testid="edit-version"' in page

    edited = {**meeting, "decisions": "确定两名积极分子并公示", "base_version": 1}
    [answer] = sync(phone, edited)
    assert answer["status"] == "stored" and answer["version"] == 2
    versions = db.session.scalars(select(RecordVersion).where(
        RecordVersion.record_id == meeting["id"]).order_by(RecordVersion.version)).all()
    assert [v.version for v in versions] == [1, 2]
    assert json.loads(versions[1].data)["decisions"].endswith("公示")
    data = page_json(client.get(f"/m/records/meeting/{meeting['id']}/edit").get_data(
        as_text=True))
    assert data["version"] == 2 and data["data"]["decisions"].endswith("公示")


def test_returned_record_shows_the_reviewers_comment(world, device, login, client, english):
    meeting = meeting_payload()
    sync(device(world.sec1), meeting)
    db.session.get(Meeting, meeting["id"]).status = "returned"
    db.session.add(ReviewDecision(record_type="meeting", record_id=meeting["id"], version=1,
                                  decision="returned", comment="请补充签到表照片",
                                  reviewer_id=world.sup_t1.id))
    db.session.commit()
    login("sec1")
    english()
    page = client.get(f"/m/records/meeting/{meeting['id']}/edit").get_data(as_text=True)
    assert 'data-testid="review-comment"' in page and "请补充签到表照片" in page
    assert "Returned by SUP_T1" in page


def test_approved_meeting_cannot_be_edited(world, device, login, client, english):
    phone = device(world.sec1)
    meeting = meeting_payload()
    sync(phone, meeting)
    db.session.get(Meeting, meeting["id"]).status = "approved"
    db.session.commit()
    login("sec1")
    english()
    response = client.get(f"/m/records/meeting/{meeting['id']}/edit")
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert 'data-testid="edit-locked"' in page and "can no longer be changed" in page
    assert 'data-testid="save-record"' not in page
    assert page_json(page)["locked"] is True
    [answer] = sync(phone, {**meeting, "topics": "改", "base_version": 1})
    assert answer["status"] == "conflict" and answer["error"] == "locked"
    assert db.session.get(Meeting, meeting["id"]).version == 1


def test_another_secretary_cannot_edit(world, device, login, client):
    meeting = meeting_payload()
    sync(device(world.sec1), meeting)
    login("sec2")
    assert client.get(f"/m/records/meeting/{meeting['id']}/edit").status_code == 404
    [answer] = sync(device(world.sec2), {**meeting, "topics": "改", "base_version": 1})
    assert answer["status"] in ("conflict", "forbidden")
    assert db.session.get(Meeting, meeting["id"]).version == 1


def test_edit_url_with_an_unknown_type_or_id_is_404(world, login, client):
    login("sec1")
    assert client.get(f"/m/records/visit/{uuid.uuid4()}/edit").status_code == 404
    assert client.get(f"/m/records/meeting/{uuid.uuid4()}/edit").status_code == 404
    assert client.get("/m/records/meeting/not-a-uuid/edit").status_code == 404


# --- for dashboards -----------------------------------------------------------------------------

def test_meeting_counts_by_type_in_one_query(world, device):
    sync(device(world.sec1), meeting_payload(), meeting_payload(),
         meeting_payload(meeting_type="villagers_say"),
         meeting_payload(**{k: v for k, v in _times(24 * 40).items()}))
    sync(device(world.sec3), meeting_payload(meeting_type="party_lecture"))
    ids = [world.sec1.id, world.sec2.id, world.sec3.id]
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        today = date.today()
        counts = meeting_counts_by_type(ids, today - timedelta(days=10), today + timedelta(days=1))
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 1
    assert counts[ids[0]]["branch_assembly"] == 2 and counts[ids[0]]["villagers_say"] == 1
    assert counts[ids[2]]["party_lecture"] == 1
    assert sum(counts[ids[1]].values()) == 0
