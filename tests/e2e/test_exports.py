"""A township supervisor downloads the month's 驻村工作台账 as XLSX from the exports page and
scores a cadre's manual item with a reason. Desktop viewport, headless Chromium.

Screenshots: test-artifacts/e2e/exports/*.png (look at them).
"""
import uuid
from datetime import UTC, datetime, timedelta

from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import select

from fieldlog.models import AuditEntry, Household, ManualScore, Meeting, User, Visit
from fieldlog.timefmt import local_today

REASON = "群众评价好，驻村扎实，主动协调修缮排水沟。"


def shot(page, artifacts, name: str) -> None:
    folder = artifacts / "exports"  # a folder of our own: other runs empty the top level
    folder.mkdir(exist_ok=True)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True,
                    animations="disabled", caret="initial")


def sign_in(page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(lambda url: "/login" not in url)


def seed(server) -> None:
    """This month: three visits and a meeting by sec1 (V1), one visit by sec3 (V3)."""
    now = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    with server.db() as session:
        users = {u.username: u for u in session.scalars(select(User))}
        for name, count in (("sec1", 3), ("sec3", 1)):
            sec = users[name]
            homes = session.scalars(select(Household).where(
                Household.village_id == sec.scope_unit_id).order_by(Household.house_label))
            for n, home in zip(range(count), homes, strict=False):
                when = now - timedelta(minutes=20 * n)
                session.add(Visit(id=str(uuid.uuid4()), author_id=sec.id,
                                  village_id=sec.scope_unit_id, household_id=home.id,
                                  occurred_at=when, device_created_at=when,
                                  heard="老人说屋顶漏雨，希望帮忙联系维修。", requests="修屋顶",
                                  lat=26.5806, lon=106.7104, accuracy_m=15,
                                  content_hash="0" * 64))
        sec1 = users["sec1"]
        session.add(Meeting(id=str(uuid.uuid4()), author_id=sec1.id,
                            village_id=sec1.scope_unit_id, occurred_at=now,
                            device_created_at=now, meeting_type="villagers_say",
                            title="村民说事：排水沟修缮", place="村委会", content_hash="0" * 64))
        session.commit()


def test_download_work_ledger_and_score_a_cadre(browsing, live_server, artifacts, tmp_path):
    server = live_server
    seed(server)
    with server.app.app_context():
        month = local_today().strftime("%Y-%m")
    desk = browsing.desktop().new_page()
    sign_in(desk, "sup_t1", server.password)

    # 1. The exports page: choose the month, download the work ledger as XLSX.
    desk.goto("/exports/")
    desk.get_by_test_id("export-period").fill(month)
    desk.get_by_test_id("export-apply").click()
    desk.wait_for_url(f"**period={month}**")
    expect(desk.get_by_test_id("record-form-row")).to_have_count(2)  # SEC1, SEC2 (T1)
    shot(desk, artifacts, "01-page")
    with desk.expect_download() as caught:
        desk.get_by_test_id("download-work_ledger-xlsx").click()
    download = caught.value
    assert download.suggested_filename.endswith(".xlsx")
    path = tmp_path / "ledger.xlsx"
    download.save_as(path)
    book = load_workbook(path, read_only=True)
    visits = [list(r) for r in book["走访记录"].iter_rows(values_only=True)]
    assert "驻村工作台账" in visits[0][0] and "SUP_T1" in visits[2][0]
    assert len(visits[4:]) == 3 and {r[1] for r in visits[4:]} == {server.world.village_v1}
    meetings = [list(r) for r in book["会议记录"].iter_rows(values_only=True)]
    assert meetings[4][6:8] == ["村民说事", "村民说事：排水沟修缮"]
    book.close()
    with server.db() as session:
        assert session.scalar(select(AuditEntry.action).where(
            AuditEntry.action == "export.work_ledger")) is not None

    # 2. The score table, then one cadre: score the manual item with a reason.
    desk.goto("/scoring/")
    row = desk.locator(f'[data-testid=score-row][data-cadre-id="{server.world.sec1_id}"]')
    expect(row).to_be_visible()
    expect(desk.get_by_test_id("score-row")).to_have_count(2)
    shot(desk, artifacts, "02-scores")
    before = float(row.get_attribute("data-total"))
    row.get_by_test_id("cadre-link").click()
    form = desk.get_by_test_id("manual-form-evaluation")
    form.get_by_test_id("manual-points").fill("88")
    form.get_by_test_id("manual-reason").fill(REASON)
    form.get_by_test_id("manual-save").click()
    expect(desk.get_by_test_id("item-evaluation").get_by_test_id("reason")).to_have_text(REASON)
    expect(desk.get_by_test_id("score-summary").get_by_test_id("total")).to_contain_text(
        f"{before + 88:g}")
    shot(desk, artifacts, "03-cadre")
    with server.db() as session:
        score = session.scalar(select(ManualScore))
        assert (score.points, score.reason, score.period) == (88.0, REASON, month)


def test_admin_rubric_page_refuses_a_rubric_that_does_not_add_up(browsing, live_server,
                                                                  artifacts):
    server = live_server
    desk = browsing.desktop().new_page()
    sign_in(desk, "admin", server.password)
    desk.goto("/admin/scoring")
    expect(desk.get_by_test_id("rubric-item")).to_have_count(9)
    text = desk.get_by_test_id("rubric-json").input_value()
    desk.get_by_test_id("rubric-json").fill(text.replace('"max": 200', '"max": 250', 1))
    desk.get_by_test_id("rubric-save").click()
    expect(desk.get_by_test_id("rubric-errors")).to_contain_text("1050")
    shot(desk, artifacts, "04-rubric-refused")
    with server.db() as session:
        assert session.scalar(select(AuditEntry).where(
            AuditEntry.action == "settings.update")) is None
