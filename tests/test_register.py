"""The household register: import from XLSX/CSV (all or nothing), export, edit, scope."""
import csv
import io
import os

import pytest
from flask import session
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from fieldlog.errors import Forbidden, Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import AuditEntry, Household
from fieldlog.services.register.exporting import export_register
from fieldlog.services.register.importing import import_register, preview_register

HEADER = ["户主姓名", "门牌号", "家庭人口", "联系电话", "类别"]
ROWS = [["张三", "2组1号", 4, "13912345678", "老党员、低保户"],
        ["李四", "2组2号", 2, "0851-12345678", "困难户 五保户"],
        ["王五", "2组3号", 1, "", ""]]


@pytest.fixture(autouse=True)
def request_ctx(app):
    """Services speak through gettext, which needs a request (the locale is per request).

    The assertions read the English messages; Chinese, the default, is checked once below.
    """
    with app.test_request_context():
        session["locale"] = "en"
        yield


def test_messages_are_chinese_by_default(world):
    session.pop("locale")
    with pytest.raises(Invalid) as refused:
        preview_register(world.sec1, world.v1.id, b"", "households.csv")
    assert refused.value.message == "文件是空的。"


def xlsx(rows, header=HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    if header:
        sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows, header=HEADER, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def count(village) -> int:
    return db.session.scalar(select(func.count()).select_from(Household)
                             .where(Household.village_id == village.id))


def by_label(village, label) -> Household:
    return db.session.scalar(select(Household).where(Household.village_id == village.id,
                                                     Household.house_label == label))


def test_xlsx_import_creates_households_with_tags(world):
    result = import_register(world.sec1, world.v1.id, xlsx(ROWS), "v1.xlsx")
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    assert count(world.v1) == 8
    zhang = by_label(world.v1, "2组1号")
    assert (zhang.head_name, zhang.member_count, zhang.phone) == ("张三", 4, "13912345678")
    assert zhang.tags == ["low_income", "old_party_member"]
    assert by_label(world.v1, "2组2号").tags == ["five_guarantees", "hardship"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "register.import"))
    assert '"created": 3' in entry.details


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk"])
def test_csv_import_in_common_encodings_and_header_variants(world, encoding):
    header = ["户主", "户号", "人数", "手机号", "户类别", "经度", "纬度"]
    rows = [["赵六", "3组1号", "5", "13800001111", "留守老人；残疾人户", "106.71", "26.58"]]
    result = import_register(world.sec1, world.v1.id, csv_bytes(rows, header, encoding), "a.csv")
    assert result.created == 1
    zhao = by_label(world.v1, "3组1号")
    assert (zhao.head_name, zhao.lat, zhao.lon) == ("赵六", 26.58, 106.71)
    assert zhao.tags == ["disability", "left_behind_elderly"]


def test_reimport_updates_by_house_label_and_replaces_tags(world):
    import_register(world.sec1, world.v1.id, xlsx(ROWS), "v1.xlsx")
    changed = [["张三", "2组1号", 5, "13912345678", "富裕户"]] + ROWS[1:]
    preview = preview_register(world.sec1, world.v1.id, xlsx(changed), "v1.xlsx")
    assert [r.action for r in preview.rows] == ["update", "unchanged", "unchanged"]
    result = import_register(world.sec1, world.v1.id, xlsx(changed), "v1.xlsx")
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    assert count(world.v1) == 8
    zhang = by_label(world.v1, "2组1号")
    assert (zhang.member_count, zhang.tags) == (5, ["well_off"])


def test_export_round_trips_without_changes(world):
    data = export_register(world.sec1, world.v1.id)
    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    assert "含个人信息" in sheet.title
    first = next(sheet.iter_rows(values_only=True))
    assert "Contains personal information" in first[0]
    preview = preview_register(world.sec1, world.v1.id, data, "export.xlsx")
    assert not preview.errors
    assert {r.action for r in preview.rows} == {"unchanged"} and len(preview.rows) == 5
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "export.register")) == 1


def _refused(world, data, filename, *needles):
    before = count(world.v1)
    with pytest.raises(Invalid) as info:
        import_register(world.sec1, world.v1.id, data, filename)
    shown = info.value.message + " ".join(info.value.fields.get("rows", []))
    for needle in needles:
        assert needle in shown, shown
    assert count(world.v1) == before
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "register.import")) == 0
    return info.value


def test_missing_required_header_is_refused(world):
    _refused(world, xlsx(ROWS, ["名字", "地址", "人口"]), "x.xlsx", "户主姓名", "门牌号")


def test_wrong_headers_in_csv_are_refused(world):
    _refused(world, csv_bytes([["a", "b"]], ["foo", "bar"]), "x.csv", "户主姓名")


def test_duplicate_house_label_names_both_rows(world):
    rows = ROWS + [["钱七", "2组1号", 3, "", ""]]
    error = _refused(world, xlsx(rows), "x.xlsx", "Row 5", "2组1号", "row 2")
    assert error.code == "register_errors"
    # A duplicate is reported even when the first of the two rows has errors of its own.
    rows = [["张三", "9号", 40, "", ""], ["李四", "9号", 2, "", ""]]
    error = _refused(world, xlsx(rows), "x.xlsx", "Row 2, 家庭人口", "Row 3, 门牌号")


