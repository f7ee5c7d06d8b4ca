"""The review loop in two browsers: a secretary's phone and a supervisor's desktop.

The secretary records a visit; the supervisor returns it with a comment; the phone lists it
under /m/returned with the comment; the secretary fixes it offline and it syncs when the signal
is back as version 2; the supervisor sees the change in the history and approves; the phone can
no longer change it. Screenshots: test-artifacts/e2e/review-*.png.
"""
from types import SimpleNamespace

from playwright.sync_api import expect

from fieldlog.models import ReviewDecision, User, Visit
from fieldlog.services.people.auth import issue_device_token
from tests.e2e.test_offline_visit import (
    PORTRAIT,
    SYNC_TIMEOUT_MS,
    by_id,
    choose_household,
    key_household,
    open_visit_form,
    shot,
    sign_in,
    sign_in_secretary,
    wait_for_db,
)
from tests.test_photo_api import upload
from tests.test_review_queue import meeting
from tests.test_sync_api import sync, visit_payload

COMMENT = "请写清楚困难的具体情况，以及需要哪方面的帮助。"
FIXED = "老两口冬季取暖用煤缺口约一吨，屋顶漏雨，需申请临时救助并修缮屋顶。"


def more_work(server, photos_dir) -> None:
    """Other records waiting in the queue: a meeting, a visit with a photo, one without a fix."""
    with server.app.app_context(), server.db() as session:
        _token, raw = issue_device_token(session.get(User, server.world.sec1_id), "e2e")
    client = server.app.test_client()
    headers = {"Authorization": f"Bearer {raw}"}
    phone = SimpleNamespace(post=lambda url, **kw: client.post(url, headers=headers, **kw),
                            put=lambda url, **kw: client.put(url, headers=headers, **kw))
    first, second = (SimpleNamespace(id=h.id) for h in server.world.households_v1[2:4])
    with server.app.app_context():
        pictured = visit_payload(first, heard="孩子在县城读高中，学费有压力。",
                                 requests="了解助学贷款政策。")
        sync(phone, meeting(attended_count=18, topics="讨论通组路硬化"), pictured,
             visit_payload(second, location=None, heard="户主外出务工，家中老人独居。"))
        assert upload(phone, photos_dir / PORTRAIT, record_id=pictured["id"]).status_code == 201


