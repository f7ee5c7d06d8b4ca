"""Home for a big village: the same statements and about the same bytes for 30 or 300
households, its figures and short list agree with the households page, which lists every
household and filters by a search and a filter (SQLite and PostgreSQL)."""
import re
from datetime import date

import pytest
from sqlalchemy import event, select

from fieldlog.extensions import db
from fieldlog.models import Household, Visit
from fieldlog.services.records.home import HOME_UNVISITED, household_dicts
from fieldlog.services.records.visits import month_start_utc
from tests.fixtures.big_village import fill_village

DAY = date(2026, 11, 17)


@pytest.fixture
def village(app, world, today_is):
    """Return a callable that fills V1 with n households and a year of visits by sec1."""
    today_is(DAY)

    def fill(n: int) -> list[str]:
        ids = fill_village(db.session, world.v1, world.sec1, n)
        db.session.expire_all()
        return ids

    return fill


def _statements(call) -> list[str]:
    seen: list[str] = []
    db.session.expire_all()  # the same starting point for every count: nothing loaded

    def listener(*args):
        seen.append(args[2])

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return seen


def _ids(html: str, testid: str, *, visible_only: bool = False) -> list[str]:
    """Return the household ids of the links with `testid` (only those not hidden)."""
    link = f'data-testid="{testid}" data-household-id="([^"]+)"'
    if not visible_only:
        return re.findall(link, html)
    pattern = r"<li(?P<attrs>[^>]*)>\s*<a [^>]*" + link
    return [m.group(2) for m in re.finditer(pattern, html) if "hidden" not in m.group("attrs")]


def _unvisited_by_hand(village_id: int, since) -> set[str]:
    visited = set(db.session.scalars(select(Visit.household_id).where(
        Visit.village_id == village_id, Visit.occurred_at >= since)))
    every = set(db.session.scalars(select(Household.id).where(
        Household.village_id == village_id)))
    return every - visited


def test_home_costs_the_same_for_30_or_300_households(client, login, world, village):
    login("sec1")
    village(30)
    client.get("/m/")
    small = _statements(lambda: client.get("/m/"))
    small_bytes = len(client.get("/m/").get_data())
    village(300)
    page = client.get("/m/")
    big = _statements(lambda: client.get("/m/"))
    assert page.status_code == 200
    assert len(big) == len(small) <= 16, big
    # No household is listed beyond the short list: the page grows by no more than a few
    # hundred bytes (a longer figure, another name), not by 270 households.
    assert len(page.get_data()) < small_bytes + 2_000
    html = page.get_data(as_text=True)
    assert len(_ids(html, "unvisited-item")) == HOME_UNVISITED
    assert 'data-testid="home-search"' in html and 'action="/m/households"' in html
    assert 'href="/m/households?show=unvisited"' in html


def test_home_figures_and_short_list_agree_with_the_households_page(app, client, login, world,
                                                                   village):
    login("sec1")
    village(120)
    since = month_start_utc(DAY)
    expected = _unvisited_by_hand(world.v1.id, since)
    assert 0 < len(expected) < 120  # the month has visits, and households still to visit
    html = client.get("/m/").get_data(as_text=True)
    count = re.search(r'data-testid="unvisited-count">(\d+)<', html).group(1)
    assert int(count) == len(expected)
    visited = re.search(r'data-testid="month-households">(\d+)<', html).group(1)
    assert int(visited) == 120 - len(expected)
    # The short list is the first of the households page's "not visited this month", in order:
    # key households first, then never visited, then the longest unvisited.
    every = household_dicts(world.v1.id, since)
    first = [h["id"] for h in every if not h["visited_since"]][:HOME_UNVISITED]
    assert _ids(html, "unvisited-item") == first
    assert set(first) <= expected
    listed = [h for h in every if h["id"] in first]
    assert any(h["priority"] for h in listed)


def test_households_page_lists_every_household_and_filters(client, login, world, village):
    login("sec1")
    ids = village(200)
    since = month_start_utc(DAY)
    html = client.get("/m/households").get_data(as_text=True)
    assert sorted(_ids(html, "household-row")) == sorted(ids)
    assert len(_ids(html, "household-row", visible_only=True)) == 200
    assert "显示 200 户，共 200 户" in html

    target = db.session.scalar(select(Household).where(Household.id == ids[123]))
    matching = [h for h in household_dicts(world.v1.id, since)
                if target.head_name in h["head_name"] or target.head_name in h["house_label"]]
    html = client.get("/m/households", query_string={"q": target.head_name}).get_data(
        as_text=True)
    shown = _ids(html, "household-row", visible_only=True)
    assert target.id in shown and len(shown) == len(matching)
    assert len(_ids(html, "household-row")) == 200  # every household stays in the page
    assert f'value="{target.head_name}"' in html

    html = client.get("/m/households?q=1组7号").get_data(as_text=True)
    assert len(_ids(html, "household-row", visible_only=True)) == 1  # 1组7号 only, not 11组7号

    unvisited = _unvisited_by_hand(world.v1.id, since)
    html = client.get("/m/households?show=unvisited").get_data(as_text=True)
    assert set(_ids(html, "household-row", visible_only=True)) == unvisited
    key = {h["id"] for h in household_dicts(world.v1.id, since) if h["priority"]}
    html = client.get("/m/households?show=priority").get_data(as_text=True)
    assert set(_ids(html, "household-row", visible_only=True)) == key and 0 < len(key) < 200
    html = client.get("/m/households?show=anything").get_data(as_text=True)
    assert len(_ids(html, "household-row", visible_only=True)) == 200  # unknown filter: all
    assert 'class="chip is-active" href="/m/households"' in html
    html = client.get("/m/households", query_string={"q": "王" * 300}).get_data(as_text=True)
    assert 'value="' + "王" * 40 + '"' in html  # kept to the input's length
    html = client.get("/m/households?q=nobody-here").get_data(as_text=True)
    assert _ids(html, "household-row", visible_only=True) == []
    assert re.search(r'data-testid="households-empty">', html)


def test_households_page_and_picker_read_the_village_in_few_statements(client, login, world,
                                                                      village):
    login("sec1")
    village(40)
    village_id = world.v1.id
    client.get("/m/households")
    small = len(_statements(lambda: client.get("/m/households")))
    picker_small = len(_statements(lambda: household_dicts(village_id)))
    village(1200)
    assert len(_statements(lambda: client.get("/m/households"))) == small
    assert len(_statements(lambda: household_dicts(village_id))) == picker_small == 2


def test_households_page_is_the_secretarys_own_village_only(client, login, world):
    login("sup_t1")
    assert client.get("/m/households").status_code == 403


def test_each_recent_visit_opens_its_own_page(client, login, world, village):
    login("sec1")
    village(30)
    html = client.get("/m/").get_data(as_text=True)
    links = re.findall(r'<a class="list-item" href="([^"]*)" data-testid="recent-item"', html)
    assert links, "no recent visits listed"
    assert len(set(links)) == len(links)  # one page a visit, not home again
    for href in links:
        assert re.fullmatch(r"/m/visits/[0-9a-f-]{36}/edit", href), href
        page = client.get(href)
        body = page.get_data(as_text=True)
        assert page.status_code == 200, href
        assert 'data-testid="visit-edit-form"' in body or 'data-testid="edit-locked"' in body
