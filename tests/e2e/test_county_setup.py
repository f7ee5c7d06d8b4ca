"""A county sets itself up (issue 13), end to end, from an empty database.

The operator does what README's "A new county" says: `flask org add-root` then
`flask create-user --role admin` (run here through Flask's CLI runner, exactly those
commands). From there everything goes through the pages, on a desk: the tree XLSX
(1 county, 3 townships, 20 villages), village boundaries (GeoJSON), a cadre XLSX of 20
cadres (first secretaries and team members), a household register XLSX for each village;
then a first secretary signs in on a phone with the one-time password, chooses their own,
records a visit in the new village and the visit reaches the server.

On the way the admin uploads the bad files a county really sends — wrong headers, a
duplicate 村代码, a polygon that misses its village centre, an unknown village, a phone
already used — and each is refused with its message and changes nothing.

Screenshots: test-artifacts/e2e/setup/*.png (look at them).
"""
import io
import json
import shutil
import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from openpyxl import Workbook
from playwright.sync_api import expect
from sqlalchemy import func, select
from werkzeug.serving import make_server

from fieldlog import create_app
from fieldlog.extensions import db
from fieldlog.models import Assignment, Household, OrgUnit, User, Visit
from fieldlog.timefmt import local_today
from tests.e2e.conftest import Browsing, LiveServer
from tests.e2e.test_offline_visit import (
    SYNC_TIMEOUT_MS,
    by_id,
    choose_household,
    open_visit_form,
    sign_in,
    wait_for_db,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ADMIN, ADMIN_PASSWORD = "qingyan-admin", "Qingyan-county-2026"
CADRE_PASSWORD = "Shangzhai-village-2026"
COUNTY, COUNTY_CODE = "青岩县", "520199"
TOWNSHIPS = {"城关镇": "101", "龙岗镇": "102", "双溪镇": "103"}
VILLAGE_NAMES = {
    "城关镇": ["上寨村", "下寨村", "东门村", "西门村", "南关村", "北关村", "新华村"],
    "龙岗镇": ["龙岗村", "龙井村", "石板村", "杉树村", "茶园村", "营盘村", "坪上村"],
    "双溪镇": ["双溪村", "水口村", "河坝村", "松林村", "桃园村", "高坡村"],
}
# The phone stands a few hundred metres from 上寨村's centre (conftest's PHONE_GPS).
FIRST_CENTRE = (26.5800, 106.7100)
HOUSEHOLD_HEADS = ["王德明", "李秀英", "张国富", "刘桂兰", "陈长生", "杨玉珍"]
TAGS = ["老党员", "困难户", "", "富裕户", "脱贫监测户", "上访户"]


def villages() -> list[SimpleNamespace]:
    """20 villages with 12-digit codes, centres about 2 km apart."""
    out = []
    for t, (town, suffix) in enumerate(TOWNSHIPS.items()):
        for n, name in enumerate(VILLAGE_NAMES[town]):
            lat = FIRST_CENTRE[0] + 0.02 * t + 0.004 * n
            lon = FIRST_CENTRE[1] + 0.018 * n
            out.append(SimpleNamespace(town=town, name=name, lat=round(lat, 5),
                                       lon=round(lon, 5), radius=1000,
                                       code=f"{COUNTY_CODE}{suffix}{201 + n:03d}"))
    return out


def book(header: list, rows: list) -> bytes:
    wb = Workbook()
    sheet = wb.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def tree_file(rows=None) -> bytes:
    return book(["县", "乡镇", "村", "村代码", "中心纬度", "中心经度", "半径(米)"],
                rows if rows is not None else
                [[COUNTY, v.town, v.name, v.code, v.lat, v.lon, v.radius] for v in villages()])


def ring(lat: float, lon: float, d: float = 0.006) -> list:
    return [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d],
            [lon - d, lat - d]]


def boundary_file(features: list[tuple[str, list]]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"村代码": code},
         "geometry": {"type": "Polygon", "coordinates": [coords]}} for code, coords in features]},
        ensure_ascii=False).encode()


CADRE_HEADER = ["姓名", "手机号", "选派单位", "职务", "村", "任期起", "任期止"]
CADRE_NAMES = ["周建国", "吴海燕", "郑志强", "孙立新", "马晓东", "朱红梅", "胡文博", "郭春生",
               "何丽娟", "高振华", "林国栋", "罗小平", "梁永刚", "宋雅琴", "谢宏伟", "韩冬梅",
               "唐俊杰", "冯秀兰", "董建平", "曹明辉"]
UNITS = ["县委组织部", "县财政局", "县农业农村局", "县人社局", "县交通运输局"]


def cadre_rows(start: str) -> list[list]:
    """15 first secretaries (one each in villages 1–15) and 5 team members (villages 1–5)."""
    vs = villages()
    rows = []
    for i, name in enumerate(CADRE_NAMES):
        village = vs[i] if i < 15 else vs[i - 15]
        post = "第一书记" if i < 15 else "工作队员"
        rows.append([name, f"139{5200_0000 + i:08d}", UNITS[i % len(UNITS)], post,
                     village.code if i % 2 else village.name, start, ""])
    return rows


