"""The secretary's month and the printable monthly reports, from records sent by the phone."""
import re
import uuid
from datetime import date, datetime

import pytest

from fieldlog.extensions import db
from fieldlog.models import LeaveRequest, ReviewDecision, Visit
from fieldlog.services.reporting.month import Period, month_record
from tests.test_sync_api import sync

CENTRE = {"lat": 26.5805, "lon": 106.7102, "accuracy_m": 9.0}  # inside V1's geofence


def record(record_type: str, at: str, **fields) -> dict:
    """A record as the phone sends it, at a local time with the county's offset."""
    payload = {"type": record_type, "id": str(uuid.uuid4()), "occurred_at": at,
               "device_created_at": at, **fields}
    if record_type != "ledger_update":
        payload.setdefault("location", CENTRE)
    return payload


def visit(household, at: str, **fields) -> dict:
    fields = {"heard": "家里老人身体还行。", "requests": "希望帮助修缮屋后排水沟。",
              "follow_up": False, "photo_ids": [], **fields}
    return record("visit", at, household_id=household.id, **fields)


@pytest.fixture
def october(world, device):
    """sec1's October 2026 in V1, sent through the sync API; returns the records sent."""
    phone = device(world.sec1)
    h = world.h1  # h[0] 老党员 (三老), h[1] 困难户 and h[3] 上访户 (三户), h[2], h[4] untagged
    sent = {
        # 07:00 on 1 October in the county is still 30 September in UTC: October.
        "first": visit(h[0], "2026-10-01T07:00:00+08:00"),
        "sanhu": visit(h[3], "2026-10-05T10:00:00+08:00"),
        "other": visit(h[2], "2026-10-10T09:00:00+08:00", requests=""),
        # 23:30 on 31 October belongs to October; 00:30 on 1 November (UTC: still 31 October)
        # belongs to November.
        "late": visit(h[1], "2026-10-31T23:30:00+08:00"),
        "november": visit(h[4], "2026-11-01T00:30:00+08:00"),
        "meeting": record("meeting", "2026-10-12T15:00:00+08:00",
                          meeting_type="branch_committee", title="十月支委会", place="村委会",
                          host="书记", expected_count=5, attended_count=5,
                          topics="研究冬季水利设施修缮"),
        "action": record("action", "2026-10-20T10:00:00+08:00", action_type="party_lecture",
                         title="学习二十届四中全会精神", state="done", done_on="2026-10-20"),
        "mark": record("day_mark", "2026-10-15T09:00:00+08:00", day="2026-10-15",
                       kind="official", reason="training", note="县委组织部培训"),
        "leave": record("leave", "2026-10-20T11:00:00+08:00", leave_type="personal",
                        start_date="2026-10-26", end_date="2026-10-28", reason="家中有事"),
    }
    answers = sync(phone, *sent.values())
    assert [a["status"] for a in answers] == ["stored"] * len(sent), answers
    sent["item"] = record("ledger_item", "2026-10-05T10:30:00+08:00", household_id=h[3].id,
                          category="infrastructure", content="修缮屋后排水沟",
                          handler="village_committee", due_date="2026-10-30",
                          source={"type": "visit", "id": sent["sanhu"]["id"]})
    sent["resolved"] = record("ledger_update", "2026-10-25T16:00:00+08:00",
                              item_id=sent["item"]["id"], to_state="resolved")
    answers = sync(phone, sent["item"])
    answers += sync(phone, sent["resolved"])
    assert [a["status"] for a in answers] == ["stored", "stored"], answers
    # The township approves the leave; a reviewer returns one visit and approves another.
    db.session.get(LeaveRequest, sent["leave"]["id"]).state = "approved"
    # Returned = each return a reviewer decided in the month (docs/figures.md).
    db.session.get(Visit, sent["other"]["id"]).status = "returned"
    db.session.add(ReviewDecision(record_type="visit", record_id=sent["other"]["id"], version=1,
                                  decision="returned", comment="请补充诉求",
                                  reviewer_id=world.sup_t1.id,
                                  decided_at=datetime(2026, 10, 21, 2, 0)))
    db.session.get(Visit, sent["first"]["id"]).status = "approved"
    db.session.commit()
    return sent


