"""Progress of each cadre: periods, the figures from synced records, the table and scope."""
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, update

from fieldlog.errors import Invalid
from fieldlog.extensions import db
from fieldlog.models import HouseholdTag, LeaveRequest, ReviewDecision, Visit
from fieldlog.services.attendance.monthly import months_between
from fieldlog.services.reporting import figure_queries
from fieldlog.services.reporting.figures import cadre_figures
from fieldlog.services.reporting.period import Period
from fieldlog.timefmt import local_today
from tests.test_sync_api import sync, visit_payload
from tests.test_sync_records import base, meeting

# --- periods ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, kind, start, end", [
    ("2026-11", "month", date(2026, 11, 1), date(2026, 11, 30)),
    ("2024-02", "month", date(2024, 2, 1), date(2024, 2, 29)),
    ("2026-Q4", "quarter", date(2026, 10, 1), date(2026, 12, 31)),
    ("2026-Q1", "quarter", date(2026, 1, 1), date(2026, 3, 31)),
    ("2026", "year", date(2026, 1, 1), date(2026, 12, 31)),
    (" 2026-11 ", "month", date(2026, 11, 1), date(2026, 11, 30)),
])
def test_periods_parse(app, text, kind, start, end):
    period = Period.parse(text)
    assert (period.kind, period.start, period.end) == (kind, start, end)
    assert Period.parse(period.key) == period


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-Q5", "2026-Q0", "26-11", "abc",
                                  "1999", "2026-11-01", "2026-q4", "term2"])
def test_malformed_periods_are_refused_with_a_clear_message(app, text):
    with pytest.raises(Invalid) as exc:
        Period.parse(text)
    assert "2026-11" in exc.value.message


def test_period_defaults_shifts_and_term(app):
    assert Period.parse("", date(2026, 3, 15)).key == "2026-03"
    assert Period.parse("term").kind == "term"
    assert Period.parse("2026-01").shifted(-1).key == "2025-12"
    assert Period.parse("2026-12").shifted(1).key == "2027-01"
    assert Period.parse("2026-Q1").shifted(-1).key == "2025-Q4"
    assert Period.parse("2026").shifted(1).key == "2027"
    assert Period.around("quarter", date(2026, 11, 22)).key == "2026-Q4"
    assert months_between(date(2026, 1, 1), date(2026, 3, 31)) == 3
    assert months_between(date(2026, 11, 1), date(2026, 11, 15)) == pytest.approx(0.5)


def test_local_month_boundaries_are_shanghai_midnights(app):
    """Stored times are naive UTC: a Shanghai month starts at 16:00 UTC the day before."""
    lo, hi = Period.parse("2026-11").bounds_utc()
    assert (lo, hi) == (datetime(2026, 10, 31, 16), datetime(2026, 11, 30, 16))
    lo, hi = Period.parse("2026-Q1").bounds_utc()
    assert (lo, hi) == (datetime(2025, 12, 31, 16), datetime(2026, 3, 31, 16))


def test_a_visit_just_after_local_midnight_counts_in_the_new_month(world, device):
    phone = device(world.sec1)
    late = datetime(2026, 10, 31, 16, 30, tzinfo=UTC)  # 1 Nov 00:30 in Shanghai
    early = datetime(2026, 10, 31, 15, 30, tzinfo=UTC)  # 31 Oct 23:30 in Shanghai
    sync(phone, *(visit_payload(world.h1[0], occurred_at=t.isoformat(),
                                device_created_at=t.isoformat()) for t in (late, early)))
    today = date(2026, 11, 22)
    november = cadre_figures([world.sec1.id], Period.parse("2026-11"), today=today)
    october = cadre_figures([world.sec1.id], Period.parse("2026-10"), today=today)
    assert november[world.sec1.id].visits["total"] == 1
    assert october[world.sec1.id].visits["total"] == 1


# --- figures from records made through the sync API --------------------------------------------