def register_file(village_index: int) -> bytes:
    return book(["户主姓名", "门牌号", "家庭人口", "联系电话", "类别"], [
        [head, f"{village_index + 1}组{n + 1}号", 2 + n % 4, f"138{village_index:04d}{n:04d}",
         TAGS[n]] for n, head in enumerate(HOUSEHOLD_HEADS)])


# --- the empty county's server ---------------------------------------------------------------

@pytest.fixture
def empty_server(sqlite_template, tmp_path):
    """The live app on a freshly migrated, empty SQLite database: no unit, no user."""
    path = tmp_path / "county.db"
    shutil.copy(sqlite_template, path)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "PHOTO_DIR": str(tmp_path / "photos"), "SECRET_KEY": "e2e-secret",
                      "SERVER_NAME": None})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-county", daemon=True)
    thread.start()
    try:
        yield LiveServer(base_url=f"http://127.0.0.1:{server.server_port}", app=app,
                         hits=[], password=ADMIN_PASSWORD)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def county_browsing(browser, empty_server):
    session = Browsing(browser, empty_server)
    try:
        yield session
    finally:
        session.close()
    assert not session.page_errors, "uncaught errors in the page:\n" + "\n".join(
        session.page_errors)


def shot(page, artifacts, name: str) -> None:
    folder = artifacts / "setup"
    folder.mkdir(exist_ok=True)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True, animations="disabled",
                    caret="initial")


def choose(page, testid: str, name: str, data: bytes, mime: str = XLSX) -> None:
    page.get_by_test_id(testid).set_input_files({"name": name, "mimeType": mime, "buffer": data})


def check(page, testid: str, name: str, data: bytes, mime: str = XLSX) -> None:
    """Choose a file and press 检查文件 (the preview)."""
    choose(page, testid, name, data, mime)
    page.get_by_test_id("upload").click()
    page.wait_for_load_state()


def check_then_import(page, testid: str, name: str, data: bytes, mime: str = XLSX) -> None:
    check(page, testid, name, data, mime)
    expect(page.get_by_test_id("confirm")).to_be_visible()
    choose(page, testid, name, data, mime)
    page.get_by_test_id("confirm").check()
    # An import answers when every row is written: for the cadre list that is a scrypt hash a
    # one-time password (~0.1 s each on a quiet core, seconds on a busy CI machine).
    page.get_by_test_id("upload").click(timeout=90_000)
    page.wait_for_load_state()


def count(server, model, *where) -> int:
    with server.db() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


# --- the test --------------------------------------------------------------------------------

