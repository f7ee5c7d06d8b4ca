"""Working a sample: the callback number, outcomes, presence checks, the summary, findings."""
import io
import json
from datetime import date, datetime, timedelta

import pytest
from flask import render_template
from sqlalchemy import event, func, select

from fieldlog.errors import Forbidden, Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import AuditEntry, CheckTask, Photo, PresenceCheck, User, Visit
from fieldlog.models.base import utcnow
from fieldlog.services.inspection import checks
from fieldlog.services.inspection.sampling import draw_sample
from tests.test_sampling import add_visit, flag
from tests.test_sync_api import sync, visit_payload

MARCH = (date(2026, 3, 1), date(2026, 3, 31))


@pytest.fixture
def sampled(world):
    """Two visits of sec1 and one of sec2 in March, and a sample of all three."""
    visits = [add_visit(world.sec1, world.h1[0], datetime(2026, 3, 5, 2, 0)),
              add_visit(world.sec1, world.h1[1], datetime(2026, 3, 6, 2, 0)),
              add_visit(world.sec2, world.h2[0], datetime(2026, 3, 7, 2, 0))]
    db.session.commit()
    sample = draw_sample(world.inspector, world.t1.id, *MARCH, size=3, seed=5)
    by_record = {t.record_id: t for t in sample.tasks}
    return [by_record[v.id] for v in visits], visits


def audits(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.id)))


def other_inspector(world) -> User:
    user = User(username="insp2", display_name="INSP2", role="inspector",
                scope_unit_id=world.county.id, password_hash=world.inspector.password_hash)
    db.session.add(user)
    db.session.commit()
    return user


def test_the_phone_is_revealed_only_on_the_inspectors_own_phone_task(world, sampled):
    (task, *_rest), _visits = sampled
    with pytest.raises(Forbidden):  # no method chosen yet
        checks.reveal_phone_for_task(world.inspector, task.id)
    checks.choose_method(world.inspector, task.id, "site")
    with pytest.raises(Forbidden):
        checks.reveal_phone_for_task(world.inspector, task.id)
    checks.choose_method(world.inspector, task.id, "phone")
    assert checks.reveal_phone_for_task(world.inspector, task.id) == world.h1[0].phone
    for outsider in (other_inspector(world), world.sup_county, world.sec1, world.admin):
        with pytest.raises(NotFound):
            checks.reveal_phone_for_task(outsider, task.id)


def test_every_reveal_is_logged_with_the_task(world, sampled):
    (task, *_rest), _visits = sampled
    checks.choose_method(world.inspector, task.id, "phone")
    checks.reveal_phone_for_task(world.inspector, task.id)
    checks.reveal_phone_for_task(world.inspector, task.id)
    reveals = audits("phone.reveal")
    assert len(reveals) == 2
    for entry in reveals:
        assert entry.actor_id == world.inspector.id and entry.object_id == world.h1[0].id
        assert f"#{task.id}" in json.loads(entry.details)["reason"]
    assert json.loads(audits("check.method")[-1].details)["method"] == "phone"


def test_reveal_page_shows_the_number_once_and_is_not_stored(client, world, login, sampled):
    (task, *_rest), _visits = sampled
    session = login("inspector")
    page = client.get(f"/inspect/tasks/{task.id}").get_data(as_text=True)
    assert world.h1[0].phone not in page and 'data-testid="reveal-phone"' not in page
    client.post(f"/inspect/tasks/{task.id}/method", data={"method": "phone",
                                                           "csrf_token": session.csrf})
    page = client.get(f"/inspect/tasks/{task.id}").get_data(as_text=True)
    assert 'data-testid="reveal-phone"' in page and world.h1[0].phone not in page
    revealed = client.post(f"/inspect/tasks/{task.id}/reveal",
                           data={"csrf_token": session.csrf})
    assert revealed.status_code == 200 and revealed.headers["Cache-Control"] == "no-store"
    assert f'href="tel:{world.h1[0].phone}"' in revealed.get_data(as_text=True)
    assert world.h1[0].phone not in client.get(f"/inspect/tasks/{task.id}").get_data(as_text=True)
    assert len(audits("phone.reveal")) == 1
    # Without a CSRF token nothing is revealed.
    assert client.post(f"/inspect/tasks/{task.id}/reveal").status_code == 400
    assert len(audits("phone.reveal")) == 1


