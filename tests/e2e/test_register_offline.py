"""The household register (户籍台账) and visit coverage (走访覆盖) open without signal.

Home links to both; a secretary in a village without signal must be able to read them like
the other phone pages: cached after sign-in, served by the service worker offline.
"""
from playwright.sync_api import expect

from tests.e2e.test_offline_visit import by_id, shot, sign_in_secretary


def test_register_and_coverage_open_offline_from_home(browsing, live_server, artifacts):
    server = live_server
    household = server.world.households_v1[0]
    context = browsing.phone()
    page = context.new_page()
    sign_in_secretary(page, server)

    context.set_offline(True)
    page.reload()
    by_id(page, "register-link").tap()
    page.wait_for_url("**/register/")
    expect(by_id(page, "offline-page")).to_have_count(0)
    expect(by_id(page, "register-list")).to_contain_text(household.head_name)
    shot(page, artifacts, "register-offline")

    by_id(page, "coverage-link").tap()  # the register's own link carries ?village=
    page.wait_for_url("**/register/coverage*")
    expect(by_id(page, "offline-page")).to_have_count(0)
    expect(by_id(page, "progress")).to_be_visible()

    page.goto("/m/")
    by_id(page, "coverage-link").tap()
    page.wait_for_url("**/register/coverage")
    expect(by_id(page, "coverage-list")).to_be_visible()
    shot(page, artifacts, "coverage-offline")
