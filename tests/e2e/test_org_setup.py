"""An administrator sets a county up from files: imports the tree (XLSX), then the village
boundaries (GeoJSON), and sees the villages with their polygons. Desktop viewport (admin
pages), plus the tree on a phone.

Screenshots: test-artifacts/e2e/org/*.png (look at them).
"""
import io
import json

from openpyxl import Workbook
from playwright.sync_api import expect
from sqlalchemy import select

from fieldlog.models import OrgUnit

VILLAGES = [("测试县", "东岭镇", "上寨村", "520000100201", 26.600, 106.720, 1200),
            ("测试县", "新场镇", "大坪村", "520000300201", 26.500, 106.800, 900),
            ("测试县", "新场镇", "小坪村", "520000300202", 26.510, 106.815, 1000),
            ("测试县", "新场镇", "杉木村", "520000300203", 26.525, 106.790, 800)]


def shot(page, artifacts, name: str) -> None:
    folder = artifacts / "org"
    folder.mkdir(exist_ok=True)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True, animations="disabled",
                    caret="initial")


def sign_in(page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(lambda url: "/login" not in url)


def tree_xlsx() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["县", "乡镇", "村", "村代码", "中心纬度", "中心经度", "半径(米)"])
    for row in VILLAGES:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def boundaries() -> bytes:
    features = []
    for _county, _town, name, code, lat, lon, _r in VILLAGES[1:]:
        ring = [[lon - 0.006, lat - 0.004], [lon + 0.005, lat - 0.005],
                [lon + 0.007, lat + 0.003], [lon - 0.001, lat + 0.006],
                [lon - 0.007, lat + 0.002], [lon - 0.006, lat - 0.004]]
        features.append({"type": "Feature", "properties": {"村代码": code, "name": name},
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return json.dumps({"type": "FeatureCollection", "features": features},
                      ensure_ascii=False).encode()


def upload(page, testid: str, name: str, data: bytes, mime: str) -> None:
    page.get_by_test_id(testid).set_input_files({"name": name, "mimeType": mime, "buffer": data})


def test_admin_imports_a_tree_then_boundaries(browsing, live_server, artifacts):
    server = live_server
    desk = browsing.desktop().new_page()
    sign_in(desk, "admin", server.password)

    # 1. The admin's menu leads to the tree.
    desk.goto("/admin/users")
    desk.get_by_test_id("user-menu").click()
    desk.get_by_test_id("menu-org").click()
    desk.wait_for_url("**/admin/org")
    expect(desk.get_by_test_id("org-row")).to_have_count(6)  # C, T1, V1, V2, T2, V3
    shot(desk, artifacts, "01-tree-before")

    # 2. Import the tree file: check it (preview), then choose it again and confirm.
    desk.get_by_test_id("org-import-link").click()
    xlsx = tree_xlsx()
    mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    upload(desk, "import-file", "tree.xlsx", xlsx, mime)
    desk.get_by_test_id("upload").click()
    expect(desk.get_by_test_id("preview-row")).to_have_count(4)
    expect(desk.get_by_test_id("new-townships")).to_contain_text("新场镇")
    shot(desk, artifacts, "02-tree-preview")
    upload(desk, "import-file", "tree.xlsx", xlsx, mime)
    desk.get_by_test_id("confirm").check()
    desk.get_by_test_id("upload").click()
    desk.wait_for_url("**/admin/org")
    expect(desk.get_by_test_id("org-row")).to_have_count(11)
    expect(desk.locator('[data-code="520000300202"]')).to_contain_text("小坪村")

    # 3. Boundaries: a GeoJSON of three villages, previewed then stored.
    desk.get_by_test_id("org-boundaries-link").click()
    data = boundaries()
    upload(desk, "boundary-file", "villages.geojson", data, "application/geo+json")
    desk.get_by_test_id("upload").click()
    expect(desk.get_by_test_id("preview-row")).to_have_count(3)
    expect(desk.get_by_test_id("feature-problem")).to_have_count(0)
    shot(desk, artifacts, "03-boundary-preview")
    upload(desk, "boundary-file", "villages.geojson", data, "application/geo+json")
    desk.get_by_test_id("confirm").check()
    desk.get_by_test_id("upload").click()
    desk.wait_for_url("**/admin/org")
    expect(desk.get_by_test_id("has-boundary")).to_have_count(3)
    shot(desk, artifacts, "04-tree-after")

    # 4. A village's page: its fields and its boundary.
    desk.locator('[data-code="520000300201"] [data-testid="org-name"]').click()
    expect(desk.get_by_test_id("clear-boundary")).to_be_visible()
    shot(desk, artifacts, "05-village")

    with server.db() as session:
        village = session.scalar(select(OrgUnit).where(OrgUnit.code == "520000300201"))
        assert village.boundary and village.parent.name == "新场镇"

    # 5. The tree on a phone stays readable.
    phone = browsing.phone().new_page()
    sign_in(phone, "admin", server.password)
    phone.goto("/admin/org")
    expect(phone.get_by_test_id("org-row")).to_have_count(11)
    shot(phone, artifacts, "06-tree-phone")
