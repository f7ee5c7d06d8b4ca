"""The tree file import: preview, all or nothing, a clear message per bad row, idempotent
re-import, header variants, scope; and the export that imports back unchanged."""
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from fieldlog.errors import Invalid
from fieldlog.extensions import db
from fieldlog.models import OrgUnit
from fieldlog.services.org.tree_export import export_tree
from fieldlog.services.org.tree_import import import_tree, preview_tree
from tests.test_org_admin import other, signed_in  # noqa: F401  (fixture)

HEADER = ["县", "乡镇", "村", "村代码", "中心纬度", "中心经度", "半径(米)"]
ROWS = [
    ["测试县", "东岭镇", "上寨村", "520000100201", 26.60, 106.72, 1200],
    ["测试县", "新场镇", "大坪村", "520000300201", 26.50, 106.80, 900],
    ["测试县", "新场镇", "小坪村", "520000300202", 26.51, 106.81, ""],
]


@pytest.fixture(autouse=True)
def english(app):
    """Service messages in English, as the assertions read them."""
    from flask_babel import force_locale

    with force_locale("en"):
        yield


def csv_bytes(rows, header=HEADER) -> bytes:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def xlsx_bytes(rows, header=HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def unit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(OrgUnit))


def messages(data: bytes, actor) -> list[str]:
    return [e.message for e in preview_tree(actor, data).errors]


def test_import_creates_townships_and_villages_then_reimport_changes_nothing(world):
    preview = preview_tree(world.admin, csv_bytes(ROWS))
    assert not preview.errors and preview.count("new") == 3
    assert preview.new_townships == ["测试县 · 新场镇"]
    result = import_tree(world.admin, csv_bytes(ROWS), "tree.csv")
    assert (result.created, result.townships, result.counties) == (3, 1, 0)
    village = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "520000300202"))
    township = village.parent
    assert (township.name, township.code, township.parent_id) == ("新场镇", "520000300",
                                                                  world.county.id)
    assert village.path == f"{township.path}{village.id}/" and village.geofence_m == 1000
    upper = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "520000100201"))
    assert upper.parent_id == world.t1.id  # an existing township, matched by name
    count = unit_count()
    again = preview_tree(world.admin, csv_bytes(ROWS))
    assert again.count("unchanged") == 3 and again.count("new") == 0
    import_tree(world.admin, csv_bytes(ROWS))
    assert unit_count() == count
    # An edit is an update, and the preview says what changes.
    edited = [row[:] for row in ROWS]
    edited[0][2], edited[0][4], edited[1][1] = "上寨新村", 26.61, "东岭镇"
    preview = preview_tree(world.admin, csv_bytes(edited))
    changes = {r.code: r.changes for r in preview.rows if r.action == "update"}
    assert set(changes) == {"520000100201", "520000300201"}
    assert any("上寨新村" in c for c in changes["520000100201"])
    assert any("东岭镇" in c for c in changes["520000300201"])  # moves township
    import_tree(world.admin, csv_bytes(edited))
    moved = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "520000300201"))
    assert moved.parent_id == world.t1.id and moved.path.startswith(world.t1.path)


def test_header_variants_in_an_xlsx_are_accepted(world):
    header = ["县（市、区）", "乡镇（街道）", "行政村", "统计用区划代码", "纬度", "经度", "半径"]
    rows = [["测试县", "东岭镇", "上寨村", 520000100201, 26.6, 106.72, 800]]  # a numeric code
    result = import_tree(world.admin, xlsx_bytes(rows, header))
    assert result.created == 1
    assert db.session.scalar(select(OrgUnit.geofence_m).where(
        OrgUnit.code == "520000100201")) == 800