@pytest.fixture
def county_records(world, device, today_is):
    """sec1 visits, meets, acts, raises and resolves requests, takes leave; sec3 a little.

    Mid-November: "twelve days ago" and "this year" must not straddle New Year.
    """
    today_is(date(2026, 11, 18))
    phone = device(world.sec1)
    h = world.h1  # tags: h[0] 老党员, h[1] 困难户, h[2] none, h[3] 上访户+低保, h[4] none
    visits = [visit_payload(h[0]), visit_payload(h[0]), visit_payload(h[1]),
              visit_payload(h[2])]
    overdue = base("ledger_item", household_id=h[0].id, category="infrastructure",
                   content="修缮屋后排水沟", handler="township",
                   due_date=(local_today() - timedelta(days=3)).isoformat(),
                   source={"type": "visit", "id": visits[0]["id"]})
    solved = base("ledger_item", household_id=h[1].id, category="health",
                  content="申请慢病卡", source={"type": "visit", "id": visits[2]["id"]})
    meetings = [meeting(), meeting(), {**meeting(), "meeting_type": "villagers_say"}]
    actions = [base("action", action_type="party_lecture", title="讲党课", state="done"),
               base("action", action_type="pledge", title="修通组组路", state="under_way")]
    start = local_today() - timedelta(days=12)
    leave = base("leave", leave_type="personal", start_date=start.isoformat(),
                 end_date=(start + timedelta(days=2)).isoformat(), reason="家中有事")
    answers = sync(phone, *visits, overdue, solved, *meetings, *actions, leave)
    assert {a["status"] for a in answers} == {"stored"}
    done = [base("ledger_update", item_id=solved["id"], to_state=state)
            for state in ("in_progress", "resolved")]
    assert {a["status"] for a in sync(phone, *done)} == {"stored"}
    db.session.get(LeaveRequest, leave["id"]).state = "approved"
    other = visit_payload(world.h3[0], location={"lat": 26.4501, "lon": 106.6001,
                                                 "accuracy_m": 8.0})
    sync(device(world.sec3), other)
    now = datetime.now(UTC).replace(tzinfo=None)
    decisions = [("visit", visits[3]["id"], "returned", world.sup_t1),
                 ("meeting", meetings[0]["id"], "returned", world.sup_t1),
                 ("visit", visits[1]["id"], "approved", world.sup_t1),
                 ("visit", other["id"], "returned", world.sup_t2)]
    db.session.add_all(ReviewDecision(record_type=t, record_id=i, version=1, decision=d,
                                      comment="请补充", reviewer_id=r.id, decided_at=now)
                       for t, i, d, r in decisions)
    db.session.commit()
    return world


def test_figures_count_each_part_of_the_work(county_records):
    w = county_records
    figures = cadre_figures([w.sec1.id, w.sec2.id, w.sec3.id],
                            Period.around("year", local_today()))
    sec1, sec2, sec3 = figures[w.sec1.id], figures[w.sec2.id], figures[w.sec3.id]
    assert sec1.visits == {"total": 4, "sanlao": 2, "sanhu": 1, "other": 1}
    assert sec1.coverage == {"all": [3, 5], "sanlao": [1, 1], "sanhu": [1, 2]}
    assert sec1.coverage_percent() == 60 and not sec1.visit_all_done
    assert sec1.meetings["branch_committee"] == 2 and sec1.meetings["villagers_say"] == 1
    assert sec1.meetings_total == 3
    assert sec1.actions["party_lecture"]["done"] == 1
    assert sec1.actions["pledge"]["under_way"] == 1 and sec1.six_one_done == 1
    assert (sec1.ledger_opened, sec1.ledger_resolved, sec1.ledger_overdue) == (2, 1, 1)
    assert sec1.leave_days == 3
    assert sec1.returned == 2  # the approval is not a return
    assert sec1.days_in_village >= 1 and sec1.days_required >= 20
    assert (sec1.village, sec1.township) == ("北堡村", "东岭镇")
    assert sec2.visits["total"] == 0 and sec2.coverage["all"] == [0, 3] and sec2.returned == 0
    assert sec3.visits == {"total": 1, "sanlao": 1, "sanhu": 0, "other": 0}
    assert sec3.returned == 1 and sec3.leave_days == 0


def test_returned_records_are_counted_alike_for_few_cadres_and_for_a_county(county_records,
                                                                           monkeypatch):
    """Few cadres: joined from their records; a county: each decision looks its record up."""
    w = county_records
    ids, year = [w.sec1.id, w.sec2.id, w.sec3.id], Period.around("year", local_today())
    expected = {w.sec1.id: 2, w.sec2.id: 0, w.sec3.id: 1}
    assert {u: f.returned for u, f in cadre_figures(ids, year).items()} == expected
    monkeypatch.setattr(figure_queries, "_FEW_CADRES", 0)
    assert {u: f.returned for u, f in cadre_figures(ids, year).items()} == expected


def test_categories_and_coverage_count_each_household_once(world, device):
    """A household of both 三老 and 三户 (two 三老 tags) counts once in each; one visited by two
    cadres counts once where the visits were made; an anonymised household leaves the total."""
    h = world.h1
    db.session.add_all(HouseholdTag(household_id=h[2].id, tag=t)
                       for t in ("old_party_member", "retired_cadre", "hardship"))
    h[4].anonymised_at = datetime.now(UTC).replace(tzinfo=None)
    db.session.commit()
    answers = sync(device(world.sec1), visit_payload(h[2]), visit_payload(h[2]))
    assert {a["status"] for a in answers} == {"stored"}
    db.session.execute(update(Visit).where(Visit.id == answers[1]["id"])
                       .values(author_id=world.sec2.id))
    db.session.commit()
    figures = cadre_figures([world.sec1.id, world.sec2.id], Period.around("year", local_today()))
    sec1, sec2 = figures[world.sec1.id], figures[world.sec2.id]
    assert sec1.visits == sec2.visits == {"total": 1, "sanlao": 1, "sanhu": 1, "other": 0}
    assert sec1.coverage == {"all": [1, 4], "sanlao": [1, 2], "sanhu": [1, 3]}
    assert sec2.coverage == {"all": [0, 3], "sanlao": [0, 1], "sanhu": [0, 1]}


