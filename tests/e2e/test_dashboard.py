"""The county supervisor reads the progress of each cadre: sorts, filters, opens a cadre's page
with its activity calendar. Desktop viewport, headless Chromium.

Screenshots: test-artifacts/e2e/progress-*.png (look at them).
"""
import uuid
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from fieldlog.models import Household, Meeting, User, Visit
from fieldlog.timefmt import local_midnight_utc, local_today


def shot(page, artifacts, name: str) -> None:
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / f"progress-{name}.png"), full_page=True,
                    animations="disabled", caret="initial")


def sign_in(page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(lambda url: "/login" not in url)


def seed(server) -> dict[str, int]:
    """This month so far: sec1 visits on most days and holds two meetings, sec2 a few, sec3 none."""
    with server.db() as session:
        users = {u.username: u for u in session.scalars(select(User))}
        households: dict[int, list[Household]] = {}
        for h in session.scalars(select(Household).order_by(Household.house_label)):
            households.setdefault(h.village_id, []).append(h)
        today = local_today()
        now = datetime.now(UTC).replace(tzinfo=None)
        first = today.replace(day=1)
        for name, every in (("sec1", 1), ("sec2", 4)):
            sec = users[name]
            village = sec.scope_unit
            day = first
            n = 0
            while day <= today:
                when = min(local_midnight_utc(day) + timedelta(hours=2 + n % 6), now
                           - timedelta(minutes=30))
                # sec1 out-visits sec2 even on the 1st of a month (two visits that day)
                for k in range(2 + n % 3 if every == 1 else 1):
                    home = households[village.id][(n + k) % len(households[village.id])]
                    session.add(Visit(
                        id=str(uuid.uuid4()), author_id=sec.id, village_id=village.id,
                        household_id=home.id, occurred_at=when + timedelta(minutes=40 * k),
                        device_created_at=when, heard="老人说屋顶漏雨。", requests="",
                        lat=village.lat + 0.001, lon=village.lon + 0.001, accuracy_m=10,
                        content_hash=uuid.uuid4().hex * 2))
                n += 1
                day += timedelta(days=every)
        for k, kind in enumerate(("branch_committee", "villagers_say")):
            when = local_midnight_utc(first) + timedelta(hours=3 + k)
            session.add(Meeting(id=str(uuid.uuid4()), author_id=users["sec1"].id,
                                village_id=users["sec1"].scope_unit_id, meeting_type=kind,
                                topics="研究排水沟修缮", occurred_at=when, device_created_at=when,
                                content_hash=uuid.uuid4().hex * 2))
        session.commit()
        return {name: users[name].id for name in ("sec1", "sec2", "sec3")}


def row_ids(page) -> list[int]:
    return [int(x) for x in page.get_by_test_id("progress-row").evaluate_all(
        "rows => rows.map(r => r.dataset.cadreId)")]


def test_supervisor_sorts_filters_and_opens_a_cadre(browsing, live_server, artifacts):
    ids = seed(live_server)
    with live_server.app.app_context():
        today = local_today()
    page = browsing.desktop().new_page()
    sign_in(page, "sup_county", live_server.password)
    page.goto("/progress/")
    expect(page.get_by_test_id("progress-table")).to_be_visible()
    expect(page.get_by_test_id("progress-row")).to_have_count(3)
    expect(page.get_by_test_id("period-month")).to_have_attribute("aria-current", "true")
    shot(page, artifacts, "table")

    page.get_by_test_id("sort-visits").click()  # a number column sorts largest first
    page.wait_for_url("**sort=visits**")
    assert row_ids(page) == [ids["sec1"], ids["sec2"], ids["sec3"]]
    page.get_by_test_id("sort-visits").click()
    page.wait_for_url("**dir=asc**")
    assert row_ids(page) == [ids["sec3"], ids["sec2"], ids["sec1"]]

    page.get_by_test_id("filter-village").select_option(label="南坪村")
    page.get_by_test_id("filter-apply").click()
    expect(page.get_by_test_id("progress-row")).to_have_count(1)
    assert row_ids(page) == [ids["sec2"]]
    page.get_by_test_id("filter-village").select_option(value="")
    page.get_by_test_id("filter-below").check()
    page.get_by_test_id("filter-apply").click()
    expect(page.get_by_test_id("progress-row").first).to_be_visible()
    assert ids["sec3"] in row_ids(page)

    page.goto("/progress/?sort=visits&dir=desc")
    page.get_by_test_id("cadre-link").first.click()
    page.wait_for_url(f"**/progress/cadre/{ids['sec1']}**")
    calendar = page.get_by_test_id("activity-calendar")
    expect(calendar).to_be_visible()
    cell = calendar.locator(f'td[data-day="{today.isoformat()}"]')
    expect(cell).to_have_attribute("data-kind", "records")
    assert int(cell.get_attribute("data-n")) >= 1
    expect(page.get_by_test_id("meetings-by-type").locator(
        'tr[data-type="branch_committee"] td')).to_have_text("1")
    expect(page.get_by_test_id("recent-record").first).to_be_visible()
    shot(page, artifacts, "cadre")

    page.get_by_test_id("period-year").click()
    expect(page.get_by_test_id("cal-month")).to_have_count(today.month)
    shot(page, artifacts, "cadre-year")