def test_october_figures_come_from_the_synced_records(world, october):
    r = month_record(world.sec1, 2026, 10)
    assert r.village.id == world.v1.id and r.dispatching_unit == "县农业农村局"
    assert r.visit_counts == {"total": 4, "sanlao": 1, "sanhu": 2, "others": 1}
    assert [v["id"] for v in r.visits] == [october[k]["id"] for k in
                                           ("first", "sanhu", "other", "late")]
    assert [v["day"] for v in r.visits][-1] == date(2026, 10, 31)
    assert r.visits[1]["summary"] == "希望帮助修缮屋后排水沟。"
    assert r.visits[2]["summary"] == "家里老人身体还行。"  # no request: what was heard
    assert r.meeting_counts["branch_committee"] == 1 and r.meeting_total == 1
    assert r.meetings[0]["day"] == date(2026, 10, 12)
    assert "水利" in r.meetings[0]["topics"]
    lecture = next(a for a in r.actions if a["action_type"] == "party_lecture")
    assert lecture["state"] == "done" and lecture["this_month"]
    assert {a["state"] for a in r.actions if a["action_type"] != "party_lecture"} == {None}
    assert r.visit_all == {"visited": 4, "total": 5, "percent": 80, "done": False}
    assert r.six_one_done == 1
    assert [i["id"] for i in r.ledger_opened] == [october["item"]["id"]]
    assert [i["id"] for i in r.ledger_closed] == [october["item"]["id"]]
    assert r.ledger_closed[0]["day"] == date(2026, 10, 25) and r.ledger_overdue == 0
    # Located records on the 1st, 5th, 10th, 12th, 20th and 31st, plus the 15th on official
    # business; the leave (26th–28th) is not in the village.
    assert (r.days_in_village, r.official_days, r.days_required) == (7, 1, 20)
    assert r.days_short
    assert r.leave_days == 3 and r.leave[0]["state"] == "approved"
    assert (r.returned, r.approved) == (1, 1)


def test_november_gets_the_visit_after_midnight(world, october):
    r = month_record(world.sec1, 2026, 11)
    assert r.visit_counts == {"total": 1, "sanlao": 0, "sanhu": 0, "others": 1}
    assert r.visits[0]["day"] == date(2026, 11, 1)
    assert r.visit_all["done"] and r.six_one_done == 2  # every household by now
    lecture = next(a for a in r.actions if a["action_type"] == "party_lecture")
    assert lecture["state"] == "done" and not lecture["this_month"]
    assert not r.ledger_opened and not r.ledger_closed and r.leave_days == 0


def test_another_cadre_has_an_empty_month(world, october):
    r = month_record(world.sec2, 2026, 10)
    assert r.visit_counts["total"] == 0 and r.days_in_village == 0 and not r.meetings
    assert r.village.id == world.v2.id


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "26-10", "abcd-ef", "2014-12", ""])
def test_bad_months_are_not_months(text):
    assert Period.parse(text) is None


def test_period_boundaries_are_county_midnights(app):
    with app.test_request_context():
        p = Period(2026, 10)
        assert p.start_utc.isoformat() == "2026-09-30T16:00:00"
        assert p.end_utc.isoformat() == "2026-10-31T16:00:00"
        assert str(p.previous) == "2026-09" and str(Period(2026, 12).next) == "2027-01"


# --- the phone page --------------------------------------------------------------------------

def text_of(page: str, name: str) -> str:
    match = re.search(rf'data-testid="{name}"[^>]*>([^<]*)<', page)
    assert match, f"no {name} on the page"
    return match.group(1).strip()


@pytest.fixture
def in_november(today_is):
    """The county's today is in November 2026, the month after the records."""
    today_is(date(2026, 11, 18))