def test_a_county_sets_itself_up_from_an_empty_database(county_browsing, empty_server,
                                                        artifacts):
    server = empty_server
    vs = villages()

    # 0. The operator: the county's root and its first admin, by the commands README names.
    cli = server.app.test_cli_runner()
    made = cli.invoke(args=["org", "add-root", COUNTY_CODE, COUNTY])
    assert made.exit_code == 0, made.output
    admin = cli.invoke(args=["create-user", ADMIN, "--name", "县委组织部", "--role", "admin",
                             "--unit", COUNTY_CODE, "--password", ADMIN_PASSWORD])
    assert admin.exit_code == 0, admin.output
    with server.db():
        today = local_today()
    start = (today - timedelta(days=30)).isoformat()

    desk = county_browsing.desktop().new_page()
    sign_in(desk, ADMIN, ADMIN_PASSWORD)
    desk.goto("/admin/org")
    expect(desk.get_by_test_id("org-row")).to_have_count(1)
    shot(desk, artifacts, "01-empty-county")

    # 1. The tree. First two bad files: wrong headers, then a 村代码 used twice.
    desk.get_by_test_id("org-import-link").click()
    check(desk, "import-file", "乡镇村名单.xlsx",
          book(["乡镇名称", "行政村", "编码"], [["城关镇", "上寨村", vs[0].code]]))
    expect(desk.get_by_test_id("import-error")).to_contain_text("表头缺少必需的列")
    shot(desk, artifacts, "bad-1-tree-wrong-headers")
    rows = [[COUNTY, v.town, v.name, v.code, v.lat, v.lon, v.radius] for v in vs]
    rows[5][3] = vs[4].code  # 北关村 given 南关村's code
    check(desk, "import-file", "村庄名单.xlsx", tree_file(rows))
    expect(desk.get_by_test_id("preview-errors")).to_contain_text(
        f"第 7 行，村代码：{vs[4].code} 重复出现（首次在第 6 行）")
    expect(desk.get_by_test_id("confirm")).to_have_count(0)
    shot(desk, artifacts, "bad-2-tree-duplicate-code")
    assert count(server, OrgUnit) == 1

    check_then_import(desk, "import-file", "村庄名单.xlsx", tree_file())
    desk.wait_for_url("**/admin/org")
    expect(desk.get_by_test_id("org-row")).to_have_count(24)  # 1 + 3 + 20
    shot(desk, artifacts, "02-tree-imported")

    # 2. Boundaries for the first township's villages; first one whose polygon misses the
    #    village centre (drawn around a point 3 km away).
    desk.get_by_test_id("org-boundaries-link").click()
    far = boundary_file([(vs[0].code, ring(vs[0].lat + 0.03, vs[0].lon))])
    check(desk, "boundary-file", "村界.geojson", far, "application/geo+json")
    expect(desk.get_by_test_id("feature-problem")).to_contain_text("村界不包含村中心点")
    shot(desk, artifacts, "bad-3-boundary-misses-centre")
    good = boundary_file([(v.code, ring(v.lat, v.lon)) for v in vs[:7]])
    check_then_import(desk, "boundary-file", "村界.geojson", good, "application/geo+json")
    desk.wait_for_url("**/admin/org")
    expect(desk.get_by_test_id("has-boundary")).to_have_count(7)

    # 3. The cadres, then two bad files: an unknown village, a phone already used.
    desk.goto("/admin/cadres/import")
    check_then_import(desk, "cadre-file", "驻村干部名单.xlsx",
                      book(CADRE_HEADER, cadre_rows(start)))
    expect(desk.get_by_test_id("issued-row")).to_have_count(20)
    shot(desk, artifacts, "03-one-time-passwords")
    first = desk.locator(f'[data-testid="issued-row"][data-username="{vs[0].code}-1"]')
    expect(first).to_contain_text(CADRE_NAMES[0])
    one_time = first.get_by_test_id("issued-password").inner_text().strip()

    desk.goto("/admin/cadres/import")
    check(desk, "cadre-file", "补充名单.xlsx", book(CADRE_HEADER, [
        ["彭志远", "13952009901", "县水务局", "第一书记", "青龙村", start, ""],
        ["邓丽华", "13952000000", "县水务局", "工作队员", vs[16].code, start, ""]]))
    errors = desk.get_by_test_id("preview-errors")
    expect(errors).to_contain_text("您管辖范围内没有村 青龙村")
    expect(errors).to_contain_text(f"该手机号已被 {CADRE_NAMES[0]}（{vs[0].code}-1）使用")
    shot(desk, artifacts, "bad-4-5-cadres-unknown-village-phone-used")
    assert count(server, User) == 21 and count(server, Assignment) == 20
    desk.goto("/admin/teams")
    expect(desk.get_by_test_id("team-row")).to_have_count(20)
    shot(desk, artifacts, "04-teams")

    # 4. A register for every village, each through its own page.
    with server.db() as session:
        village_ids = {u.code: u.id for u in session.scalars(
            select(OrgUnit).where(OrgUnit.kind == "village"))}
    for i, v in enumerate(vs):
        desk.goto(f"/register/?village={village_ids[v.code]}")
        check_then_import(desk, "import-file", f"{v.name}户籍台账.xlsx", register_file(i))
        expect(desk.get_by_test_id("register-item")).to_have_count(6)
        if i == 0:
            shot(desk, artifacts, "05-register-imported")
    assert count(server, Household) == 120

    # 5. 上寨村's first secretary on the phone: the one-time password, their own, a visit.
    context = county_browsing.phone()
    phone = context.new_page()
    sign_in(phone, f"{vs[0].code}-1", one_time)
    phone.wait_for_url("**/account/password")
    by_id(phone, "current-password").fill(one_time)
    by_id(phone, "new-password").fill(CADRE_PASSWORD)
    by_id(phone, "confirm-password").fill(CADRE_PASSWORD)
    by_id(phone, "password-submit").click()
    phone.wait_for_url("**/m/")
    expect(phone.locator("body")).to_contain_text(vs[0].name)
    expect(phone.locator("html")).to_have_attribute("data-offline-ready", "1", timeout=30_000)
    shot(phone, artifacts, "06-phone-home")
    with server.db() as session:
        hh = session.scalars(select(Household).where(
            Household.village_id == village_ids[vs[0].code],
            Household.head_name == HOUSEHOLD_HEADS[1])).one()
        household = SimpleNamespace(id=hh.id, head_name=hh.head_name)
    open_visit_form(phone)
    choose_household(phone, household.head_name, household)
    by_id(phone, "heard").fill("老人腿脚不便，希望村里帮忙修一下门前的路。")
    shot(phone, artifacts, "07-phone-visit")
    by_id(phone, "save-visit").tap()
    phone.wait_for_url("**/m/")
    expect(by_id(phone, "outbox-card")).to_have_attribute("data-state", "empty",
                                                          timeout=SYNC_TIMEOUT_MS)
    visit = wait_for_db(server, lambda s: s.scalars(
        select(Visit).where(Visit.household_id == household.id)).first())
    assert visit is not None and visit.village_id == village_ids[vs[0].code]
    shot(phone, artifacts, "08-phone-synced")