def test_review_loop(browsing, live_server, artifacts, photos_dir):
    server = live_server
    household = key_household(server, "hardship")

    # 1. The secretary records a visit on the phone (online: it syncs at once).
    phone_context = browsing.phone()
    phone = phone_context.new_page()
    sign_in_secretary(phone, server)
    open_visit_form(phone)
    choose_household(phone, household.head_name[-3:], household)
    by_id(phone, "heard").fill("老两口身体尚可，取暖有困难。")
    by_id(phone, "save-visit").tap()
    phone.wait_for_url("**/m/")
    expect(by_id(phone, "outbox-card")).to_have_attribute("data-state", "empty",
                                                          timeout=SYNC_TIMEOUT_MS)
    visit = wait_for_db(server, lambda s: s.query(Visit).filter_by(
        household_id=household.id).one_or_none())
    assert visit is not None and visit.version == 1 and visit.status == "submitted"
    visit_id = visit.id

    # 2. The supervisor finds it in the queue (with other work) and returns it with a comment.
    more_work(server, photos_dir)
    desk = browsing.desktop().new_page()
    sign_in(desk, "sup_t1", server.password)
    desk.goto("/review/queue")
    row = desk.locator(f'[data-testid=queue-row][data-record-id="{visit_id}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text(household.head_name)
    expect(row.get_by_test_id("queue-location")).to_contain_text("m")
    shot(desk, artifacts, "review-01-queue", full_page=True)
    # A return without a comment is refused (the browser's own check first, then the server's).
    row.get_by_test_id("return-open").click()
    row.get_by_test_id("return-comment").fill(COMMENT)
    shot(desk, artifacts, "review-02-return-comment")
    row.get_by_test_id("return").click()
    desk.wait_for_url("**/review/queue")
    expect(desk.locator(".flash-success")).to_be_visible()
    expect(desk.locator(f'[data-testid=queue-row][data-record-id="{visit_id}"]')).to_have_count(0)
    shot(desk, artifacts, "review-03-returned")
    with server.db() as session:
        assert session.get(Visit, visit_id).status == "returned"

    # 3. The phone lists it with the comment.
    phone.goto("/m/returned")
    item = by_id(phone, "returned-item")
    expect(item).to_have_count(1)
    expect(item).to_have_attribute("data-record-id", visit_id)
    expect(by_id(phone, "returned-comment")).to_contain_text(COMMENT)
    shot(phone, artifacts, "review-04-phone-returned")

    # 4. The secretary opens the edit page, loses the signal, fixes the visit and saves.
    by_id(phone, "returned-edit").tap()
    phone.wait_for_url(f"**/m/visits/{visit_id}/edit")
    form = phone.locator("#visit-edit-form")
    expect(form).to_have_attribute("data-ready", "1")
    expect(by_id(phone, "heard")).to_have_value("老两口身体尚可，取暖有困难。")
    expect(by_id(phone, "household-fixed")).to_contain_text(household.head_name)
    expect(by_id(phone, "edit-comment")).to_contain_text(COMMENT)
    phone_context.set_offline(True)
    by_id(phone, "heard").fill(FIXED)
    by_id(phone, "requests").fill("申请临时救助；修缮屋顶。")
    by_id(phone, "follow-up").check()
    shot(phone, artifacts, "review-05-phone-edit-offline")
    by_id(phone, "save-edit").tap()
    phone.wait_for_url("**/m/")
    card = by_id(phone, "outbox-card")
    expect(card).to_have_attribute("data-state", "waiting")
    shot(phone, artifacts, "review-06-phone-saved-offline")
    with server.db() as session:
        assert session.get(Visit, visit_id).version == 1

    # 5. Signal again: the edit goes out as version 2, waiting for review again.
    phone_context.set_offline(False)
    expect(card).to_have_attribute("data-state", "empty", timeout=SYNC_TIMEOUT_MS)
    edited = wait_for_db(server, lambda s: (v := s.get(Visit, visit_id)) is not None
                         and v.version == 2 and v)
    assert edited and edited.status == "submitted" and edited.heard == FIXED
    assert edited.follow_up is True and edited.household_id == household.id

    # 6. The supervisor sees the changes in the history and approves version 2.
    desk.goto("/review/queue")
    row = desk.locator(f'[data-testid=queue-row][data-record-id="{visit_id}"]')
    expect(row).to_have_attribute("data-version", "2")
    expect(row.get_by_test_id("edited")).to_be_visible()
    row.get_by_test_id("history-link").click()
    desk.wait_for_url(f"**/review/records/visit/{visit_id}/history")
    expect(desk.get_by_test_id("history-version")).to_have_count(2)
    heard = desk.locator('[data-testid=diff-row][data-field="heard"]')
    expect(heard.get_by_test_id("diff-old")).to_have_text("老两口身体尚可，取暖有困难。")
    expect(heard.get_by_test_id("diff-new")).to_have_text(FIXED)
    expect(desk.get_by_test_id("decision-comment")).to_have_text(COMMENT)
    shot(desk, artifacts, "review-07-history-diff", full_page=True)
    desk.locator(".history-decide").get_by_test_id("approve").click()
    expect(desk.get_by_test_id("record-status")).to_have_attribute("data-status", "approved")
    expect(desk.get_by_test_id("history-decision")).to_have_count(2)
    shot(desk, artifacts, "review-08-approved", full_page=True)
    with server.db() as session:
        assert session.get(Visit, visit_id).status == "approved"
        decisions = session.query(ReviewDecision).filter_by(record_id=visit_id).all()
        assert sorted((d.version, d.decision) for d in decisions) == [
            (1, "returned"), (2, "approved")]

    # 7. The phone can no longer change it, and nothing is returned any more.
    phone.goto("/m/returned")
    expect(by_id(phone, "returned-empty")).to_be_visible()
    phone.goto(f"/m/visits/{visit_id}/edit")
    expect(by_id(phone, "edit-locked")).to_be_visible()
    expect(phone.locator("#visit-edit-form")).to_have_count(0)
    shot(phone, artifacts, "review-09-phone-locked")
