"""A cadre of a 500-household village finds a household by its Chinese name from home and
starts a visit, with signal and without: home lists a few households, the households page
(cached for offline use) holds them all. Screenshots in test-artifacts/e2e/home-big-*.png.
"""
from collections import Counter

from playwright.sync_api import expect
from sqlalchemy import select

from fieldlog.models import OrgUnit, User, Visit
from tests.e2e.test_offline_visit import SYNC_TIMEOUT_MS, by_id, shot, sign_in_secretary
from tests.fixtures.big_village import fill_village

HOUSEHOLDS = 500


def _fill(server) -> list[tuple[str, str]]:
    """Fill V1 with 500 households; return (id, name) of those whose name no other contains."""
    with server.db() as session:
        village = session.scalar(select(OrgUnit).where(OrgUnit.code == "V1"))
        fill_village(session, village, session.get(User, server.world.sec1_id), HOUSEHOLDS)
        from fieldlog.models import Household

        rows = session.execute(select(Household.id, Household.head_name).where(
            Household.village_id == village.id)).all()
    names = Counter(name for _id, name in rows)
    return [(hid, name) for hid, name in rows if len(name) == 3 and names[name] == 1
            and not any(name in other for _i, other in rows if other != name)]


def _find_and_visit(page, household_id: str, name: str, heard: str, artifacts, label: str):
    """From home: search the name, see the one household, tap it, record the visit."""
    by_id(page, "home-search").fill(name)
    by_id(page, "home-search").press("Enter")
    page.wait_for_url("**/m/households?q=*")
    expect(by_id(page, "households-list")).to_have_attribute("data-ready", "1")
    shown = page.locator("[data-testid=household-row]:visible")
    expect(shown).to_have_count(1)
    expect(shown.first).to_have_attribute("data-household-id", household_id)
    expect(by_id(page, "households-shown")).to_have_attribute("data-shown", "1")
    expect(by_id(page, "households-search")).to_have_value(name)
    shot(page, artifacts, f"home-big-{label}-found")
    shown.first.tap()
    page.wait_for_url("**/m/visits/new?household=*")
    expect(page.locator("#visit-form")).to_have_attribute("data-ready", "1")
    chosen = by_id(page, "household-chosen")
    expect(chosen).to_have_attribute("data-household-id", household_id)
    expect(chosen).to_contain_text(name)
    by_id(page, "heard").fill(heard)
    by_id(page, "save-visit").tap()
    page.wait_for_url("**/m/")


def test_big_village_home_search_and_visit_online_and_offline(browsing, live_server, artifacts):
    server = live_server
    unique = _fill(server)
    assert len(unique) >= 2
    (first_id, first_name), (second_id, second_name) = unique[0], unique[-1]
    context = browsing.phone()
    page = context.new_page()
    sign_in_secretary(page, server)

    # Home: the figures, a short list and a search, not 500 households.
    expect(by_id(page, "unvisited-item")).to_have_count(10)
    expect(by_id(page, "all-households")).to_contain_text(str(HOUSEHOLDS))
    unvisited = int(by_id(page, "unvisited-count").inner_text())
    expect(by_id(page, "unvisited-all")).to_contain_text(str(unvisited))
    shot(page, artifacts, "home-big-01-home")
    shot(page, artifacts, "home-big-02-home-full", full_page=True)

    # The households page: all 500, filtered in place as the cadre taps a filter or types.
    by_id(page, "unvisited-all").tap()
    page.wait_for_url("**/m/households?show=unvisited")
    expect(by_id(page, "households-list")).to_have_attribute("data-ready", "1")
    expect(by_id(page, "households-shown")).to_have_attribute("data-shown", str(unvisited))
    by_id(page, "show-all").tap()
    expect(by_id(page, "households-shown")).to_have_attribute("data-shown", str(HOUSEHOLDS))
    by_id(page, "households-search").fill(first_name[:1])
    expect(page.locator("[data-testid=household-row]:visible").first).to_contain_text(
        first_name[:1])
    shot(page, artifacts, "home-big-03-households")
    page.goto("/m/")

    # With signal: found from home, visited, sent.
    _find_and_visit(page, first_id, first_name, "家里一切安好。", artifacts, "04-online")
    expect(by_id(page, "toast")).to_contain_text("已保存并发送", timeout=SYNC_TIMEOUT_MS)
    with server.db() as session:
        assert session.scalar(select(Visit.household_id).where(
            Visit.household_id == first_id)) == first_id

    # Without signal: home, the search and the households page come from the phone.
    context.set_offline(True)
    page.goto("/m/")
    expect(by_id(page, "home-search")).to_be_visible()
    served = len(server.hits)
    _find_and_visit(page, second_id, second_name, "老人腿脚不便，需要帮扶。", artifacts,
                    "05-offline")
    expect(by_id(page, "outbox-card")).to_have_attribute("data-state", "waiting")
    assert len(server.hits) == served  # nothing reached the server
    shot(page, artifacts, "home-big-06-offline-saved")

    # Back online: the visit is sent.
    context.set_offline(False)
    expect(by_id(page, "outbox-card")).to_have_attribute("data-state", "empty",
                                                        timeout=SYNC_TIMEOUT_MS)
    with server.db() as session:
        assert session.scalar(select(Visit.household_id).where(
            Visit.household_id == second_id)) == second_id
