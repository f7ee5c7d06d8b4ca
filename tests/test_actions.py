"""Six-one actions and five-one goals: the board, before/after photos, evidence, edits, scope."""
import re
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from fieldlog.extensions import db
from fieldlog.models import Action, Goal, Photo, RecordVersion
from fieldlog.services.records.actions import action_status
from tests.test_meetings import action_payload, goal_payload, meeting_payload, page_json
from tests.test_photo_api import upload
from tests.test_sync_api import sync, visit_payload

BEFORE = "jpg_orientation_landscape_3.jpg"
AFTER = "jpg_mobile_HMD_Nokia_8.3_5G.jpg"


def _deed_with_photos(world, device, photos_dir) -> tuple[dict, dict]:
    phone = device(world.sec1)
    ids = {"before": str(uuid.uuid4()), "after": str(uuid.uuid4())}
    deed = action_payload(photo_ids=list(ids.values()))
    [answer] = sync(phone, deed)
    assert answer["status"] == "stored"
    for slot, name in (("before", BEFORE), ("after", AFTER)):
        response = upload(phone, photos_dir / name, photo_id=ids[slot], record_id=deed["id"],
                          record_type="action", slot=slot)
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["slot"] == slot
    return deed, ids


def test_practical_deed_with_before_and_after_photos(world, device, login, client, photos_dir):
    deed, ids = _deed_with_photos(world, device, photos_dir)
    photos = {p.slot: p for p in db.session.scalars(
        select(Photo).where(Photo.record_type == "action", Photo.record_id == deed["id"]))}
    assert set(photos) == {"before", "after"} and photos["before"].id == ids["before"]

    login("sup_t1")
    page = client.get(f"/review/actions/{deed['id']}").get_data(as_text=True)
    before = page.split('data-testid="before-photos"')[1].split('data-testid="after-photos"')[0]
    after = page.split('data-testid="after-photos"')[1]
    assert f"/review/photos/{ids['before']}/display" in before
    assert f"/review/photos/{ids['after']}/display" in after
    assert client.get(f"/review/photos/{ids['after']}/thumb").status_code == 200

    login("sup_t2")
    assert client.get(f"/review/actions/{deed['id']}").status_code == 404
    assert client.get(f"/review/photos/{ids['after']}/thumb").status_code == 404


def test_photo_for_a_slot_that_does_not_exist_is_refused(world, device, photos_dir):
    phone = device(world.sec1)
    deed = action_payload()
    sync(phone, deed)
    response = upload(phone, photos_dir / BEFORE, record_id=deed["id"], record_type="action",
                      slot="during")
    assert response.status_code == 422
    assert db.session.scalar(select(Photo.id)) is None


def test_board_shows_coverage_and_each_actions_state(world, device, login, client):
    phone = device(world.sec1)
    sync(phone, visit_payload(world.h1[0]), visit_payload(world.h1[2]))
    today = date.today()
    lecture = action_payload(action_type="party_lecture", title="讲党课：乡村振兴", state="done",
                             done_on=today.isoformat())
    late = action_payload(action_type="pledge", title="年底前修好便民桥", state="under_way",
                          due_date=(today - timedelta(days=3)).isoformat())
    kept = action_payload(action_type="pledge", title="帮助三户就业", state="done",
                          due_date=(today + timedelta(days=30)).isoformat(),
                          done_on=today.isoformat())
    plan = action_payload(action_type="plan", title="村发展三年计划", state="planned")
    sync(phone, lecture, late, kept, plan)
    sync(device(world.sec2), action_payload(title="别村的实事"))
    login("sec1")
    page = client.get("/m/actions").get_data(as_text=True)
    assert '<strong data-testid="coverage-visited">2</strong>' in page
    assert '<span data-testid="coverage-total">5</span>' in page
    assert 'data-testid="board-party_lecture" data-state="done"' in page
    assert 'data-testid="board-pledge" data-state="done"' in page
    assert 'data-testid="board-plan" data-state="planned"' in page
    assert 'data-testid="board-practical_deed" data-state="none"' in page
    assert 'data-testid="board-activity" data-state="none"' in page
    assert "别村的实事" not in page
    pledges = page.split('data-testid="board-pledge"')[1].split('data-testid="board-')[0]
    assert 'data-state="overdue"' in pledges and 'data-state="fulfilled"' in pledges
    # Each typed row offers to record one more of its kind.
    assert '/m/actions/new?type=practical_deed' in page


def test_goals_list_their_evidence(world, device, login, client):
    phone = device(world.sec1)
    goal = goal_payload(goal_type="project", title="引进茶叶加工项目")
    meeting = meeting_payload(title="项目论证会", goal_ids=[goal["id"]])
    action = action_payload(action_type="activity", title="组织茶企考察", goal_ids=[goal["id"]])
    sync(phone, goal, meeting, action)
    login("sec1")
    page = client.get("/m/actions").get_data(as_text=True)
    row = page.split('data-testid="goal-row-project"')[1].split('data-testid="goal-row-')[0]
    assert "引进茶叶加工项目" in row
    assert set(re.findall(r'data-testid="evidence-item" data-record-id="([^"]+)"', row)) == {
        meeting["id"], action["id"]}
    detail = client.get(f"/review/goals/{goal['id']}").get_data(as_text=True)
    assert "项目论证会" in detail and "组织茶企考察" in detail
    action_page = client.get(f"/review/actions/{action['id']}").get_data(as_text=True)
    assert f'data-goal-id="{goal["id"]}"' in action_page


