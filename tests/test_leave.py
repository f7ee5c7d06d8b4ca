"""Leave along the county's approval chain: who may act, in which order, and what stays locked."""
import json

import pytest
from sqlalchemy import func, select

from fieldlog.errors import Conflict, Forbidden, Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import AuditEntry, LeaveDecision, LeaveRequest
from fieldlog.services.attendance.leave import decide, pending_approvals
from tests.test_attendance import leave, stored
from tests.test_sync_api import sync


def request_leave(device, sec, start="2026-12-01", end="2026-12-02", **extra) -> LeaveRequest:
    record = leave(start, end, **extra)
    stored(sync(device(sec), record))
    return db.session.get(LeaveRequest, record["id"])


def decisions(leave_id: str) -> list[tuple]:
    return db.session.execute(select(LeaveDecision.step, LeaveDecision.level,
                                     LeaveDecision.decision).where(
        LeaveDecision.leave_id == leave_id).order_by(LeaveDecision.step)).all()


def post_decision(client, token, leave_id, decision, comment=""):
    return client.post(f"/leave/{leave_id}/decide", data={
        "csrf_token": token, "decision": decision, "comment": comment})


def test_two_days_go_to_the_township_only(world, device, client, login):
    request = request_leave(device, world.sec1)
    assert request.days == 2 and json.loads(request.chain) == ["township"]
    assert pending_approvals(world.sup_t1) == [request]
    assert pending_approvals(world.sup_county) == [] and pending_approvals(world.sup_t2) == []
    session = login("sup_t1")
    page = client.get("/leave/approvals").get_data(as_text=True)
    assert f'data-leave-id="{request.id}"' in page
    response = post_decision(client, session.csrf, request.id, "approved", "注意安全")
    assert response.status_code == 302
    db.session.expire_all()
    request = db.session.get(LeaveRequest, request.id)
    assert request.state == "approved" and request.decided_at is not None
    assert decisions(request.id) == [(0, "township", "approved")]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "leave.approve"))
    assert entry.object_id == request.id and entry.actor_id == world.sup_t1.id
    # The cadre sees it approved on the phone, with the step and its comment.
    login("sec1")
    page = client.get("/m/leave").get_data(as_text=True)
    assert 'data-state="approved"' in page and "注意安全" in page
    assert 'data-decision="approved"' in page


def test_five_days_go_to_the_township_then_the_county(world, device):
    request = request_leave(device, world.sec1, "2026-12-01", "2026-12-05")
    assert json.loads(request.chain) == ["township", "county"]
    with pytest.raises(Forbidden):  # the county's turn has not come
        decide(world.sup_county, request.id, "approved", "")
    request = decide(world.sup_t1, request.id, "approved", "")
    assert request.state == "pending" and request.step == 1
    assert pending_approvals(world.sup_t1) == [] and pending_approvals(world.sup_county) == [
        request]
    with pytest.raises(Forbidden):  # the township has acted; its step is done
        decide(world.sup_t1, request.id, "approved", "")
    request = decide(world.sup_county, request.id, "approved", "同意")
    assert request.state == "approved"
    assert decisions(request.id) == [(0, "township", "approved"), (1, "county", "approved")]
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "leave.approve")) == 2


def test_another_townships_supervisor_cannot_act(world, device, client, login):
    request = request_leave(device, world.sec1)
    with pytest.raises(NotFound):
        decide(world.sup_t2, request.id, "approved", "")
    session = login("sup_t2")
    assert f'data-leave-id="{request.id}"' not in client.get("/leave/approvals").get_data(
        as_text=True)
    assert post_decision(client, session.csrf, request.id, "approved").status_code == 404
    session = login("sec1")  # nor may the cadre approve their own leave
    assert post_decision(client, session.csrf, request.id, "approved").status_code == 403
    db.session.expire_all()
    assert db.session.get(LeaveRequest, request.id).state == "pending"
    assert decisions(request.id) == []


def test_the_wrong_level_cannot_act(world, device, client, login):
    request = request_leave(device, world.sec1)  # township only
    session = login("sup_county")
    assert post_decision(client, session.csrf, request.id, "approved").status_code == 403
    assert decisions(request.id) == []


def test_rejecting_needs_a_comment_and_ends_the_request(world, device, client, login):
    request = request_leave(device, world.sec1, "2026-12-01", "2026-12-06")
    session = login("sup_t1")
    with client.session_transaction() as s:
        s["locale"] = "en"
    response = post_decision(client, session.csrf, request.id, "rejected", "  ")
    assert response.status_code == 302
    assert "Write a comment" in client.get("/leave/approvals").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(LeaveRequest, request.id).state == "pending"
    assert decisions(request.id) == []
    with pytest.raises(Invalid):
        decide(world.sup_t1, request.id, "maybe", "")
    post_decision(client, session.csrf, request.id, "rejected", "年底工作紧，请调整时间")
    db.session.expire_all()
    request = db.session.get(LeaveRequest, request.id)
    assert request.state == "rejected"
    assert decisions(request.id) == [(0, "township", "rejected")]
    assert pending_approvals(world.sup_county) == []  # a rejection ends the chain
    with pytest.raises(Conflict):
        decide(world.sup_t1, request.id, "approved", "")
    assert db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.object_id == request.id).order_by(AuditEntry.id)).all()[-1] == "leave.reject"


def test_the_author_withdraws_a_pending_request(world, device):
    record = leave("2026-12-01", "2026-12-02")
    phone = device(world.sec1)
    stored(sync(phone, record))
    [answer] = stored(sync(phone, {**record, "cancel": True, "base_version": 1}))
    assert answer["version"] == 2
    request = db.session.get(LeaveRequest, record["id"])
    assert request.state == "cancelled"
    assert pending_approvals(world.sup_t1) == []
    with pytest.raises(Conflict):
        decide(world.sup_t1, request.id, "approved", "")


def test_no_edit_after_a_decision(world, device):
    record = leave("2026-12-01", "2026-12-05")
    phone = device(world.sec1)
    stored(sync(phone, record))
    decide(world.sup_t1, record["id"], "approved", "")  # first of two steps
    for change in ({"end_date": "2026-12-09"}, {"cancel": True}):
        [answer] = sync(phone, {**record, **change, "base_version": 1})
        assert answer["status"] == "conflict" and answer["error"] == "locked", answer
    request = db.session.get(LeaveRequest, record["id"])
    assert request.state == "pending" and str(request.end_date) == "2026-12-05"


def test_a_secretary_and_an_inspector_cannot_open_approvals(world, client, login):
    for username in ("sec1", "inspector", "admin"):
        login(username)
        assert client.get("/leave/approvals").status_code == 403


def test_phone_leave_pages(world, device, client, login):
    request = request_leave(device, world.sec1)
    login("sec1")
    page = client.get("/m/leave").get_data(as_text=True)
    assert f'data-leave-id="{request.id}" data-state="pending"' in page
    assert 'data-testid="withdraw"' in page  # untouched: it may be withdrawn
    assert client.get("/m/leave/new").status_code == 200


def test_a_new_chain_applies_to_new_requests_only(world, device):
    from fieldlog.services.org.settings import set_county_setting

    before = request_leave(device, world.sec1, "2026-12-01", "2026-12-03")
    set_county_setting(world.admin, world.county, "leave_chain",
                       [{"level": "township", "from_days": 1}, {"level": "county", "from_days": 3}])
    after = request_leave(device, world.sec1, "2026-12-10", "2026-12-12")
    assert json.loads(before.chain) == ["township"]
    assert json.loads(after.chain) == ["township", "county"]