def test_phone_month_page_shows_the_big_figures(client, in_november, world, october, login):
    login("sec1")
    page = client.get("/m/month?m=2026-10").get_data(as_text=True)
    assert text_of(page, "days-in-village") == "7"
    assert text_of(page, "visits-total") == "4"
    assert (text_of(page, "visits-sanlao"), text_of(page, "visits-sanhu")) == ("1", "2")
    assert text_of(page, "meetings-total") == "1"
    assert (text_of(page, "ledger-opened"), text_of(page, "ledger-closed")) == ("1", "1")
    assert text_of(page, "month-label") == "2026年10月"  # Chinese by default
    assert page.count('data-testid="visit-line"') == 4
    # previous; next is November, this month, whose own address is /m/month
    assert 'href="/m/month?m=2026-09"' in page and 'href="/m/month"' in page


def test_phone_month_page_links_a_past_next_month_by_its_name(client, today_is, world, device,
                                                             login):
    today_is(date(2027, 3, 3))
    login("sec1")
    page = client.get("/m/month?m=2026-10").get_data(as_text=True)
    assert 'href="/m/month?m=2026-11"' in page and 'href="/m/month"' not in page
    assert f"/report/cadre/{world.sec1.id}/2026-10" in page
    assert re.search(r"css/print\.[0-9a-f]{10}\.css", page)  # fingerprinted


def test_phone_month_page_in_english(client, world, october, login):
    login("sec1")
    with client.session_transaction() as s:
        s["locale"] = "en"
    page = client.get("/m/month?m=2026-10").get_data(as_text=True)
    assert text_of(page, "month-label") == "October 2026"
    assert "Oct 31" in page and "Three elders" in page


def test_phone_month_page_current_month_and_bad_month(client, world, login):
    login("sec1")
    response = client.get("/m/month")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-testid="month-next"' not in page  # nothing after this month
    for bad in ("2026-13", "nonsense", "2999-01"):
        page = client.get(f"/m/month?m={bad}").get_data(as_text=True)
        assert "flash-warning" in page
        assert 'data-testid="month-next"' not in page  # fell back to this month


def test_phone_month_page_is_for_secretaries(client, world, login):
    login("sup_t1")
    assert client.get("/m/month").status_code == 403


# --- the printable reports -------------------------------------------------------------------

def test_cadre_report_is_the_monthly_form(client, world, october, login):
    login("sup_t1")
    response = client.get(f"/report/cadre/{world.sec1.id}/2026-10")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert text_of(page, "report-village") == "北堡村"
    assert text_of(page, "report-township") == "东岭镇"
    assert text_of(page, "report-unit") == "县农业农村局"
    assert page.count('data-testid="report-visit"') == 4
    assert page.count('data-testid="report-meeting"') == 1
    assert page.count('data-testid="report-six-one"') == 6
    assert "2026年10月" in page and re.search(r"css/print\.[0-9a-f]{10}\.css", page)
    assert "Signature of the first secretary" in page or "第一书记签字" in page


def test_cadre_report_in_english_has_english_dates(client, world, october, login):
    login("sec1")
    with client.session_transaction() as s:
        s["locale"] = "en"
    page = client.get(f"/report/cadre/{world.sec1.id}/2026-10").get_data(as_text=True)
    assert text_of(page, "report-period") == "October 2026"
    assert "October 1, 2026" in page and "October 31, 2026" in page


@pytest.mark.parametrize("username, cadre, code", [
    ("sec1", "sec1", 200), ("sec1", "sec2", 404), ("sec3", "sec1", 404),
    ("sup_t1", "sec1", 200), ("sup_t1", "sec3", 404), ("sup_t2", "sec1", 404),
    ("sup_t2", "sec3", 200), ("sup_county", "sec2", 200), ("inspector", "sec3", 200),
    ("admin", "sec1", 200), ("sup_t1", "sup_t1", 404),
])
def test_cadre_report_scope(client, world, login, username, cadre, code):
    login(username)
    response = client.get(f"/report/cadre/{getattr(world, cadre).id}/2026-10")
    assert response.status_code == code
    if code == 404:  # nothing about the cadre; the page's own menu names only the viewer
        main = response.get_data(as_text=True).split('<main id="main"', 1)[1]
        assert getattr(world, cadre).display_name not in main


