"""The network comes back while a sync round is failing: the phone syncs in seconds (issue 12).

Found by the fault campaign (seed 20261203, cycle 14: 30.8 s from network back to synced): the
`online` event arrived while a round was still waiting on a dead connection; the round then
failed, the request for another round was dropped and the 30 s backoff ran. Deterministic here:
the sync request is held until the `online` event has fired, then fails as a dead network does.
"""
import time

from playwright.sync_api import expect

from tests.e2e.test_offline_visit import (
    by_id,
    choose_household,
    key_household,
    open_visit_form,
    sign_in_secretary,
    wait_for_db,
)

QUICK_S = 8.0  # the backoff's first step is 30 s


def test_online_during_a_failing_round_syncs_at_once(browsing, live_server):
    from fieldlog.models import Visit

    server = live_server
    household = key_household(server, "hardship")
    context = browsing.phone()
    page = context.new_page()
    sign_in_secretary(page, server)

    held, holding = [], [True]
    context.route("**/api/v1/sync",
                  lambda route: held.append(route) if holding[0] else route.continue_())
    open_visit_form(page)
    choose_household(page, household.head_name[-3:], household)
    by_id(page, "heard").fill("信号时有时无。")
    by_id(page, "save-visit").tap()
    page.wait_for_url("**/m/")
    # Home's round is on its way (the form's own try died with the page it left).
    expect(by_id(page, "outbox-card")).to_have_attribute("data-state", "sending")
    deadline = time.monotonic() + 15
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(100)  # lets Playwright dispatch the route
    assert held, "the phone never tried to send"

    # The network comes back while the round still waits on the dead connection...
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    page.wait_for_timeout(200)
    holding[0] = False
    back = time.monotonic()
    for route in held:  # ...which then fails, as a dead network does.
        try:
            route.abort("internetdisconnected")
        except Exception:  # noqa: BLE001 - the request died with the page that sent it
            pass

    expect(by_id(page, "outbox-card")).to_have_attribute("data-state", "empty", timeout=60_000)
    took = time.monotonic() - back
    print(f"\nnetwork back -> synced: {took:.1f} s")
    assert took < QUICK_S, f"synced {took:.1f} s after the network came back"
    assert wait_for_db(server, lambda s: s.query(Visit).filter_by(
        household_id=household.id).one_or_none()) is not None


def test_a_tab_left_alone_syncs_soon_after_the_tab_holding_the_lock_closes(browsing, live_server):
    """Campaign seed 20261203 cycle 32 (two tabs): the tab that held the sync lock closed in
    the middle of its round; the other tab, told "busy", waited the 30 s backoff."""
    from fieldlog.models import Visit

    server = live_server
    household = key_household(server, "hardship")
    context = browsing.phone()
    page = context.new_page()
    sign_in_secretary(page, server)
    other = context.new_page()
    other.goto("/m/")
    other.evaluate("""() => { navigator.locks.request('fieldlog-sync',
        () => new Promise(() => {})); }""")  # a round that never ends, in the other tab
    open_visit_form(page)
    choose_household(page, household.head_name[-3:], household)
    by_id(page, "heard").fill("另一个页面正在发送。")
    by_id(page, "save-visit").tap()
    page.wait_for_url("**/m/")
    page.wait_for_timeout(1500)
    expect(by_id(page, "outbox-card")).not_to_have_attribute("data-state", "empty")
    other.close()  # the lock goes with it
    closed = time.monotonic()
    expect(by_id(page, "outbox-card")).to_have_attribute("data-state", "empty", timeout=60_000)
    took = time.monotonic() - closed
    print(f"\nother tab closed -> synced: {took:.1f} s")
    assert took < QUICK_S, f"synced {took:.1f} s after the other tab closed"
    assert wait_for_db(server, lambda s: s.query(Visit).filter_by(
        household_id=household.id).one_or_none()) is not None