def test_a_household_without_a_phone_gets_a_message_not_a_number(client, world, login,
                                                                 sampled):
    (task, *_rest), _visits = sampled
    world.h1[0].phone = None
    db.session.commit()
    session = login("inspector")
    client.post(f"/inspect/tasks/{task.id}/method", data={"method": "phone",
                                                           "csrf_token": session.csrf})
    answer = client.post(f"/inspect/tasks/{task.id}/reveal", data={"csrf_token": session.csrf},
                         follow_redirects=True)
    assert answer.status_code == 200 and "flash-error" in answer.get_data(as_text=True)
    assert 'data-testid="revealed-phone"' not in answer.get_data(as_text=True)
    assert audits("phone.reveal") == []


def test_reveal_before_choosing_phone_explains_itself(client, world, login, sampled):
    (task, *_rest), _visits = sampled
    session = login("inspector")
    answer = client.post(f"/inspect/tasks/{task.id}/reveal", data={"csrf_token": session.csrf})
    assert answer.status_code == 302 and audits("phone.reveal") == []


def test_recording_an_outcome(world, sampled):
    (task, *_rest), (visit, *_v) = sampled
    before = {c.name: getattr(visit, c.name) for c in Visit.__table__.columns}
    checks.record_outcome(world.inspector, task.id, "phone", "not_as_recorded",
                          "户主说当天没有人来过。")
    task = db.session.get(CheckTask, task.id)
    assert (task.method, task.outcome, task.done_by_id) == ("phone", "not_as_recorded",
                                                             world.inspector.id)
    assert task.done_at is not None and task.notes == "户主说当天没有人来过。"
    [entry] = audits("check.outcome")
    assert (entry.object_type, entry.object_id) == ("visit", visit.id)
    details = json.loads(entry.details)
    assert details["outcome"] == "not_as_recorded" and details["task_id"] == task.id
    # Recording again keeps the earlier verdict in the trail.
    checks.record_outcome(world.inspector, task.id, "site", "confirmed", "")
    assert json.loads(audits("check.outcome")[-1].details)["previous"] == {
        "method": "phone", "outcome": "not_as_recorded"}
    db.session.expire_all()
    after = {c.name: getattr(db.session.get(Visit, visit.id), c.name)
             for c in Visit.__table__.columns}
    assert after == before  # the record itself is untouched


@pytest.mark.parametrize(("method", "outcome", "notes", "words"), [
    ("email", "confirmed", "", "phone callback, site visit or document check"),
    ("phone", "maybe", "", "confirmed, not as recorded or unreachable"),
    ("phone", "not_as_recorded", "  ", "what was found to differ"),
    ("phone", "confirmed", "长" * 2001, "at most 2000"),
])
def test_bad_outcomes_are_refused(world, sampled, method, outcome, notes, words):
    (task, *_rest), _visits = sampled
    with pytest.raises(Invalid) as refused:
        checks.record_outcome(world.inspector, task.id, method, outcome, notes)
    assert words in refused.value.message
    assert db.session.get(CheckTask, task.id).outcome is None


