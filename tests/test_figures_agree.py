"""Every figure shown in two places says the same: the printed reports, the phone's month, the
progress table and cadre page and scoring, for one cadre and one month (docs/figures.md); a
running month is prorated and said to be running on every page; each figure names its period."""
import re
from datetime import date, datetime

import pytest

from fieldlog.extensions import db
from fieldlog.models import ReviewDecision
from fieldlog.services.attendance.monthly import days_target
from tests.test_month import CENTRE, october, record, visit  # noqa: F401  (october: a fixture)
from tests.test_sync_api import sync

# sec1's October 2026 (tests/test_month.py::october) plus a plan done in September and a
# meeting returned in October and resubmitted since.
OCTOBER = {"days": 7, "visits": 4, "sanlao": 1, "sanhu": 2, "meetings": 1, "six_one": 2,
           "opened": 1, "closed": 1, "overdue": 0, "leave": 3, "returned": 2}


def tag(page: str, testid: str, within: str | None = None) -> dict[str, str]:
    """Return the data-* attributes and the first text of the element with `testid`."""
    if within is not None:
        page = within
    match = re.search(rf'<[^>]*data-testid="{testid}"[^>]*>([^<]*)', page)
    assert match, f"no {testid} on the page"
    found = dict(re.findall(r'data-([\w-]+)="([^"]*)"', match.group(0)))
    found["text"] = match.group(1).strip()
    return found


def row(page: str, testid: str, cadre_id: int) -> str:
    match = re.search(rf'<tr[^>]*data-testid="{testid}"[^>]*data-cadre-id="{cadre_id}".*?</tr>',
                      page, re.S)
    assert match, f"no {testid} row of cadre {cadre_id}"
    return match.group(0)


def cell(html: str, col: str) -> int:
    match = re.search(rf'data-col="{col}"[^>]*>\s*(?:<span[^>]*>)?\s*(\d+)', html)
    assert match, f"no {col} cell"
    return int(match.group(1))


def number(text: str) -> int:
    return int(re.match(r"\d+", text.strip()).group(0))


@pytest.fixture
def more_of_october(world, device, october):  # noqa: F811
    """A plan done in September (six-one is the term's) and a meeting returned in October,
    fixed and resubmitted since (every return counts)."""
    sync(device(world.sec1), record("action", "2026-09-10T10:00:00+08:00", action_type="plan",
                                    title="村级三年发展规划", state="done", done_on="2026-09-10"))
    db.session.add(ReviewDecision(record_type="meeting", record_id=october["meeting"]["id"],
                                  version=1, decision="returned", comment="请补签到表",
                                  reviewer_id=world.sup_t1.id,
                                  decided_at=datetime(2026, 10, 13, 2, 0)))
    db.session.commit()
    return october


def desk_figures(client, world) -> dict[str, dict[str, int]]:
    """Read October's figures of sec1 from every desk page."""
    cadre = world.sec1.id
    seen = {}
    page = client.get(f"/report/township/{world.t1.id}/2026-10").get_data(as_text=True)
    r = row(page, "township-row", cadre)
    seen["township report"] = {
        "days": number(tag(r, "row-days", r)["text"]),
        **{k: number(tag(r, f"row-{k}", r)["text"]) for k in (
            "visits", "sanlao", "sanhu", "meetings", "opened", "closed", "overdue", "leave",
            "returned")},
        "six_one": number(tag(r, "row-six-one", r)["text"])}
    page = client.get(f"/report/cadre/{cadre}/2026-10").get_data(as_text=True)
    summary = re.findall(r"<b>(\d+)</b>", re.search(
        r'data-testid="report-visit-summary".*?</p>', page, re.S).group(0))
    seen["cadre report"] = {
        "days": number(re.search(r'data-testid="report-days"[^>]*><b>(\d+)', page).group(1)),
        "visits": int(summary[0]), "sanlao": int(summary[1]), "sanhu": int(summary[2]),
        "meetings": int(tag(page, "report-meetings")["total"]),
        "six_one": int(tag(page, "report-six-one-done")["n"]),
        **{k: number(tag(page, f"report-{k}")["text"]) for k in (
            "opened", "closed", "overdue", "returned")},
        "leave": number(tag(page, "report-leave")["text"])}
    page = client.get("/progress/?period=2026-10").get_data(as_text=True)
    r = row(page, "progress-row", cadre)
    seen["progress table"] = {
        "days": cell(r, "days"), "visits": cell(r, "visits"), "sanlao": cell(r, "sanlao"),
        "sanhu": cell(r, "sanhu"), "meetings": cell(r, "meetings"),
        "six_one": cell(r, "six_one"), "opened": cell(r, "ledger_opened"),
        "closed": cell(r, "ledger_resolved"), "overdue": cell(r, "ledger_overdue"),
        "leave": cell(r, "leave"), "returned": cell(r, "returned")}
    page = client.get(f"/progress/cadre/{cadre}?period=2026-10").get_data(as_text=True)
    visits, ledger, leave = (tag(page, "stat-visits"), tag(page, "stat-ledger"),
                             tag(page, "stat-leave"))
    seen["cadre page"] = {
        "days": int(tag(page, "stat-days")["value"]), "visits": int(visits["value"]),
        "sanlao": int(visits["sanlao"]), "sanhu": int(visits["sanhu"]),
        "meetings": int(tag(page, "stat-meetings")["value"]),
        "six_one": int(tag(page, "stat-six-one")["n"]), "opened": int(ledger["value"]),
        "closed": int(ledger["resolved"]), "overdue": int(ledger["overdue"]),
        "leave": int(leave["value"]), "returned": int(leave["returned"])}
    page = client.get("/scoring/?period=2026-10").get_data(as_text=True)
    r = tag(row(page, "score-row", cadre), "score-row")
    seen["scoring"] = {"days": int(r["days"]), "visits": int(r["visits"]),
                       "meetings": int(r["meetings"]), "six_one": int(r["six-one"]),
                       "opened": int(r["opened"]), "closed": int(r["resolved"]),
                       "leave": int(r["leave"]), "returned": int(r["returned"])}
    return seen


