"""An admin imports a cadre list on a desk, sees the one-time passwords once, and a new team
member signs in on a phone, must change the password, and lands on the phone's home.

Screenshots: test-artifacts/e2e/people-*.png.
"""
import re

from playwright.sync_api import expect
from sqlalchemy import select

from fieldlog.models import Assignment, User
from tests.e2e.test_inspector import sign_in
from tests.e2e.test_offline_visit import shot
from tests.test_cadre_import import xlsx

ROWS = [
    ["张明", "13911110001", "县人社局", "第一书记", "南坪村", "2026-03-01", "2028-02-29"],
    ["李华", "13911110002", "县人社局", "工作队员", "V1", "2026-03-01", ""],
    ["赵强", "13911110003", "县农业农村局", "工作队员", "北堡村", "2026-04-01", ""],
]
NEW_PASSWORD = "Beibao-village-2026"


def _free_v2(server) -> None:
    """End SEC2's term in 南坪村 before March 2026: the file brings its next first secretary."""
    from datetime import date

    with server.db() as session:
        term = session.scalar(select(Assignment).join(User).where(User.username == "sec2"))
        term.end_date = date(2026, 2, 28)
        session.commit()


def _choose(page, data: bytes) -> None:
    page.get_by_test_id("cadre-file").set_input_files(files=[{
        "name": "驻村干部名单.xlsx", "buffer": data,
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])


def test_admin_imports_cadres_and_a_new_cadre_signs_in_on_the_phone(browsing, live_server,
                                                                    artifacts):
    _free_v2(live_server)
    desk = browsing.desktop().new_page()
    sign_in(desk, "admin", live_server.password)
    desk.goto("/admin/users")
    shot(desk, artifacts, "people-1-users")
    desk.get_by_test_id("import-cadres").click()
    desk.wait_for_url("**/admin/cadres/import")

    # A file with a mistake first: every row error is listed, nothing is imported.
    bad = [*ROWS, ["孙丽", "13911110001", "县财政局", "第一书记", "南坪村", "2027-01-01", ""]]
    _choose(desk, xlsx(bad))
    desk.get_by_test_id("upload").click()
    errors = desk.get_by_test_id("preview-errors")
    expect(errors).to_contain_text("第 5 行")
    expect(errors).to_contain_text("重复出现")
    shot(desk, artifacts, "people-2-import-errors", full_page=True)

    # The corrected file: a preview, then the import.
    data = xlsx(ROWS)
    _choose(desk, data)
    desk.get_by_test_id("upload").click()
    expect(desk.get_by_test_id("preview-summary")).to_contain_text("3 名新干部")
    expect(desk.get_by_test_id("preview-row")).to_have_count(3)
    shot(desk, artifacts, "people-3-import-preview", full_page=True)
    _choose(desk, data)
    desk.get_by_test_id("confirm").check()
    desk.get_by_test_id("upload").click()
    sheet = desk.get_by_test_id("password-sheet")
    expect(sheet).to_be_visible()
    expect(desk.get_by_test_id("issued-row")).to_have_count(3)
    expect(desk.get_by_test_id("once-note")).to_contain_text("只显示这一次")
    shot(desk, artifacts, "people-4-passwords", full_page=True)
    row = desk.locator('[data-testid="issued-row"][data-username="V1-1"]')
    expect(row).to_contain_text("李华")
    password = row.get_by_test_id("issued-password").inner_text().strip()
    assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", password), password

    # Shown once: going back to the import page does not show it again.
    desk.goto("/admin/cadres/import")
    assert password not in desk.content()
    desk.goto("/admin/teams")
    v1 = desk.locator('[data-testid="team-row"][data-village="V1"]')
    expect(v1).to_contain_text("李华")
    expect(v1).to_contain_text("赵强")
    expect(desk.locator('[data-testid="team-row"][data-village="V2"]')).to_contain_text("张明")
    shot(desk, artifacts, "people-5-teams")
    desk.locator('[data-testid="team-row"][data-village="V1"] a', has_text="李华").click()
    expect(desk.get_by_test_id("term-row")).to_have_count(1)
    expect(desk.get_by_test_id("terms")).to_contain_text("工作队员")
    expect(desk.get_by_test_id("move-form")).to_be_hidden()
    desk.get_by_test_id("move-open").click()
    expect(desk.get_by_test_id("move-form")).to_be_visible()
    shot(desk, artifacts, "people-5b-user-desk", full_page=True)

    # The new team member on their phone: a forced change, then the phone's home.
    phone = browsing.phone().new_page()
    sign_in(phone, "V1-1", password)
    phone.wait_for_url("**/account/password")
    expect(phone.get_by_test_id("must-change")).to_contain_text("一次性密码")
    shot(phone, artifacts, "people-6-phone-change")
    phone.get_by_test_id("current-password").fill(password)
    phone.get_by_test_id("new-password").fill(NEW_PASSWORD)
    phone.get_by_test_id("confirm-password").fill(NEW_PASSWORD)
    phone.get_by_test_id("password-submit").click()
    phone.wait_for_url("**/m/")
    expect(phone.get_by_test_id("record-visit")).to_be_visible()
    expect(phone.locator("body")).to_contain_text(live_server.world.village_v1)
    shot(phone, artifacts, "people-7-phone-home")

    # The admin's user page works on a phone too.
    admin_phone = browsing.phone().new_page()
    sign_in(admin_phone, "admin", live_server.password)
    admin_phone.goto("/admin/users/new")
    expect(admin_phone.get_by_test_id("user-form")).to_be_visible()
    shot(admin_phone, artifacts, "people-8-new-user-phone", full_page=True)

    # The one-time password no longer works.
    other = browsing.phone().new_page()
    other.goto("/login")
    other.get_by_test_id("login-username").fill("V1-1")
    other.get_by_test_id("login-password").fill(password)
    other.get_by_test_id("login-submit").click()
    expect(other).to_have_url(re.compile(r"/login"))