def test_outcome_with_a_photo_over_http_and_who_sees_it(client, app, world, login, sampled,
                                                        photos_dir):
    (task, *_rest), _visits = sampled
    session = login("inspector")
    jpeg = (photos_dir / "jpg_gps_DSCN0010.jpg").read_bytes()
    response = client.post(f"/inspect/tasks/{task.id}/outcome", data={
        "csrf_token": session.csrf, "method": "site", "outcome": "confirmed",
        "notes": "到户核实，情况属实。", "photos": (io.BytesIO(jpeg), "check.jpg")},
        content_type="multipart/form-data")
    assert response.status_code == 302 and f"/inspect/samples/{task.sample_id}" in \
        response.headers["Location"]
    photo = db.session.scalar(select(Photo).where(Photo.record_type == "check"))
    url = f"/inspect/tasks/{task.id}/photos/{photo.id}/thumb"
    assert client.get(url).status_code == 200
    client.post("/logout", data={"csrf_token": session.csrf})
    login("sup_t1")
    shown = client.get(url)
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    client.post("/logout", data={"csrf_token": login("sup_t1").csrf})
    login("sup_t2")
    assert client.get(url).status_code == 404


def test_a_bad_outcome_over_http_keeps_what_was_typed(client, world, login, sampled):
    (task, *_rest), _visits = sampled
    session = login("inspector")
    response = client.post(f"/inspect/tasks/{task.id}/outcome", data={
        "csrf_token": session.csrf, "method": "phone", "outcome": "not_as_recorded",
        "notes": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "flash-error" in page and 'value="not_as_recorded" checked' in page


def test_presence_check_expects_the_register_and_records_answers(world):
    form = checks.presence_form(world.inspector, world.sec1.id)
    expected = {q.key: q.expected for q in form.questions}
    assert expected == {"households": 5, "industry": None, "open_items": None}
    check = checks.record_presence_check(world.inspector, world.sec1.id, {
        "households": "大概5户", "industry": "茶叶和养牛", "open_items": ""}, "passed", "")
    answers = {a["question"]: a for a in json.loads(check.answers)}
    assert answers["households"]["correct"] is True and answers["households"]["expected"] == 5
    assert answers["industry"]["correct"] is None and answers["industry"]["answer"] == "茶叶和养牛"
    assert check.village_id == world.v1.id and check.cadre_id == world.sec1.id
    [entry] = audits("presence.check")
    assert entry.object_id == str(world.sec1.id) and json.loads(entry.details)["correct"] == 1
    wrong = checks.record_presence_check(world.inspector, world.sec1.id,
                                         {"households": "40"}, "failed", "说不清村里户数")
    assert json.loads(wrong.answers)[0]["correct"] is False


def test_presence_check_refusals(world):
    with pytest.raises(Invalid):  # no answer at all and not "unreachable"
        checks.record_presence_check(world.inspector, world.sec1.id, {}, "passed", "")
    checks.record_presence_check(world.inspector, world.sec1.id, {}, "unreachable", "关机")
    with pytest.raises(NotFound):  # not a cadre
        checks.presence_form(world.inspector, world.sup_t1.id)
    with pytest.raises(Forbidden):
        checks.presence_form(world.sup_county, world.sec1.id)
    with pytest.raises(Invalid):
        checks.record_presence_check(world.inspector, world.sec1.id, {"households": "5"},
                                     "great", "")


def _figures(row) -> tuple:
    return (row.records, dict(row.flags), row.unexplained, row.checks_done,
            {k: v for k, v in row.checks.items() if k}, row.checks.get(None, 0),
            dict(row.presence))


def test_integrity_summary_per_cadre_and_township(world, sampled):
    tasks, visits = sampled
    extra = add_visit(world.sec3, world.h3[0], datetime(2026, 3, 9, 2, 0))
    add_visit(world.sec1, world.h1[2], datetime(2026, 2, 9, 2, 0))  # before the period
    flag(visits[0], "far_from_village")
    flag(visits[0], "no_location")  # stored by an earlier version: information, not a flag
    flag(visits[1], "far_from_village")
    flag(extra, "photo_reused")
    db.session.commit()
    checks.record_outcome(world.inspector, tasks[0].id, "phone", "not_as_recorded", "没来过")
    checks.record_outcome(world.inspector, tasks[2].id, "document", "confirmed", "")
    checks.record_presence_check(world.inspector, world.sec1.id, {"households": "5"},
                                 "passed", "")
    report = checks.integrity_summary(world.inspector, None, (date(2026, 3, 1), date.today()))
    cadres = {row.key: row for row in report.cadres}
    presence = {"passed": 1}
    assert _figures(cadres[world.sec1.id]) == (
        2, {"far_from_village": 2}, 2, 1, {"not_as_recorded": 1}, 1, presence)
    assert _figures(cadres[world.sec2.id]) == (1, {}, 0, 1, {"confirmed": 1}, 0, {})
    assert _figures(cadres[world.sec3.id]) == (1, {"photo_reused": 1}, 1, 0, {}, 0, {})
    townships = {row.key: row for row in report.townships}
    assert _figures(townships[world.t1.id]) == (
        3, {"far_from_village": 2}, 2, 2,
        {"not_as_recorded": 1, "confirmed": 1}, 1, presence)
    assert report.total.records == 4 and report.total.flag_total == 3
    assert report.kinds == ["far_from_village", "photo_reused"]
    # A township supervisor sees the township only; the period is in local dates.
    mine = checks.integrity_summary(world.sup_t1, None, MARCH)
    assert {row.key for row in mine.cadres} == {world.sec1.id, world.sec2.id}
    with pytest.raises(Forbidden):
        checks.integrity_summary(world.sup_t1, world.t2.id, MARCH)


def test_the_summary_takes_a_fixed_number_of_queries(app, world):
    """Ten more cadres with records add no statements."""

    def statements() -> int:
        count = 0

        def bump(*_args):
            nonlocal count
            count += 1

        event.listen(db.engine, "before_cursor_execute", bump)
        try:
            checks.integrity_summary(world.inspector, None, MARCH)
        finally:
            event.remove(db.engine, "before_cursor_execute", bump)
        return count

    add_visit(world.sec1, world.h1[0], datetime(2026, 3, 5, 2, 0))
    db.session.commit()
    few = statements()
    for n in range(10):
        cadre = User(username=f"extra{n}", display_name=f"EXTRA{n}", role="secretary",
                     scope_unit_id=world.v2.id, password_hash="x")
        db.session.add(cadre)
        db.session.flush()
        add_visit(cadre, world.h2[n % 3], datetime(2026, 3, 6, 2, n))
    db.session.commit()
    db.session.expire_all()
    assert statements() == few <= 10  # 7 grouped reads, plus loading the user and scope


def test_findings_reach_the_supervisor(app, client, world, login, sampled):
    (task, *_rest), (visit, *_v) = sampled
    checks.record_outcome(world.inspector, task.id, "phone", "not_as_recorded", "户主说没人来过")
    [finding] = checks.findings_for_records([visit.id])
    assert finding.outcome == "not_as_recorded" and finding.inspector == "INSPECTOR"
    found = checks.findings_for_cadre(world.sec1.id, viewer=world.sup_t1)
    assert [f.record_id for f in found.checks] == [visit.id]
    assert found.checks[0].household == world.h1[0].head_name
    with pytest.raises(NotFound):
        checks.findings_for_cadre(world.sec1.id, viewer=world.sup_t2)

    login("sup_t1")
    page = client.get(f"/inspect/summary?cadre={world.sec1.id}&start=2026-03-01")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-testid="cadre-findings"' in text
    assert "户主说没人来过" in text and 'data-outcome="not_as_recorded"' in text
    assert client.get(f"/inspect/summary?cadre={world.sec3.id}").status_code == 404
    # The partial the supervisor's visit page includes.
    with app.test_request_context():
        html = render_template("inspect/_findings.html",
                               findings=checks.findings_for_records([visit.id]))
    assert "户主说没人来过" in html and 'data-testid="finding"' in html


def test_pending_checks_are_not_findings(world, sampled):
    (task, *_rest), (visit, *_v) = sampled
    checks.choose_method(world.inspector, task.id, "phone")
    assert checks.findings_for_records([visit.id]) == []


def test_who_may_open_the_inspection_pages(client, world, login, sampled):
    (task, *_rest), _visits = sampled
    login("sup_t1")
    assert client.get("/inspect/summary").status_code == 200
    for url in ("/inspect/", f"/inspect/samples/{task.sample_id}", f"/inspect/tasks/{task.id}",
                f"/inspect/presence/{world.sec1.id}"):
        assert client.get(url).status_code == 403, url
    client.post("/logout", data={"csrf_token": login("sup_t1").csrf})
    login("sec1")
    assert client.get("/inspect/summary").status_code == 403


def test_another_inspector_cannot_open_the_sample(client, world, login, sampled):
    (task, *_rest), _visits = sampled
    other_inspector(world)
    login("insp2")
    assert client.get(f"/inspect/samples/{task.sample_id}").status_code == 404
    assert client.get(f"/inspect/tasks/{task.id}").status_code == 404


def test_inspector_pages_draw_work_and_show_progress(client, world, login):
    today = date.today()
    add_visit(world.sec1, world.h1[0], datetime.combine(today, datetime.min.time())
              - timedelta(hours=2))
    db.session.commit()
    session = login("inspector")
    index = client.get("/inspect/")
    assert index.status_code == 200 and 'data-testid="draw-form"' in index.get_data(as_text=True)
    drawn = client.post("/inspect/samples", data={
        "csrf_token": session.csrf, "scope": world.county.id, "start": today - timedelta(days=3),
        "end": today, "size": "5", "seed": "77", "flag_weight": "3"})
    assert drawn.status_code == 302
    page = client.get(drawn.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="sample-seed">77<' in page and page.count('data-testid="task-row"') == 1
    verified = client.get(drawn.headers["Location"] + "?verify=1").get_data(as_text=True)
    assert 'data-testid="verified"' in verified
    refused = client.post("/inspect/samples", data={
        "csrf_token": session.csrf, "scope": world.county.id, "start": "2026-05-01",
        "end": "2026-04-01", "size": "5"})
    assert refused.status_code == 422 and "flash-error" in refused.get_data(as_text=True)
    assert 'value="2026-05-01"' in refused.get_data(as_text=True)


def test_inspectors_cannot_change_records(world, device, login, client):
    """The sync API takes records from secretaries only; photos only from a record's author."""
    payload = visit_payload(world.h1[0])
    sync(device(world.sec1), payload)
    phone = device(world.inspector)
    [answer] = sync(phone, {**payload, "heard": "督查改的"})
    assert answer["status"] != "stored"
    [answer] = sync(phone, visit_payload(world.h1[1]))
    assert answer["status"] != "stored"
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 1
    assert db.session.get(Visit, payload["id"]).heard == payload["heard"]
    upload = phone.put(f"/api/v1/photos/{'1' * 8}-1111-4111-8111-{'1' * 12}",
                       data={"record_id": payload["id"], "file": (io.BytesIO(b"x"), "a.jpg")},
                       content_type="multipart/form-data")
    assert upload.status_code == 403
    # No inspection route writes to a visit: its routes only touch tasks and presence checks.
    session = login("inspector")
    assert client.post(f"/review/visits/{payload['id']}",
                       data={"csrf_token": session.csrf}).status_code == 405


def test_a_task_outside_the_inspectors_scope_now_is_not_served(world, sampled):
    (task, *_rest), _visits = sampled
    world.inspector.scope_unit_id = world.t2.id
    db.session.commit()
    db.session.expire_all()
    with pytest.raises(NotFound):
        checks.own_task(world.inspector, task.id)


def test_pending_presence_and_done_at_use_utc(world, sampled):
    (task, *_rest), _visits = sampled
    checks.record_outcome(world.inspector, task.id, "phone", "unreachable", "无人接听")
    done = db.session.get(CheckTask, task.id).done_at
    assert abs((done - utcnow()).total_seconds()) < 60
    assert db.session.scalar(select(func.count()).select_from(PresenceCheck)) == 0
