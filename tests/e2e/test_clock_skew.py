"""A phone whose clock is two days off (ahead or behind) loses nothing (issue 12).

The visit is saved on the phone with the phone's wrong times, syncs (the batch carries the
phone's clock), reaches the server on the server's clock, and the supervisor sees a flag that
says how far the phone's clock was off. Nothing is left in the outbox.
"""
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from fieldlog.models import Visit
from tests.e2e.conftest import _SHIFTED_DATE
from tests.e2e.test_offline_visit import (
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

DAY_MS = 86_400_000


@pytest.mark.parametrize(("days", "words"), [(2, "快 2 天"), (-2, "慢 2 天")])
def test_a_phone_two_days_off_delivers_and_the_reviewer_sees_the_flag(
        browsing, live_server, artifacts, days, words):
    server = live_server
    household = key_household(server, "hardship")
    context = browsing.phone()
    context.add_init_script(_SHIFTED_DATE % (days * DAY_MS))  # the phone's clock only
    phone = context.new_page()
    sign_in_secretary(phone, server)
    phone_year = phone.evaluate("() => new Date().toISOString()")
    assert abs(datetime.fromisoformat(phone_year) - datetime.now(UTC)
               - timedelta(days=days)) < timedelta(minutes=5)

    open_visit_form(phone)
    choose_household(phone, household.head_name[-3:], household)
    by_id(phone, "heard").fill("手机时间不准，走访照常记录。")
    by_id(phone, "save-visit").tap()
    phone.wait_for_url("**/m/")
    expect(by_id(phone, "outbox-card")).to_have_attribute("data-state", "empty",
                                                          timeout=SYNC_TIMEOUT_MS)
    assert phone.evaluate("""() => new Promise((resolve) => {
        const req = indexedDB.open('fieldlog');
        req.onsuccess = () => { const all = req.result.transaction('outbox')
            .objectStore('outbox').getAll();
            all.onsuccess = () => resolve(all.result.filter((it) => it.state !== 'sent').length); };
    })""") == 0  # nothing waiting, nothing needing attention

    visit = wait_for_db(server, lambda s: s.query(Visit).filter_by(
        household_id=household.id).one_or_none())
    assert visit is not None
    # On the server's clock, not two days off.
    assert abs(visit.occurred_at - visit.received_at) < timedelta(minutes=5)
    assert abs(visit.clock_offset_s - days * 86_400) < 300

    desk = browsing.desktop().new_page()
    sign_in(desk, "sup_t1", server.password)
    desk.goto(f"/review/visits/{visit.id}")
    flag = desk.locator('[data-testid=flag][data-kind="clock_off"]')
    expect(flag).to_be_visible()
    expect(flag).to_contain_text("手机时间不准")
    expect(flag).to_contain_text(words)
    shot(desk, artifacts, f"clock-skew-{'ahead' if days > 0 else 'behind'}-review", show=flag)