def test_every_page_gives_the_same_figures_of_a_month(client, today_is, world,
                                                       more_of_october, login):
    today_is(date(2026, 11, 18))
    login("sup_t1")
    seen = desk_figures(client, world)
    for page, figures in seen.items():
        assert figures == {k: OCTOBER[k] for k in figures}, page
    login("sec1")
    page = client.get("/m/month?m=2026-10").get_data(as_text=True)
    assert {"days": number(tag(page, "days-in-village")["text"]),
            "visits": number(tag(page, "visits-total")["text"]),
            "meetings": number(tag(page, "meetings-total")["text"]),
            "six_one": number(tag(page, "six-one-done")["text"]),
            "opened": number(tag(page, "ledger-opened")["text"]),
            "closed": number(tag(page, "ledger-closed")["text"]),
            "leave": number(tag(page, "leave-days")["text"]),
            "returned": number(tag(page, "returned-count")["text"])} == {
        k: OCTOBER[k] for k in ("days", "visits", "meetings", "six_one", "opened", "closed",
                                "leave", "returned")}
    # Its list of the six agrees with its count: the September plan is done in the term.
    assert 'data-testid="six-one" data-type="plan" data-state="done"' in page


# --- a running month: one prorating rule, said on every page ----------------------------------

def test_days_target_prorates_a_running_month_only():
    november = (date(2026, 11, 1), date(2026, 11, 30))
    assert days_target(20, *november, date(2026, 11, 3)) == (20, 2, True)  # 20 × 3/30
    assert days_target(20, *november, date(2026, 11, 15)) == (20, 10, True)
    assert days_target(20, *november, date(2026, 11, 30)) == (20, 20, True)
    assert days_target(20, *november, date(2026, 12, 1)) == (20, 20, False)
    assert days_target(20, *november, date(2026, 10, 31)) == (20, 0, False)
    assert days_target(3, *november, date(2026, 11, 5)) == (3, 1, True)  # 0.5 rounds up
    assert days_target(20, date(2026, 10, 1), date(2026, 12, 31), date(2026, 12, 31)).required \
        == 60


@pytest.fixture
def third_of_november(today_is, world, device, october):  # noqa: F811
    """10:00 on 3 November: sec1 was in the village on the 1st (october's late visit), 2nd, 3rd."""
    today_is(date(2026, 11, 3))
    sync(device(world.sec1), visit(world.h1[0], "2026-11-02T09:00:00+08:00"),
         visit(world.h1[1], "2026-11-03T09:00:00+08:00"))


RUNNING = "本月进行中，按已过天数折算"