@pytest.mark.parametrize("period", ["2026-13", "2026-1", "x", "2999-01"])
def test_cadre_report_bad_period_is_not_found(client, world, login, period):
    login("sec1")
    assert client.get(f"/report/cadre/{world.sec1.id}/{period}").status_code == 404


def test_reports_need_sign_in(client, world):
    response = client.get(f"/report/cadre/{world.sec1.id}/2026-10")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_township_report_lists_its_cadres_with_totals(client, world, october, login):
    login("sup_t1")
    response = client.get(f"/report/township/{world.t1.id}/2026-10")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    rows = re.findall(r'data-testid="township-row" data-cadre-id="(\d+)"', page)
    assert sorted(map(int, rows)) == sorted([world.sec1.id, world.sec2.id])
    assert world.sec3.display_name not in page  # another township's cadre
    assert text_of(page, "total-visits") == "4"
    assert text_of(page, "row-visits") == "4"  # sec1 sorts first (SEC1)
    assert text_of(page, "row-days") == "7"
    assert text_of(page, "row-returned") == "1"
    assert text_of(page, "row-leave") == "3"
    assert f"/report/cadre/{world.sec1.id}/2026-10" in page


@pytest.mark.parametrize("username, unit, code", [
    ("sup_t1", "t1", 200), ("sup_t2", "t1", 404), ("sup_t1", "t2", 404),
    ("sup_county", "t1", 200), ("inspector", "t2", 200), ("admin", "t1", 200),
    ("sec1", "t1", 403), ("sup_county", "v1", 404), ("sup_county", "county", 404),
])
def test_township_report_scope(client, world, login, username, unit, code):
    login(username)
    assert client.get(f"/report/township/{getattr(world, unit).id}/2026-10").status_code \
        == code


# --- home ------------------------------------------------------------------------------------

def test_home_hub_links_every_record_kind_and_counts_returned(client, world, october, login):
    login("sec1")
    page = client.get("/m/").get_data(as_text=True)
    for path in ("/m/visits/new", "/m/meetings", "/m/actions", "/m/ledger", "/m/attendance",
                 "/m/leave", "/m/month", "/m/returned"):
        assert f'href="{path}"' in page, path
    assert re.search(r'data-testid="returned-badge" data-count="1"', page)
    # "Record a visit" stays first.
    assert page.index('data-testid="record-visit"') < page.index('data-testid="hub"')


def test_a_township_of_cadres_costs_a_few_grouped_queries(app, world, october):
    """Per kind of record one grouped query for every cadre; per village only the coverage."""
    from sqlalchemy import event

    from fieldlog.services.reporting.month import month_records

    def statements_for(users) -> int:
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        db.session.expire_all()
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            with app.test_request_context():
                month_records(users, Period(2026, 10))
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    one = statements_for([world.sec1])
    three = statements_for([world.sec1, world.sec2, world.sec3])  # three villages
    assert three <= one + 3 * 2 + 2, (one, three)


def test_the_progress_table_links_each_townships_printable_report(client, world, login):
    login("sup_county")
    page = client.get("/progress/?period=2026-10").get_data(as_text=True)
    for township in (world.t1, world.t2):
        href = f"/report/township/{township.id}/2026-10"
        assert href in page
        assert client.get(href).status_code == 200
    login("sup_t2")
    page = client.get("/progress/?period=2026-10").get_data(as_text=True)
    assert f"/report/township/{world.t2.id}/2026-10" in page
    assert f"/report/township/{world.t1.id}/" not in page
