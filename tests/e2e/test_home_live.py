"""Home tells the truth right after a save and after every sync, without a reload.

Saved with signal: the toast says it was sent (not "will be sent when there is a network") and
the month's figures, the households not yet visited and the 已退回 badge are the server's new
ones. Saved without signal: the toast says it waits; when the signal comes back and it syncs,
home updates in place.
"""
from playwright.sync_api import expect
from sqlalchemy import select

from fieldlog.models import User, Visit
from fieldlog.services.review.decisions import decide
from tests.e2e.test_offline_visit import (
    SYNC_TIMEOUT_MS,
    by_id,
    shot,
    sign_in_secretary,
    wait_for_db,
)


def _visit_from_home(page, household_id: str, heard: str) -> None:
    page.locator(f'[data-testid=unvisited-item][data-household-id="{household_id}"]').tap()
    page.wait_for_url("**/m/visits/new*")
    expect(page.locator("#visit-form")).to_have_attribute("data-ready", "1")
    expect(by_id(page, "household-chosen")).to_have_attribute("data-household-id", household_id)
    by_id(page, "heard").fill(heard)
    by_id(page, "save-visit").tap()
    page.wait_for_url("**/m/")


def test_home_updates_in_place_after_save_and_sync(browsing, live_server, artifacts):
    server = live_server
    first, second = server.world.households_v1[0], server.world.households_v1[1]
    context = browsing.phone()
    page = context.new_page()
    sign_in_secretary(page, server)
    expect(by_id(page, "month-visits")).to_have_text("0")
    unvisited = int(by_id(page, "unvisited-count").inner_text())

    # With signal: sent at once, and home says so with the new figures.
    _visit_from_home(page, first.id, "路面硬化进度正常。")
    toast = by_id(page, "toast")
    expect(toast).to_contain_text("已保存并发送", timeout=SYNC_TIMEOUT_MS)
    expect(toast).not_to_contain_text("有网络时")
    expect(by_id(page, "month-visits")).to_have_text("1")
    expect(by_id(page, "month-households")).to_have_text("1")
    expect(by_id(page, "unvisited-count")).to_have_text(str(unvisited - 1))
    expect(page.locator(f'[data-testid=unvisited-item][data-household-id="{first.id}"]')
           ).to_have_count(0)
    expect(by_id(page, "outbox-card")).to_have_attribute("data-state", "empty")
    shot(page, artifacts, "home-live-01-sent")

    # A reviewer returns it meanwhile; without signal a second visit waits on the phone.
    visit_id = wait_for_db(server, lambda s: s.scalar(select(Visit.id)))
    with server.db() as session:
        supervisor = session.get(User, server.world.sup_t1_id)
        decide(supervisor, "visit", visit_id, 1, "return", "请补充照片")
    context.set_offline(True)
    _visit_from_home(page, second.id, "家中老人身体尚可。")
    expect(toast).to_contain_text("将在有网络时自动发送")
    expect(by_id(page, "outbox-card")).to_have_attribute("data-state", "waiting")
    expect(by_id(page, "month-visits")).to_have_text("1")
    expect(by_id(page, "returned-badge")).to_have_count(0)
    shot(page, artifacts, "home-live-02-offline")

    # Signal again: it syncs and home shows the server's figures, without a reload.
    page.evaluate("() => { window.__sameHome = true; }")
    context.set_offline(False)
    expect(by_id(page, "outbox-card")).to_have_attribute("data-state", "empty",
                                                        timeout=SYNC_TIMEOUT_MS)
    expect(by_id(page, "month-visits")).to_have_text("2")
    expect(by_id(page, "unvisited-count")).to_have_text(str(unvisited - 2))
    expect(by_id(page, "returned-badge")).to_have_text("1")
    expect(toast).to_contain_text("已保存并发送")
    assert page.evaluate("() => window.__sameHome === true")
    shot(page, artifacts, "home-live-03-synced")