def test_a_running_month_is_prorated_and_said_so_everywhere(client, world, third_of_november,
                                                            login):
    cadre = world.sec1.id
    login("sec1")
    page = client.get("/m/month").get_data(as_text=True)
    assert (tag(page, "days-in-village")["text"], tag(page, "days-expected")["text"]) == ("3",
                                                                                        "2")
    assert tag(page, "days-state")["state"] == "reached" and RUNNING in page
    page = client.get("/m/attendance").get_data(as_text=True)
    summary = tag(page, "attendance-summary")
    assert (summary["village-days"], summary["expected"], summary["running"]) == ("3", "2", "1")
    assert "is-below" not in page and RUNNING in page
    page = client.get(f"/report/cadre/{cadre}/2026-11").get_data(as_text=True)
    assert tag(page, "report-days")["expected"] == "2" and RUNNING in page
    assert 'class="ft-flag"' not in page
    login("sup_t1")
    page = client.get(f"/report/township/{world.t1.id}/2026-11").get_data(as_text=True)
    r = row(page, "township-row", cadre)
    assert tag(r, "row-days", r)["short"] == "0" and "/2<" in r and RUNNING in page
    page = client.get("/progress/").get_data(as_text=True)
    r = row(page, "progress-row", cadre)
    assert cell(r, "days") == 3 and "/ 2<" in r and 'data-testid="below"' not in r
    assert RUNNING in page
    page = client.get(f"/progress/cadre/{cadre}").get_data(as_text=True)
    stat = tag(page, "stat-days")
    assert (stat["value"], stat["expected"], stat["running"]) == ("3", "2", "1")
    assert RUNNING in page
    page = client.get("/attendance").get_data(as_text=True)
    r = row(page, "cadre-row", cadre)
    assert tag(r, "days-expected", r)["text"] == "/2" and tag(r, "cadre-row", r)["below"] == "0"
    assert RUNNING in page
    page = client.get("/scoring/").get_data(as_text=True)
    assert tag(row(page, "score-row", cadre), "score-row")["provisional"] == "1"
    assert 'data-testid="provisional-note"' in page and "暂定" in page
    page = client.get(f"/scoring/{cadre}").get_data(as_text=True)
    assert 'data-testid="provisional"' in page


def test_a_past_month_asks_the_whole_threshold_and_says_nothing_of_running(
        client, world, third_of_november, login):
    cadre = world.sec1.id
    login("sup_t1")
    for url in (f"/report/township/{world.t1.id}/2026-10", f"/report/cadre/{cadre}/2026-10",
                "/progress/?period=2026-10", f"/progress/cadre/{cadre}?period=2026-10",
                "/attendance?month=2026-10", "/scoring/?period=2026-10"):
        page = client.get(url).get_data(as_text=True)
        assert RUNNING not in page and "本期进行中" not in page, url
        assert 'data-testid="provisional' not in page, url
    page = client.get(f"/progress/cadre/{cadre}?period=2026-10").get_data(as_text=True)
    assert tag(page, "stat-days")["expected"] == "20"
    login("sec1")
    page = client.get("/m/attendance?month=2026-10").get_data(as_text=True)
    assert tag(page, "attendance-summary")["expected"] == "20" and RUNNING not in page
    page = client.get("/m/month?m=2026-10").get_data(as_text=True)
    assert tag(page, "days-state")["state"] == "short" and RUNNING not in page


# --- each figure names its period -------------------------------------------------------------

def test_term_and_month_figures_are_labelled(client, world, third_of_november, login):
    login("sec1")
    page = client.get("/m/").get_data(as_text=True)
    label = tag(page, "month-households-label")
    assert label["period"] == "month" and label["text"] == "本月已走访户数"
    page = client.get("/m/actions").get_data(as_text=True)
    board = re.search(r'data-testid="board-visit_all".*?</li>', page, re.S).group(0)
    assert tag(board, "period-tag", board) == {"testid": "period-tag", "period": "term",
                                               "text": "本届任期"}
    page = client.get("/m/month").get_data(as_text=True)
    six = re.search(r'id="mo-six".*?</h2>', page, re.S).group(0)
    visits = re.search(r'id="mo-visits".*?</h2>', page, re.S).group(0)
    assert tag(six, "period-tag", six)["period"] == "term"
    assert tag(visits, "period-tag", visits)["period"] == "month"
    login("sup_t1")
    page = client.get("/progress/").get_data(as_text=True)
    assert tag(page, "sort-six_one")["text"].endswith(" · 本届任期")
    assert tag(page, "sort-coverage")["text"].endswith(" · 本月")
    page = client.get(f"/progress/cadre/{world.sec1.id}").get_data(as_text=True)
    assert tag(page, "period-tag")["period"] in ("month", "term")
    assert 'data-period="term"' in page and 'data-period="month"' in page
    page = client.get(f"/report/cadre/{world.sec1.id}/2026-11").get_data(as_text=True)
    assert 'data-period="term"' in page and 'data-period="month"' in page
    page = client.get(f"/report/township/{world.t1.id}/2026-11").get_data(as_text=True)
    assert "本届任期" in page


def test_the_month_record_and_progress_count_alike(today_is, world, more_of_october):
    """The services themselves agree: six-one over the term, every return of the month."""
    from fieldlog.services.reporting.figures import cadre_figures
    from fieldlog.services.reporting.month import month_record
    from fieldlog.services.reporting.period import Period

    today_is(date(2026, 11, 18))
    month = month_record(world.sec1, 2026, 10)
    figures = cadre_figures([world.sec1.id], Period.month(2026, 10))[world.sec1.id]
    assert (month.six_one_done, figures.six_one_done) == (2, 2)
    assert (month.returned, figures.returned) == (2, 2)
    assert (month.days_in_village, figures.days_in_village) == (7, 7)
