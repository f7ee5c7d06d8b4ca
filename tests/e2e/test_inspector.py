"""An inspector draws a spot-check sample, calls a household back and records 不属实;
the township supervisor then finds it on the cadre's findings. Desktop viewport, headless Chromium.

Screenshots: test-artifacts/e2e/inspector-*.png (look at them).
"""
import json
import uuid
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from fieldlog.models import AuditEntry, CheckTask, Flag, Household, User, Visit

NOTES = "户主说当天没有干部来过，记录与实际不符。"
SEED = 20261122


def shot(page, artifacts, name: str) -> None:
    page.evaluate("() => window.scrollTo(0, 0)")  # sticky bars are drawn where the view was
    page.screenshot(path=str(artifacts / f"inspector-{name}.png"), full_page=True,
                    animations="disabled", caret="initial")


def sign_in(page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(lambda url: "/login" not in url)


def seed_records(server) -> None:
    """Recent visits by all three cadres; one of sec1's carries an unexplained flag."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with server.db() as session:
        users = {u.username: u for u in session.scalars(select(User))}
        households = {}
        for h in session.scalars(select(Household).order_by(Household.house_label)):
            households.setdefault(h.village_id, []).append(h)
        made = []
        for name, count in (("sec1", 3), ("sec2", 1), ("sec3", 1)):
            sec = users[name]
            for n in range(count):
                household = households[sec.scope_unit_id][n]
                when = now - timedelta(hours=3 + n)
                visit = Visit(id=str(uuid.uuid4()), author_id=sec.id, village_id=sec.scope_unit_id,
                              household_id=household.id, occurred_at=when,
                              device_created_at=when, heard="老人说屋顶漏雨，希望帮忙联系维修。",
                              requests="修屋顶", follow_up=True, lat=26.5806, lon=106.7104,
                              accuracy_m=15, content_hash="0" * 64)
                session.add(visit)
                made.append(visit)
        session.flush()
        session.add(Flag(record_type="visit", record_id=made[0].id, author_id=made[0].author_id,
                         village_id=made[0].village_id, kind="backfill",
                         params=json.dumps({"count": 6})))
        session.commit()


def test_inspector_checks_a_record_by_phone_and_the_supervisor_sees_it(browsing, live_server,
                                                                      artifacts):
    server = live_server
    seed_records(server)
    today = datetime.now(UTC).date()

    page = browsing.desktop().new_page()
    sign_in(page, "inspector", server.password)
    page.goto("/inspect/")
    expect(page.get_by_test_id("draw-form")).to_be_visible()
    page.get_by_test_id("draw-start").fill((today - timedelta(days=7)).isoformat())
    page.get_by_test_id("draw-end").fill((today + timedelta(days=1)).isoformat())
    page.get_by_test_id("draw-size").fill("4")
    page.get_by_test_id("draw-seed").fill(str(SEED))
    shot(page, artifacts, "1-draw")
    page.get_by_test_id("draw-submit").click()

    page.wait_for_url("**/inspect/samples/*")
    expect(page.get_by_test_id("sample-seed")).to_have_text(str(SEED))
    rows = page.get_by_test_id("task-row")
    expect(rows).to_have_count(4)
    expect(page.get_by_test_id("sample-progress")).to_contain_text("0")
    shot(page, artifacts, "2-sample")

    # Work one of sec1's records.
    row = rows.filter(has_text="SEC1").first
    row.get_by_test_id("open-task").click()
    page.wait_for_url("**/inspect/tasks/*")
    task_id = int(page.url.rsplit("/", 1)[1])
    with server.db() as session:
        task = session.get(CheckTask, task_id)
        phone = session.get(Household, task.household_id).phone
    expect(page.get_by_test_id("record-facts")).to_contain_text("老人说屋顶漏雨")
    expect(page.get_by_test_id("reveal-phone")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text(phone)
    shot(page, artifacts, "3-task")

    page.get_by_test_id("method-phone").click()
    page.wait_for_url(f"**/inspect/tasks/{task_id}")
    expect(page.get_by_test_id("method-phone")).to_have_attribute("aria-pressed", "true")
    with page.expect_response(lambda r: r.url.endswith(f"/tasks/{task_id}/reveal")) as answer:
        page.get_by_test_id("reveal-phone").click()
    assert answer.value.headers["cache-control"] == "no-store"
    expect(page.get_by_test_id("revealed-phone")).to_have_text(phone)
    expect(page.get_by_test_id("revealed-phone")).to_have_attribute("href", f"tel:{phone}")
    shot(page, artifacts, "4-phone")

    expect(page.get_by_test_id("outcome-method")).to_have_value("phone")
    page.locator("label.choice-not_as_recorded").click()
    expect(page.get_by_test_id("outcome-not_as_recorded")).to_be_checked()
    page.get_by_test_id("outcome-notes").fill(NOTES)
    page.get_by_test_id("outcome-submit").click()
    page.wait_for_url(f"**/inspect/samples/*#t{task_id}")
    done_row = page.locator(f"#t{task_id}")
    expect(done_row.locator("[data-outcome]")).to_have_attribute("data-outcome",
                                                                 "not_as_recorded")
    expect(page.locator(".flash-success")).to_be_visible()
    shot(page, artifacts, "5-recorded")

    with server.db() as session:
        task = session.get(CheckTask, task_id)
        assert (task.method, task.outcome, task.notes) == ("phone", "not_as_recorded", NOTES)
        reveals = session.scalars(select(AuditEntry).where(AuditEntry.action == "phone.reveal"))
        reasons = [json.loads(e.details)["reason"] for e in reveals]
        assert reasons == [f"电话回访 抽查任务 #{task_id}"]
        cadre_id = task.author_id

    # The township supervisor finds it on the cadre's findings.
    boss = browsing.desktop().new_page()
    sign_in(boss, "sup_t1", server.password)
    boss.goto("/inspect/summary")
    cadre_row = boss.locator(f'[data-testid="cadre-row"][data-cadre-id="{cadre_id}"]')
    expect(cadre_row.locator('[data-col="not_as_recorded"]')).to_have_text("1")
    expect(boss.locator('[data-testid="cadre-row"]')).to_have_count(2)  # township T1 only
    cadre_row.get_by_test_id("cadre-link").click()
    boss.wait_for_url(f"**/inspect/summary?cadre={cadre_id}*")
    finding = boss.get_by_test_id("cadre-findings").get_by_test_id("finding")
    expect(finding).to_have_count(1)
    expect(finding).to_have_attribute("data-outcome", "not_as_recorded")
    expect(finding.get_by_test_id("finding-notes")).to_have_text(NOTES)
    expect(boss.locator("body")).not_to_contain_text(phone)
    shot(boss, artifacts, "6-supervisor")
