"""The supervisor's list and visit pages: scope, filters, distance, no per-row queries."""
import pytest
from sqlalchemy import event

from fieldlog.extensions import db
from tests.test_sync_api import sync, visit_payload


@pytest.fixture
def visits(world, device):
    """Two visits in V1, one in V2, one in V3 (other township)."""
    made = {}
    for sec, households, key in ((world.sec1, world.h1, "v1"), (world.sec2, world.h2, "v2"),
                                 (world.sec3, world.h3, "v3")):
        phone = device(sec)
        records = [visit_payload(households[0]), visit_payload(households[1], location=None)]
        if key != "v1":
            records = records[:1]
        sync(phone, *records)
        made[key] = [r["id"] for r in records]
    return made


def test_township_supervisor_sees_only_the_township(client, world, login, visits):
    login("sup_t1")
    page = client.get("/review/").get_data(as_text=True)
    assert page.count('data-testid="visit-row"') == 3
    assert "北堡村" in page and "南坪村" in page and "河湾村户主" not in page


def test_county_supervisor_sees_all_and_filters(client, world, login, visits):
    login("sup_county")
    assert client.get("/review/").get_data(as_text=True).count('data-testid="visit-row"') == 4
    by_village = client.get(f"/review/?village={world.v1.id}").get_data(as_text=True)
    assert by_village.count('data-testid="visit-row"') == 2
    by_secretary = client.get(f"/review/?secretary={world.sec3.id}").get_data(as_text=True)
    assert by_secretary.count('data-testid="visit-row"') == 1


def test_filtering_by_a_village_outside_scope_shows_nothing(client, world, login, visits):
    login("sup_t1")
    page = client.get(f"/review/?village={world.v3.id}").get_data(as_text=True)
    assert 'data-testid="visit-row"' not in page


def test_visit_page_shows_distance_from_the_village_centre(client, world, login, visits):
    login("sup_t1")
    page = client.get(f"/review/visits/{visits['v1'][0]}").get_data(as_text=True)
    # 26.5805,106.7102 is about 59 m from 北堡村's centre at 26.58,106.71; the fence is 1.5 km.
    assert "59 m" in page and "在村界范围内（1.5 km）" in page
    no_fix = client.get(f"/review/visits/{visits['v1'][1]}").get_data(as_text=True)
    assert 'data-testid="no-location"' in no_fix


def test_visit_outside_scope_is_not_found(client, world, login, visits):
    login("sup_t2")
    assert client.get(f"/review/visits/{visits['v1'][0]}").status_code == 404


def test_secretary_sees_own_visit_but_not_the_list(client, world, login, visits):
    login("sec1")
    assert client.get("/review/").status_code == 403
    assert client.get(f"/review/visits/{visits['v1'][0]}").status_code == 200
    assert client.get(f"/review/visits/{visits['v2'][0]}").status_code == 404


def test_list_page_query_count_does_not_grow_with_rows(client, world, login, device):
    login("sup_county")
    phone = device(world.sec1)

    def count_queries() -> int:
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/review/").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    sync(phone, *[visit_payload(world.h1[n % 5]) for n in range(3)])
    few = count_queries()
    sync(phone, *[visit_payload(world.h1[n % 5]) for n in range(25)])
    many = count_queries()
    assert many == few, f"{few} queries for 3 rows, {many} for 28"


def test_visit_page_says_not_located_without_a_flag(client, world, login, visits):
    """A visit without a fix is not flagged; the page notes 未定位 as information."""
    login("sup_t1")
    page = client.get(f"/review/visits/{visits['v1'][1]}").get_data(as_text=True)
    assert 'data-kind="no_location"' not in page and 'data-testid="flag"' not in page
    assert 'data-testid="no-location"' in page and "未定位" in page


def test_list_pages_through_the_visits_keeping_filters(client, world, login, device):
    login("sup_t1")
    sync(device(world.sec1), *[visit_payload(world.h1[n % 5]) for n in range(31)])
    first = client.get(f"/review/?village={world.v1.id}").get_data(as_text=True)
    assert first.count('data-testid="visit-row"') == 30
    assert f"/review/?page=2&amp;village={world.v1.id}" in first
    second = client.get(f"/review/?village={world.v1.id}&page=2").get_data(as_text=True)
    assert second.count('data-testid="visit-row"') == 1


def test_visit_page_offers_decisions_to_supervisors_only(client, world, login, visits):
    login("sup_t1")
    page = client.get(f"/review/visits/{visits['v1'][0]}").get_data(as_text=True)
    assert 'data-testid="approve"' in page and 'data-status="submitted"' in page
    assert f"/review/records/visit/{visits['v1'][0]}/history" in page
    login("inspector")
    page = client.get(f"/review/visits/{visits['v1'][0]}").get_data(as_text=True)
    assert 'data-testid="approve"' not in page and 'data-testid="history-link"' in page
