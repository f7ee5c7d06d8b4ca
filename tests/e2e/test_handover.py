"""The handover list (交接清单): a supervisor opens it from the progress table and prints it; the
incoming cadre opens it from the phone's home and goes on to an inherited ledger item.

Screenshots: test-artifacts/e2e/handover-*.png; the printed list: test-artifacts/e2e/handover.pdf.
"""
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import select

from fieldlog.models import Assignment, User
from fieldlog.services.people.auth import issue_device_token
from tests.e2e.test_month import A4_PORTRAIT
from tests.e2e.test_offline_visit import by_id, shot, sign_in

ZONE = ZoneInfo("Asia/Shanghai")


def _day(days_ago: int) -> date:
    return datetime.now(ZONE).date() - timedelta(days=days_ago)


def _record(record_type: str, days_ago: int, **fields) -> dict:
    at = datetime.combine(_day(days_ago), time(10), ZONE).isoformat()
    return {"type": record_type, "id": str(uuid.uuid4()), "occurred_at": at,
            "device_created_at": at, **fields}


def seed_handover(server, password_hash: str) -> dict:
    """End sec1's term five days ago, assign 李接任 (sec1b) from the next day, and send sec1's
    records of the term through the sync API; return the term id and an inherited item's id."""
    with server.db() as session:
        term = session.scalar(select(Assignment).where(
            Assignment.user_id == server.world.sec1_id))
        term.end_date = _day(5)
        village_id = term.village_id
        successor = User(username="sec1b", display_name="李接任", role="secretary",
                         scope_unit_id=village_id, password_hash=password_hash)
        session.add(successor)
        session.flush()
        session.add(Assignment(user_id=successor.id, village_id=village_id,
                               start_date=_day(4), dispatching_unit="县教育局"))
        session.commit()
        term_id = term.id
        _token, raw = issue_device_token(session.get(User, server.world.sec1_id), "e2e seed")
    h = server.world.households_v1
    items = [
        _record("ledger_item", 40, household_id=h[0].id, category="infrastructure",
                content="屋后排水沟堵塞，雨天积水进屋，希望修缮", handler="village_committee",
                due_date=_day(12).isoformat()),
        _record("ledger_item", 25, household_id=h[3].id, category="social_security",
                content="申请临时救助，冬季取暖困难", handler="township", handler_note="民政办"),
        _record("ledger_item", 18, household_id=None, raiser_name="三组村民代表",
                category="industry_jobs", content="希望组织茶叶种植技能培训"),
        _record("ledger_item", 30, household_id=h[1].id, category="environment",
                content="垃圾收集点太远"),
    ]
    records = [
        _record("visit", 20, household_id=h[0].id, heard="家中情况平稳。", requests="",
                follow_up=False, photo_ids=[]),
        _record("visit", 15, household_id=h[2].id, heard="老人身体尚可。", requests="",
                follow_up=False, photo_ids=[]),
        _record("meeting", 22, meeting_type="branch_assembly", title="支部党员大会",
                place="村委会", host="第一书记", topics="研究发展党员"),
        _record("action", 60, action_type="pledge", title="年内硬化三组入户路 1.2 公里",
                description="已争取交通局项目资金，待开工", state="under_way",
                due_date=_day(10).isoformat()),
        _record("action", 50, action_type="practical_deed", title="为村小学修缮食堂",
                state="planned"),
        _record("goal", 90, goal_type="project", title="引进一家茶叶加工企业",
                target="建成一条精制茶生产线，带动 30 户就业", progress="已与两家企业洽谈",
                state="under_way"),
    ]
    updates = [{"type": "ledger_update", "id": str(uuid.uuid4()), "item_id": items[1]["id"],
                "to_state": "in_progress", **{k: _record("x", 20)[k] for k in (
                    "occurred_at", "device_created_at")}},
               {"type": "ledger_update", "id": str(uuid.uuid4()), "item_id": items[3]["id"],
                "to_state": "resolved", **{k: _record("x", 12)[k] for k in (
                    "occurred_at", "device_created_at")}}]
    client = server.app.test_client()
    for batch in (records + items, updates):
        answer = client.post("/api/v1/sync", json={"records": batch},
                             headers={"Authorization": f"Bearer {raw}"})
        assert answer.status_code == 200
        assert {r["status"] for r in answer.get_json()["results"]} == {"stored"}, answer.json
    return {"term_id": term_id, "item_id": items[1]["id"], "resolved_id": items[3]["id"]}


def test_supervisor_opens_and_prints_the_handover(browsing, live_server, artifacts,
                                                  password_hash):
    seeded = seed_handover(live_server, password_hash)
    page = browsing.desktop().new_page()
    sign_in(page, "sup_t1", live_server.password)
    page.goto("/progress/?kind=term")
    row = page.locator(f'[data-testid="progress-row"][data-cadre-id="{live_server.world.sec1_id}"]')
    row.get_by_test_id("handover-link").click()
    page.wait_for_url(f"**/handover/{seeded['term_id']}")
    expect(by_id(page, "handover-incoming")).to_have_text("李接任")
    expect(by_id(page, "handover-item")).to_have_count(3)  # the resolved one is not handed over
    expect(page.locator(f'[data-id="{seeded["resolved_id"]}"]')).to_have_count(0)
    expect(by_id(page, "handover-action")).to_have_count(2)
    expect(by_id(page, "handover-goal")).to_have_count(1)
    expect(by_id(page, "overdue")).to_have_count(1)
    expect(by_id(page, "sum-meetings")).to_have_attribute("data-value", "1")
    expect(by_id(page, "sum-visits")).to_have_attribute("data-value", "2")
    shot(page, artifacts, "handover-01-desk", full_page=True)

    by_id(page, "handover-print").click()
    page.wait_for_url(f"**/handover/{seeded['term_id']}/print")
    expect(by_id(page, "sheet-item")).to_have_count(3)
    expect(by_id(page, "sheet-signs")).to_contain_text("监交人")
    shot(page, artifacts, "handover-02-print-screen", full_page=True)
    page.emulate_media(media="print")
    page.set_viewport_size(A4_PORTRAIT)
    expect(by_id(page, "report-bar")).to_be_hidden()
    shot(page, artifacts, "handover-03-print-a4", full_page=True)
    pdf = page.pdf(path=str(artifacts / "handover.pdf"), prefer_css_page_size=True,
                   print_background=True)
    assert pdf[:5] == b"%PDF-"


def test_incoming_cadre_opens_the_handover_on_the_phone(browsing, live_server, artifacts,
                                                        password_hash):
    seeded = seed_handover(live_server, password_hash)
    page = browsing.phone().new_page()
    sign_in(page, "sec1b", live_server.password)
    page.wait_for_url("**/m/")
    card = by_id(page, "home-handover")
    expect(card).to_have_attribute("data-side", "incoming")
    shot(page, artifacts, "handover-04-phone-home", show=card)
    card.tap()
    page.wait_for_url(f"**/handover/{seeded['term_id']}")
    expect(by_id(page, "handover-item")).to_have_count(3)
    shot(page, artifacts, "handover-05-phone-list", full_page=True)
    page.locator(f'[data-testid="handover-item"][data-id="{seeded["item_id"]}"] a').tap()
    page.wait_for_url(f"**/m/ledger/{seeded['item_id']}")
    expect(page.locator("body")).to_contain_text("申请临时救助")
    shot(page, artifacts, "handover-06-phone-item")