@pytest.mark.parametrize(("rows", "expected"), [
    ([ROWS[0], ROWS[0][:3] + ["520000100201"] + ROWS[0][4:]], "appears again"),
    ([["测试县", "东岭镇", "上寨村", "52000010020", 26.6, 106.7, 1000]],
     "is not a 12-digit"),
    ([["测试县", "东岭镇", "上寨村", "520000100201", 96, 106.7, 1000]], "out of range"),
    ([["测试县", "东岭镇", "上寨村", "520000100201", "", 106.7, 1000]], "missing"),
    ([["测试县", "东岭镇", "上寨村", "520000100201", 26.6, 106.7, 5]], "not a radius"),
    ([["乙县", "乙镇", "上寨村", "520000100201", 26.6, 106.7, 1000]],
     "乙县 is outside your scope"),
])
def test_bad_rows_each_say_what_is_wrong_and_nothing_is_imported(world, rows, expected):
    before = unit_count()
    found = messages(csv_bytes(rows), world.admin)
    assert any(expected in m for m in found), found
    with pytest.raises(Invalid) as caught:
        import_tree(world.admin, csv_bytes(rows))
    assert "nothing was imported" in caught.value.message
    assert unit_count() == before


def test_a_code_used_in_another_county_is_refused(world, other):  # noqa: F811
    rows = [["测试县", "东岭镇", "借用村", other.village.code, 26.6, 106.7, 1000]]
    assert any("outside your scope" in m for m in messages(csv_bytes(rows), world.admin))


def test_missing_headers_are_named(world):
    with pytest.raises(Invalid) as caught:
        preview_tree(world.admin, csv_bytes([["东岭镇", "上寨村"]], header=["乡镇", "村"]))
    assert "lacks required columns" in caught.value.message
    assert "村代码" in caught.value.message and "中心纬度" in caught.value.message
    with pytest.raises(Invalid):
        preview_tree(world.admin, b"\x00\x01garbage")


def test_a_city_admin_creates_counties_by_name(world, other):  # noqa: F811
    from fieldlog.models import User

    admin_city = db.session.get(User, other.admin_city.id)
    rows = [["丁县", "丁镇", "丁村", "520300100201", 26.9, 107.1, 1000]]
    result = import_tree(admin_city, csv_bytes(rows))
    assert (result.counties, result.townships, result.created) == (1, 1, 1)
    county = db.session.scalar(select(OrgUnit).where(OrgUnit.name == "丁县"))
    assert county.parent_id == other.city.id and county.code == "520300"
    # Without a county column a city admin is asked for one.
    rows = [["", "丁镇", "戊村", "520300100202", 26.9, 107.1, 1000]]
    assert any("name the county" in m for m in messages(csv_bytes(rows), admin_city))


def test_export_imports_back_unchanged(world):
    for n, village in enumerate((world.v1, world.v2, world.v3), start=1):
        village.code = f"52000090020{n}"  # the test world's short codes made real
    db.session.commit()
    import_tree(world.admin, csv_bytes(ROWS))
    data = export_tree(world.admin)
    sheet = load_workbook(io.BytesIO(data)).active
    values = list(sheet.values)
    assert list(values[0]) == HEADER
    assert ("测试县", "新场镇", "小坪村", "520000300202", 26.51, 106.81, 1000) in values
    preview = preview_tree(world.admin, data)
    assert not preview.errors, [str(e) for e in preview.errors]
    assert len(preview.rows) == 6 and all(r.action == "unchanged" for r in preview.rows)


def test_the_import_page_previews_then_imports(world, client):
    token = signed_in(client, "admin")
    client.get("/lang/en")
    page = client.post("/admin/org/import", data={
        "csrf_token": token, "file": (io.BytesIO(csv_bytes(ROWS)), "tree.csv")})
    assert page.status_code == 200 and "Villages: 3 new, 0 to update" in page.get_data(as_text=True)
    assert unit_count() == 6
    done = client.post("/admin/org/import", data={
        "csrf_token": token, "confirm": "1", "file": (io.BytesIO(csv_bytes(ROWS)), "tree.csv")})
    assert done.status_code == 302 and unit_count() == 10
    bad = client.post("/admin/org/import", data={
        "csrf_token": token, "file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")})
    assert bad.status_code == 422 and "lacks required columns" in bad.get_data(as_text=True)
