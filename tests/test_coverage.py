"""Visit coverage: last visits, progress per village and tag group, overdue households."""
from datetime import date, datetime

import pytest

from fieldlog.extensions import db
from fieldlog.services.register.coverage import village_coverage
from tests.test_sampling import add_visit

TODAY = date(2026, 3, 31)


@pytest.fixture(autouse=True)
def request_ctx(app):
    """Services speak through gettext, which needs a request (the locale is per request)."""
    with app.test_request_context():
        yield


def test_progress_and_overdue_with_default_intervals(world):
    # V1 households: 0 老党员 (90 d), 1 困难户 (30 d), 2 untagged (180 d),
    # 3 上访户+低保户 (30 d), 4 untagged. Term started 2026-01-01.
    h = world.h1
    add_visit(world.sec1, h[0], datetime(2026, 1, 5, 2))
    add_visit(world.sec1, h[1], datetime(2026, 2, 1, 2))
    add_visit(world.sec1, h[1], datetime(2026, 3, 20, 2))
    add_visit(world.sec1, h[2], datetime(2025, 12, 1, 2))  # before the term
    db.session.commit()
    coverage = village_coverage(world.v1, TODAY)
    assert coverage.since == date(2026, 1, 1)
    assert (coverage.village_progress.visited, coverage.village_progress.total) == (2, 5)
    groups = {g.key: (g.visited, g.total) for g in coverage.groups}
    assert groups == {"sanlao": (1, 1), "sanhu": (1, 2), "others": (0, 2)}
    rows = {r.household.id: r for r in coverage.rows}
    assert rows[h[1].id].last_visit == date(2026, 3, 20)
    assert rows[h[2].id].last_visit == date(2025, 12, 1)
    # 上访户 never visited: due 30 days after the term start → 59 days overdue on 31 March.
    assert [(r.household.id, r.overdue_days) for r in coverage.overdue] == [(h[3].id, 59)]


def test_county_override_changes_the_overdue_list(app, world):
    add_visit(world.sec1, world.h1[0], datetime(2026, 1, 5, 2))
    db.session.commit()
    app.config["COUNTY_VISIT_INTERVALS"] = {"C": {"old_party_member": 30, "default": 60}}
    overdue = {r.household.id: r.overdue_days for r in village_coverage(world.v1, TODAY).overdue}
    assert overdue[world.h1[0].id] == 55  # 5 Jan + 30 days = 4 Feb
    assert overdue[world.h1[2].id] == 29  # untagged: 1 Jan + 60 days = 2 Mar
    assert len(overdue) == 5


def test_no_assignment_counts_from_the_first_visit(world):
    db.session.execute(db.text("DELETE FROM assignments"))
    assert village_coverage(world.v2, TODAY).since is None
    add_visit(world.sec2, world.h2[0], datetime(2026, 2, 10, 2))
    db.session.commit()
    coverage = village_coverage(world.v2, TODAY)
    assert coverage.since == date(2026, 2, 10)
    assert coverage.village_progress.visited == 1


def test_coverage_page_for_secretary_and_supervisor(client, login, world):
    add_visit(world.sec1, world.h1[0], datetime(2026, 1, 5, 2))
    db.session.commit()
    login("sec1")
    page = client.get("/register/coverage").get_data(as_text=True)
    assert 'data-testid="visited-village">1<' in page
    assert 'data-testid="overdue-list"' in page
    home = client.get("/m/").get_data(as_text=True)
    assert "/register/coverage" in home and "/register/" in home