def test_term_counts_from_each_cadres_assignment(county_records):
    w = county_records
    figures = cadre_figures([w.sec1.id], Period.parse("term"))[w.sec1.id]
    assert figures.start == date(2026, 1, 1) and figures.end == local_today()
    assert figures.visits["total"] == 4


def test_an_empty_period_gives_zeros_and_a_threshold(county_records):
    w = county_records
    figures = cadre_figures([w.sec1.id], Period.parse("2025-03"))[w.sec1.id]
    assert figures.visits["total"] == 0 and figures.returned == 0
    assert figures.days_required == figures.days_expected == 20
    assert figures.below_threshold


def test_the_table_is_a_fixed_number_of_queries_whatever_the_cadres(app, county_records):
    w = county_records
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        cadre_figures([w.sec1.id], Period.parse("2026-11"))
        one = len(statements)
        statements.clear()
        cadre_figures([w.sec1.id, w.sec2.id, w.sec3.id], Period.parse("2026-11"))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) <= one + 2  # a village's geofence may be read once more


# --- pages and scope ---------------------------------------------------------------------------

def _en(client):
    with client.session_transaction() as session:
        session["locale"] = "en"


def test_county_supervisor_sees_every_cadre_sorts_and_filters(client, login, county_records):
    w = county_records
    login("sup_county")
    _en(client)
    page = client.get("/progress/?kind=year&sort=visits&dir=desc")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    order = [html.index(f'data-cadre-id="{u.id}"') for u in (w.sec1, w.sec3, w.sec2)]
    assert order == sorted(order)  # 4, 1, 0 visits
    assert 'aria-sort="descending"' in html
    ascending = client.get("/progress/?kind=year&sort=visits&dir=asc").get_data(as_text=True)
    assert ascending.index(f'data-cadre-id="{w.sec2.id}"') < ascending.index(
        f'data-cadre-id="{w.sec1.id}"')
    only_t2 = client.get(f"/progress/?kind=year&township={w.t2.id}").get_data(as_text=True)
    assert only_t2.count('data-testid="progress-row"') == 1
    named = client.get("/progress/?q=SEC2").get_data(as_text=True)
    assert named.count('data-testid="progress-row"') == 1 and f'"{w.sec2.id}"' in named
    below = client.get("/progress/?period=2025-03&below=1").get_data(as_text=True)
    assert below.count('data-testid="progress-row"') == 3


def test_township_supervisor_sees_only_their_township(client, login, county_records):
    w = county_records
    login("sup_t2")
    html = client.get("/progress/?kind=year").get_data(as_text=True)
    assert html.count('data-testid="progress-row"') == 1
    assert f'data-cadre-id="{w.sec3.id}"' in html and "SEC1" not in html
    assert client.get(f"/progress/cadre/{w.sec3.id}").status_code == 200
    assert client.get(f"/progress/cadre/{w.sec1.id}").status_code == 404
    assert client.get(f"/progress/cadre/{w.sup_t1.id}").status_code == 404  # not a cadre
    assert client.get("/progress/cadre/99999").status_code == 404


def test_secretaries_get_no_ranking(client, login, county_records):
    login("sec1")
    assert client.get("/progress/").status_code == 403
    assert client.get(f"/progress/cadre/{county_records.sec1.id}").status_code == 403


def test_a_cadre_page_shows_figures_calendar_and_recent_records(client, login, county_records):
    w = county_records
    login("inspector")
    _en(client)
    page = client.get(f"/progress/cadre/{w.sec1.id}?kind=month")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="activity-calendar"' in html and 'data-testid="cal-month"' in html
    today = local_today().isoformat()
    assert f'data-day="{today}"' in html
    assert 'data-testid="coverage-all" data-visited="3" data-total="5"' in html
    assert html.count('data-testid="recent-record"') >= 8
    year = client.get(f"/progress/cadre/{w.sec1.id}?kind=year").get_data(as_text=True)
    assert year.count('data-testid="cal-month"') == local_today().month


def test_a_malformed_period_says_so_and_shows_the_month(client, login, county_records):
    login("admin")
    _en(client)
    page = client.get("/progress/?period=2026-13")
    assert page.status_code == 422
    assert "2026-11 (month)" in page.get_data(as_text=True)


def test_side_by_side_statements_give_the_same_figures(app, world, device):
    """On PostgreSQL a county-sized report runs its heavy statements on separate connections in
    one snapshot; the figures must equal those of one connection."""
    phone = device(world.sec1)
    sync(phone, *[visit_payload(h) for h in world.h1])
    ids = [world.sec1.id, world.sec2.id, world.sec3.id]
    period = Period.parse("")
    app.config["PARALLEL_REPORT_MIN_CADRES"] = 10_000
    serial = {k: vars(v) for k, v in cadre_figures(ids, period).items()}
    db.session.rollback()
    app.config["PARALLEL_REPORT_MIN_CADRES"] = 1
    statements = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        side_by_side = {k: vars(v) for k, v in cadre_figures(ids, period).items()}
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert side_by_side == serial
    exported = any("pg_export_snapshot" in s for s in statements)
    assert exported == (db.engine.dialect.name == "postgresql")
    assert serial[world.sec1.id]["visits"]["total"] == len(world.h1)