def test_changing_the_state_is_an_edit_with_a_new_version(world, device, login, client):
    phone = device(world.sec1)
    action = action_payload(state="planned")
    sync(phone, action)
    login("sec1")
    data = page_json(client.get(f"/m/records/action/{action['id']}/edit").get_data(as_text=True))
    assert data["version"] == 1 and data["data"]["state"] == "planned"
    done = {**data["data"], "type": "action", "state": "done",
            "done_on": date.today().isoformat(), "base_version": data["version"]}
    [answer] = sync(phone, done)
    assert answer["status"] == "stored" and answer["version"] == 2
    stored = db.session.get(Action, action["id"])
    assert stored.state == "done" and stored.version == 2 and stored.status == "submitted"
    assert db.session.scalars(select(RecordVersion.version).where(
        RecordVersion.record_id == action["id"])).all() == [1, 2]
    page = client.get("/m/actions").get_data(as_text=True)
    assert f'data-action-id="{action["id"]}" data-state="done" data-version="2"' in page
    # A stale edit (made on version 1) is refused and changes nothing.
    [stale] = sync(phone, {**done, "evidence": "验收单", "base_version": 1})
    assert stale["status"] == "conflict" and stale["error"] == "stale"


def test_approved_action_and_goal_refuse_editing(world, device, login, client):
    phone = device(world.sec1)
    action, goal = action_payload(), goal_payload()
    sync(phone, action, goal)
    db.session.get(Action, action["id"]).status = "approved"
    db.session.get(Goal, goal["id"]).status = "approved"
    db.session.commit()
    login("sec1")
    for kind, record in (("action", action), ("goal", goal)):
        response = client.get(f"/m/records/{kind}/{record['id']}/edit")
        assert response.status_code == 409
        assert 'data-testid="edit-locked"' in response.get_data(as_text=True)
    page = client.get("/m/actions").get_data(as_text=True)
    assert 'data-testid="edit-action"' not in page and 'data-testid="edit-goal"' not in page


@pytest.mark.parametrize("username, status", [
    ("sec1", 200), ("sup_t1", 200), ("inspector", 200), ("sup_t2", 404), ("sec2", 404),
])
def test_action_and_goal_pages_scope(world, device, login, client, username, status):
    action, goal = action_payload(), goal_payload()
    sync(device(world.sec1), action, goal)
    login(username)
    assert client.get(f"/review/actions/{action['id']}").status_code == status
    assert client.get(f"/review/goals/{goal['id']}").status_code == status


def test_another_secretary_cannot_open_the_edit_page(world, device, login, client):
    action = action_payload()
    sync(device(world.sec1), action)
    login("sec2")
    assert client.get(f"/m/records/action/{action['id']}/edit").status_code == 404
    login("sup_t1")
    assert client.get(f"/m/records/action/{action['id']}/edit").status_code == 403


@pytest.mark.parametrize("change, field", [
    ({"title": "  "}, "title"),
    ({"state": "finished"}, "state"),
    ({"action_type": "visit_all"}, "action_type"),
    ({"due_date": "1999-01-01"}, "due_date"),
])
def test_bad_action_is_refused_and_stores_nothing(world, device, change, field):
    [answer] = sync(device(world.sec1), action_payload(**change))
    assert answer["status"] == "invalid" and field in answer["fields"], answer
    assert db.session.scalar(select(Action.id)) is None


def test_forms_render(world, device, login, client):
    goal = goal_payload()
    sync(device(world.sec1), goal)
    login("sec1")
    page = client.get("/m/actions/new").get_data(as_text=True)
    assert page.count('name="action_type"') == 5
    assert 'data-slot="before"' in page and 'data-slot="after"' in page
    assert f'value="{goal["id"]}"' in page  # evidence for a goal
    page = client.get("/m/goals/new").get_data(as_text=True)
    assert page.count('name="goal_type"') == 5


def test_action_status_summarises_in_two_queries(world, device):
    today = date.today()
    sync(device(world.sec1),
         action_payload(action_type="party_lecture", state="done", done_on=today.isoformat()),
         action_payload(action_type="party_lecture", state="planned"),
         action_payload(action_type="pledge", state="under_way",
                        due_date=(today - timedelta(days=1)).isoformat()))
    sync(device(world.sec3), action_payload(state="under_way"))
    ids = [world.sec1.id, world.sec2.id, world.sec3.id]
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        status = action_status(ids, today)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 2
    lecture = status[ids[0]]["party_lecture"]
    assert lecture == {"state": "done", "count": 2, "done": 1, "overdue": 0}
    assert status[ids[0]]["pledge"]["overdue"] == 1
    assert status[ids[2]]["practical_deed"]["state"] == "under_way"
    assert status[ids[1]]["plan"] == {"state": None, "count": 0, "done": 0, "overdue": 0}


def test_deed_photos_are_labelled_before_work_and_when_done_not_as_an_edit(
        world, device, login, client, photos_dir):
    deed, _ids = _deed_with_photos(world, device, photos_dir)
    login("sup_t1")
    page = client.get(f"/review/actions/{deed['id']}").get_data(as_text=True)
    before = page.split('data-testid="before-photos"')[1].split('data-testid="after-photos"')[0]
    after = page.split('data-testid="after-photos"')[1].split("</div>")[0]
    assert "实施前" in before and "完成后" in after
    assert "修改前" not in page and "修改后" not in page
    login("sec1")
    form = client.get("/m/actions/new?type=practical_deed").get_data(as_text=True)
    assert "实施前" in form and "完成后" in form and "修改前" not in form


def test_history_columns_still_read_before_and_after_the_edit(world, device, login, client):
    phone = device(world.sec1)
    action = action_payload(state="planned")
    sync(phone, action)
    sync(phone, {**action, "state": "under_way", "base_version": 1})
    login("sup_t1")
    page = client.get(f"/review/records/action/{action['id']}/history").get_data(as_text=True)
    assert "修改前" in page and "修改后" in page and "实施前" not in page
