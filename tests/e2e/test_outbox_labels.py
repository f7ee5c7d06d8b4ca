"""The outbox names records in the language of the page that shows it, once.

A record keeps its data in the outbox (dates, codes, what the cadre typed); the words around
them ("请假", "在村") are chosen when the outbox is shown. Saved in Chinese, read in English: the
outbox speaks English, and the type word is never doubled ("请假 请假 …").
"""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.e2e.test_offline_visit import by_id, shot, sign_in_secretary


def _hold_sync(context) -> None:
    """Online, but the sync API does not answer: everything stays in the outbox."""
    context.route("**/api/v1/sync", lambda route: route.abort())


def test_outbox_labels_follow_the_language_and_are_not_doubled(browsing, live_server, artifacts):
    server = live_server
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    start, end = today + timedelta(days=7), today + timedelta(days=8)
    context = browsing.phone()
    page = context.new_page()
    sign_in_secretary(page, server)
    _hold_sync(context)

    page.goto("/m/leave/new")
    expect(page.locator("#leave-form")).to_have_attribute("data-ready", "1")
    page.locator("label.choice", has=by_id(page, "leave-type-personal")).tap()
    by_id(page, "leave-start").fill(start.isoformat())
    by_id(page, "leave-start").dispatch_event("change")
    by_id(page, "leave-end").fill(end.isoformat())
    by_id(page, "leave-end").dispatch_event("change")
    by_id(page, "leave-reason").fill("母亲住院复查")
    by_id(page, "save-leave").tap()
    page.wait_for_url("**/m/leave")

    page.goto("/m/attendance/mark")
    expect(page.locator("#mark-form")).to_have_attribute("data-ready", "1")
    page.locator("label.choice", has=by_id(page, "kind-official")).tap()
    by_id(page, "reason-training").tap()
    by_id(page, "mark-note").fill("在县委党校参加轮训")
    by_id(page, "save-mark").tap()
    page.wait_for_url("**/m/attendance")

    page.goto("/m/outbox")
    items = by_id(page, "outbox-item")
    expect(items).to_have_count(2)
    leave = items.filter(has=page.get_by_text("请假", exact=True))
    expect(leave).to_have_count(1)
    title = leave.locator(".item-title")
    expect(title).to_contain_text(start.isoformat())
    assert title.inner_text().count("请假") == 1, title.inner_text()
    expect(items.filter(has_text="因公外出")).to_have_count(1)  # domain.DAY_KIND_LABELS
    shot(page, artifacts, "outbox-labels-zh")

    page.goto("/lang/en")
    page.goto("/m/outbox")
    expect(items).to_have_count(2)
    text = by_id(page, "outbox-list").inner_text()
    assert "请假" not in text and "因公外出" not in text and "在村" not in text, text
    leave = items.filter(has=page.get_by_text("Leave request", exact=True))
    expect(leave).to_have_count(1)
    expect(leave.locator(".item-title")).to_contain_text(f"{start.isoformat()} – {end.isoformat()}")
    assert leave.locator(".item-title").inner_text().count("Leave") == 1
    expect(items.filter(has_text="Away on official business")).to_have_count(1)
    shot(page, artifacts, "outbox-labels-en")