def test_row_errors_each_named(world):
    rows = [["", "1号", 3, "", ""], ["甲", "", 3, "", ""], ["乙", "3号", 40, "", ""],
            ["丙", "4号", 2, "12345", ""], ["丁", "5号", 2, "", "外星户"],
            ["戊", "6号", 2, "", "三老"], ["己", "7号", 2, "", ""]]
    header = HEADER + ["经度", "纬度"]
    rows[-1] += ["200", "26.5"]
    error = _refused(world, xlsx(rows, header), "x.xlsx", "Row 2", "Row 3", "Row 4",
                     "12345", "外星户", "老党员、老干部、老模范", "Row 8, 经度")
    assert len(error.fields["rows"]) == 7
    preview = preview_register(world.sec1, world.v1.id, xlsx(rows, header), "x.xlsx")
    assert [e.row for e in preview.errors] == [2, 3, 4, 5, 6, 7, 8]


@pytest.mark.parametrize("data", [b"", b"   \n", csv_bytes([], HEADER)])
def test_empty_files_are_refused(world, data):
    _refused(world, data, "empty.csv", "empty" if data.strip() == b"" else "no households")


def test_not_a_spreadsheet_is_refused(world, photos_dir):
    jpeg = next(p for p in sorted(photos_dir.iterdir())
                if p.suffix.lower() in (".jpg", ".jpeg") and "corrupt" not in p.name)
    _refused(world, jpeg.read_bytes(), "photo.xlsx", "not a readable spreadsheet")
    _refused(world, os.urandom(2048), "random.csv", "not a readable spreadsheet")
    _refused(world, b"PK\x03\x04" + os.urandom(500), "fake.xlsx", "not a readable spreadsheet")


def test_very_large_files_are_refused(world):
    big = csv_bytes([["张三" * 10, f"{n}号", 3, "13912345678", "困难户"] for n in range(80_000)])
    assert len(big) > 5 * 1024 * 1024
    _refused(world, big, "big.csv", "5 MB")
    many = csv_bytes([["张三", f"{n}号", 3, "", ""] for n in range(5001)])
    _refused(world, many, "many.csv", "5000 rows")


def test_scope_of_import(world):
    with pytest.raises(NotFound):
        import_register(world.sec1, world.v2.id, xlsx(ROWS), "x.xlsx")
    with pytest.raises(Forbidden):
        import_register(world.sup_t1, world.v1.id, xlsx(ROWS), "x.xlsx")
    assert count(world.v1) == 5 and count(world.v2) == 3
    assert import_register(world.admin, world.v2.id, xlsx(ROWS), "x.xlsx").created == 3


def test_import_page_previews_then_imports(client, login, world):
    token = login("sec1").csrf
    page = client.post("/register/import", data={
        "csrf_token": token, "file": (io.BytesIO(xlsx(ROWS)), "v1.xlsx")},
        content_type="multipart/form-data")
    assert page.status_code == 200
    assert 'data-testid="preview-summary"' in page.get_data(as_text=True)
    assert count(world.v1) == 5
    done = client.post("/register/import", data={
        "csrf_token": token, "confirm": "1", "file": (io.BytesIO(xlsx(ROWS)), "v1.xlsx")},
        content_type="multipart/form-data")
    assert done.status_code == 302
    assert count(world.v1) == 8
    bad = client.post("/register/import", data={
        "csrf_token": token, "confirm": "1", "file": (io.BytesIO(b"\xff\xd8\xff"), "a.csv")},
        content_type="multipart/form-data")
    assert bad.status_code == 422 and 'data-testid="import-error"' in bad.get_data(as_text=True)


def test_register_page_masks_phones_and_links_to_edit(client, login, world):
    login("sec1")
    page = client.get("/register/").get_data(as_text=True)
    assert "138****0000" in page and "13800000000" not in page
    assert f"/register/households/{world.h1[0].id}" in page
    assert world.h2[0].head_name not in page
    assert client.get(f"/register/?village={world.v2.id}").status_code == 404
    export = client.get("/register/export")
    assert export.status_code == 200 and export.data[:2] == b"PK"


def test_edit_household_validates_and_saves(client, login, world):
    token = login("sec1").csrf
    household = world.h1[0]
    url = f"/register/households/{household.id}"
    form = {"csrf_token": token, "head_name": "新户主", "house_label": world.h1[1].house_label,
            "member_count": "0", "phone": "123", "lat": "26.5", "lon": "", "tags": ["hardship"]}
    bad = client.post(url, data=form)
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422
    for name in ("house_label", "member_count", "phone", "lat"):
        assert f'data-testid="error-{name}"' in text
    form.update(house_label="9组9号", member_count="6", phone="13988887777", lon="106.7")
    assert client.post(url, data=form).status_code == 302
    db.session.expire_all()
    saved = db.session.get(Household, household.id)
    assert (saved.head_name, saved.house_label, saved.member_count) == ("新户主", "9组9号", 6)
    assert (saved.phone, saved.lat, saved.lon, saved.tags) == ("13988887777", 26.5, 106.7,
                                                              ["hardship"])
    page = client.get(url).get_data(as_text=True)
    assert "13988887777" not in page and "139****7777" in page
    form.update(phone="")
    assert client.post(url, data=form).status_code == 302
    db.session.expire_all()
    assert db.session.get(Household, household.id).phone == "13988887777"
    form.update(clear_phone="1")
    assert client.post(url, data=form).status_code == 302
    db.session.expire_all()
    assert db.session.get(Household, household.id).phone is None
    assert client.get(f"/register/households/{world.h2[0].id}").status_code == 404
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "household.update"))
    assert "13988887777" not in audit.details


def test_supervisor_cannot_use_register_pages(client, login, world):
    login("sup_t1")
    assert client.get("/register/").status_code == 403
    assert client.get(f"/register/coverage?village={world.v1.id}").status_code == 200
    assert client.get(f"/register/coverage?village={world.v3.id}").status_code == 404
    chooser = client.get("/register/coverage").get_data(as_text=True)
    assert world.v1.name in chooser and world.v2.name in chooser
    assert world.v3.name not in chooser
