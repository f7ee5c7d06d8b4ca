"""Attendance and leave in headless Chromium: a cadre marks a day and asks for leave with no
signal, syncs when it comes back, the township supervisor approves on a desktop, and the phone
shows the leave approved. Screenshots: test-artifacts/e2e/attendance/*.png (look at them).
"""
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from fieldlog.models import DayMark, LeaveRequest
from tests.e2e.test_offline_visit import (
    SYNC_TIMEOUT_MS,
    by_id,
    shot,
    sign_in,
    sign_in_secretary,
    wait_for_db,
)

PAGES = ("/m/attendance", "/m/attendance/mark", "/m/leave", "/m/leave/new")


@pytest.fixture
def shots(artifacts):
    """A folder of its own: other runs empty test-artifacts/e2e/*.png when they start."""
    folder = artifacts / "attendance"
    folder.mkdir(exist_ok=True)
    return folder


def test_offline_mark_and_leave_then_township_approves(browsing, live_server, shots):
    server = live_server
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    start, end = today + timedelta(days=7), today + timedelta(days=8)
    context = browsing.phone()
    page = context.new_page()
    sign_in_secretary(page, server)
    for url in PAGES:  # opened once with signal: the service worker keeps them for offline use
        page.goto(url)
    page.goto("/m/attendance")
    expect(by_id(page, "village-days")).to_have_text("0")
    shot(page, shots, "01-calendar-empty")

    # No signal from here on.
    context.set_offline(True)
    page.reload()
    by_id(page, "mark-day-link").tap()
    page.wait_for_url("**/m/attendance/mark")
    expect(page.locator("#mark-form")).to_have_attribute("data-ready", "1")
    expect(by_id(page, "mark-day")).to_have_value(today.isoformat())
    by_id(page, "save-mark").tap()  # no note yet: refused on the phone, nothing queued
    expect(by_id(page, "form-error")).to_be_visible()
    page.locator("label.choice", has=by_id(page, "kind-official")).tap()
    by_id(page, "reason-training").tap()
    expect(by_id(page, "reason-training")).to_have_attribute("aria-pressed", "true")
    by_id(page, "mark-note").fill("在县委党校参加第一书记轮训")
    shot(page, shots, "02-mark-offline")
    by_id(page, "save-mark").tap()
    page.wait_for_url("**/m/attendance")
    cell = page.locator(f'[data-testid=cal-day][data-day="{today.isoformat()}"]')
    expect(cell).to_have_attribute("data-pending", "1")
    expect(cell).to_have_class(re.compile(r"\bday-official\b"))
    expect(by_id(page, "village-days")).to_have_text("1")
    expect(by_id(page, "count-official")).to_have_text("1")
    shot(page, shots, "03-calendar-pending")

    by_id(page, "new-leave-link").tap()
    page.wait_for_url("**/m/leave/new")
    expect(page.locator("#leave-form")).to_have_attribute("data-ready", "1")
    page.locator("label.choice", has=by_id(page, "leave-type-personal")).tap()
    by_id(page, "leave-start").fill(start.isoformat())
    by_id(page, "leave-start").dispatch_event("change")
    by_id(page, "leave-end").fill(end.isoformat())
    by_id(page, "leave-end").dispatch_event("change")
    expect(by_id(page, "leave-days")).to_have_text("2")
    by_id(page, "leave-reason").fill("母亲住院复查，村里工作已交代给驻村队员小王")
    shot(page, shots, "04-leave-form-offline")
    by_id(page, "save-leave").tap()
    page.wait_for_url("**/m/leave")
    expect(by_id(page, "queued-leave")).to_have_count(1)
    shot(page, shots, "05-leave-queued-offline")
    with server.db() as session:
        assert session.scalar(select(LeaveRequest)) is None

    # Signal is back: both records go out, and the list shows the request as the server has it.
    context.set_offline(False)
    item = by_id(page, "leave-item")
    expect(item).to_have_attribute("data-state", "pending", timeout=SYNC_TIMEOUT_MS)
    expect(by_id(page, "queued-leave")).to_have_count(0)
    mark = wait_for_db(server, lambda s: s.scalar(select(DayMark)))
    leave = wait_for_db(server, lambda s: s.scalar(select(LeaveRequest)))
    assert mark.kind == "official" and mark.reason == "training" and mark.day == today
    assert leave.state == "pending" and leave.days == 2 and leave.start_date == start
    expect(by_id(page, "withdraw")).to_be_visible()
    shot(page, shots, "06-leave-pending")
    page.goto("/m/attendance")
    expect(cell).to_have_attribute("data-state", "official")
    expect(by_id(page, "village-days")).to_have_text("1")
    shot(page, shots, "07-calendar-synced")

    # The township supervisor approves on a desktop.
    desk = browsing.desktop().new_page()
    sign_in(desk, "sup_t1", server.password)
    desk.goto("/leave/approvals")
    card = by_id(desk, "approval")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("母亲住院复查")
    shot(desk, shots, "08-approvals")
    card.get_by_test_id("decide-comment").fill("同意，注意安全，按时返岗")
    card.get_by_test_id("approve").click()
    expect(by_id(desk, "no-pending")).to_be_visible()
    expect(by_id(desk, "decision-row")).to_have_count(1)
    shot(desk, shots, "09-approved", full_page=True)
    desk.goto(f"/attendance?month={today:%Y-%m}")
    row = desk.locator(f'[data-testid=cadre-row][data-cadre-id="{server.world.sec1_id}"]')
    expect(row).to_have_attribute("data-village-days", "1")
    shot(desk, shots, "10-sheet")

    # Back on the phone: approved, with the step and its comment.
    page.goto("/m/leave")
    expect(by_id(page, "leave-state")).to_have_count(1)
    expect(item).to_have_attribute("data-state", "approved")
    expect(by_id(page, "leave-step")).to_contain_text("同意，注意安全")
    expect(by_id(page, "withdraw")).to_have_count(0)
    shot(page, shots, "11-leave-approved")


def test_withdraw_a_pending_request_from_the_phone(browsing, live_server, shots):
    server = live_server
    day = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=3)
    page = browsing.phone().new_page()
    sign_in_secretary(page, server)
    page.goto("/m/leave/new")
    expect(page.locator("#leave-form")).to_have_attribute("data-ready", "1")
    by_id(page, "leave-start").fill(day.isoformat())
    by_id(page, "leave-start").dispatch_event("change")
    expect(by_id(page, "leave-end")).to_have_value(day.isoformat())
    by_id(page, "save-leave").tap()
    page.wait_for_url("**/m/leave")
    item = by_id(page, "leave-item")
    expect(item).to_have_attribute("data-state", "pending", timeout=SYNC_TIMEOUT_MS)
    leave = wait_for_db(server, lambda s: s.scalar(select(LeaveRequest)))
    assert leave is not None and leave.days == 1
    page.once("dialog", lambda dialog: dialog.accept())
    by_id(page, "withdraw").tap()
    expect(item).to_have_attribute("data-state", "cancelled", timeout=SYNC_TIMEOUT_MS)
    with server.db() as session:
        assert session.get(LeaveRequest, leave.id).state == "cancelled"
    expect(by_id(page, "withdraw")).to_have_count(0)
    shot(page, shots, "12-leave-withdrawn")
