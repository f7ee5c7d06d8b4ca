"""The secretary's month on the phone (offline too) and the printable monthly form on a desktop.

Screenshots: test-artifacts/e2e/month-*.png; the printed form: test-artifacts/e2e/report.pdf.
"""
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import select

from fieldlog.models import OrgUnit, User
from fieldlog.services.people.auth import issue_device_token
from tests.e2e.test_offline_visit import by_id, shot, sign_in, sign_in_secretary

ZONE = ZoneInfo("Asia/Shanghai")
CENTRE = {"lat": 26.5805, "lon": 106.7102, "accuracy_m": 9.0}
# A4 less the page margins of print.css, in CSS pixels (96 per inch).
A4_PORTRAIT = {"width": 703, "height": 1030}
A4_LANDSCAPE = {"width": 1047, "height": 703}


def _at(days_ago: int, hour: int) -> str:
    """A local time this month, `days_ago` days before today (never before the 1st)."""
    now = datetime.now(ZONE)
    day = max(now.date() - timedelta(days=days_ago), now.date().replace(day=1))
    moment = datetime(day.year, day.month, day.day, hour, tzinfo=ZONE)
    return min(moment, now - timedelta(minutes=5)).isoformat()


def _record(record_type: str, at: str, **fields) -> dict:
    return {"type": record_type, "id": str(uuid.uuid4()), "occurred_at": at,
            "device_created_at": at, "location": CENTRE, **fields}


def seed_month(server) -> None:
    """Send this month's records of sec1 through the sync API, as the phone would."""
    households = server.world.households_v1
    requests = ["希望硬化入户路。", "孙子上学路远，希望协调校车。", "",
                "申请临时救助，冬季取暖困难。", "希望给茶园修一条机耕道。"]
    records = [_record("visit", _at(n * 3 + 1, 9 + n), household_id=h.id,
                       heard="家中情况平稳。", requests=requests[n], follow_up=bool(requests[n]),
                       photo_ids=[]) for n, h in enumerate(households)]
    records += [
        _record("meeting", _at(6, 15), meeting_type="branch_assembly", title="支部党员大会",
                place="村委会", host="第一书记", expected_count=23, attended_count=21,
                topics="传达县委全会精神，研究冬季防火工作"),
        _record("meeting", _at(2, 19), meeting_type="villagers_say", title="村民说事",
                place="二组晒场", host="村主任", topics="集体经济分红方案"),
        _record("action", _at(5, 10), action_type="party_lecture", title="讲授专题党课",
                state="done", done_on=_at(5, 10)[:10]),
        _record("action", _at(4, 11), action_type="plan", title="北堡村三年发展规划",
                state="under_way"),
        _record("day_mark", _at(8, 9), day=_at(8, 9)[:10], kind="official",
                reason="training", note="县委组织部集中培训"),
    ]
    item = _record("ledger_item", _at(1, 10), household_id=households[3].id,
                   category="social_security", content="申请临时救助，冬季取暖困难",
                   handler="township", source={"type": "visit", "id": records[3]["id"]})
    with server.db() as session:
        user = session.get(User, server.world.sec1_id)
        _token, raw = issue_device_token(user, "e2e seed")
    client = server.app.test_client()
    headers = {"Authorization": f"Bearer {raw}"}
    for batch in (records, [item]):
        answer = client.post("/api/v1/sync", json={"records": batch}, headers=headers)
        assert answer.status_code == 200
        assert {r["status"] for r in answer.get_json()["results"]} == {"stored"}, answer.json


def test_secretary_month_on_the_phone_online_and_offline(browsing, live_server, artifacts):
    server = live_server
    seed_month(server)
    context = browsing.phone()
    page = context.new_page()
    sign_in_secretary(page, server)
    expect(by_id(page, "hub")).to_be_visible()
    shot(page, artifacts, "month-01-home-hub")

    by_id(page, "hub-month").tap()
    page.wait_for_url("**/m/month")
    expect(by_id(page, "visits-total")).to_have_text("5")
    expect(by_id(page, "meetings-total")).to_have_text("2")
    expect(by_id(page, "ledger-opened")).to_have_text("1")
    expect(page.locator('[data-testid=six-one][data-type=party_lecture]')).to_have_attribute(
        "data-state", "done")
    shot(page, artifacts, "month-02-phone")
    shot(page, artifacts, "month-03-phone-full", full_page=True)

    # No signal: the month still opens from the phone's cache.
    context.set_offline(True)
    response = page.reload()
    assert response is not None and response.from_service_worker
    expect(by_id(page, "visits-total")).to_have_text("5")
    shot(page, artifacts, "month-04-phone-offline")
    context.set_offline(False)

    # Last month, and back.
    by_id(page, "month-prev").tap()
    page.wait_for_url("**/m/month?m=*")
    expect(by_id(page, "visits-total")).to_have_text("0")
    by_id(page, "month-next").tap()
    page.wait_for_url("**/m/month")
    expect(by_id(page, "visits-total")).to_have_text("5")


def test_monthly_form_prints_on_a4(browsing, live_server, artifacts):
    server = live_server
    seed_month(server)
    with server.db() as session:
        township = session.scalar(select(OrgUnit.id).where(OrgUnit.code == "T1"))
    period = datetime.now(ZONE).strftime("%Y-%m")
    page = browsing.desktop().new_page()
    sign_in(page, "sup_t1", server.password)
    page.goto(f"/report/township/{township}/{period}")
    rows = by_id(page, "township-row")
    expect(rows).to_have_count(2)
    expect(by_id(page, "total-visits")).to_have_text("5")
    shot(page, artifacts, "month-05-township-report", full_page=True)
    page.emulate_media(media="print")
    page.set_viewport_size(A4_LANDSCAPE)  # the printable width, to see the sheet as printed
    shot(page, artifacts, "month-06-township-print", full_page=True)
    page.pdf(path=str(artifacts / "township-report.pdf"), prefer_css_page_size=True,
             print_background=True)
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 1280, "height": 860})

    page.locator('[data-testid=cadre-link]').first.click()
    page.wait_for_url(f"**/report/cadre/{server.world.sec1_id}/{period}")
    expect(by_id(page, "cadre-report")).to_be_visible()
    expect(by_id(page, "report-visit")).to_have_count(5)
    expect(by_id(page, "report-meeting")).to_have_count(2)
    expect(by_id(page, "report-unit")).to_have_text("县农业农村局")
    shot(page, artifacts, "month-07-cadre-report", full_page=True)

    page.emulate_media(media="print")
    page.set_viewport_size(A4_PORTRAIT)
    expect(page.locator(".topbar")).to_be_hidden()
    expect(by_id(page, "report-bar")).to_be_hidden()
    shot(page, artifacts, "month-08-cadre-print", full_page=True)
    pdf = page.pdf(path=str(artifacts / "report.pdf"), prefer_css_page_size=True,
                   print_background=True)
    assert pdf[:5] == b"%PDF-" and len(pdf) > 20_000
