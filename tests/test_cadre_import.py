"""Importing a cadre list (XLSX): preview, all or nothing, one-time passwords, clear row errors."""
import io
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from fieldlog.errors import Invalid
from fieldlog.extensions import db
from fieldlog.models import Assignment, AuditEntry, User
from fieldlog.services.people.auth import sign_in
from fieldlog.services.people.cadre_import import import_cadres, preview_cadres

HEADER = ["姓名", "手机号", "选派单位", "职务", "村", "任期起", "任期止"]
ROWS = [
    ["张明", "13911110001", "县人社局", "第一书记", "V2", date(2026, 3, 1), date(2028, 2, 29)],
    ["李华", "139 1111 0002", "县人社局", "工作队员", "南坪村", "2026-03-01", ""],
    ["赵强", "13911110003", "县农业农村局", "工作队员", "北堡村", datetime(2026, 4, 1), None],
]


@pytest.fixture(autouse=True)
def v2_free(world):
    """End SEC2's term in V2 before March 2026, so V2 may get a new first secretary."""
    db.session.scalar(select(Assignment).where(Assignment.user_id == world.sec2.id)).end_date = \
        date(2026, 2, 28)
    db.session.commit()


def xlsx(rows, header=HEADER, title: str | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _users() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def _errors(world, rows, admin=None, **kwargs) -> list[str]:
    before = _users()
    with pytest.raises(Invalid) as refused:
        import_cadres(admin or world.admin, xlsx(rows, **kwargs), "cadres.xlsx")
    assert _users() == before, "a file with errors imported something"
    return refused.value.fields.get("rows") or [refused.value.message]


def test_a_cadre_list_is_previewed_then_imported_with_one_time_passwords(world):
    preview = preview_cadres(world.admin, xlsx(ROWS, title="青岩县驻村干部名单"))
    assert preview.errors == []
    assert [(r.row, r.name, r.village_name, r.post, r.username) for r in preview.rows] == [
        (3, "张明", "南坪村", "first_secretary", "V2-1"),
        (4, "李华", "南坪村", "team_member", "V2-2"),
        (5, "赵强", "北堡村", "team_member", "V1-1")]
    assert _users() == 8  # a preview writes nothing
    issued = import_cadres(world.admin, xlsx(ROWS), "cadres.xlsx")
    assert [i.user.username for i in issued] == ["V2-1", "V2-2", "V1-1"]
    for item in issued:
        user = db.session.get(User, item.user.id)
        assert user.role == "secretary" and user.must_change_password and user.active
        assert item.password not in user.password_hash
        assert sign_in(user.username, item.password, channel="web").id == user.id
    zhang = db.session.get(User, issued[0].user.id)
    assert (zhang.phone, zhang.scope_unit_id) == ("13911110001", world.v2.id)
    [term] = db.session.scalars(select(Assignment).where(Assignment.user_id == zhang.id))
    assert (term.post, term.start_date, term.end_date, term.dispatching_unit) == (
        "first_secretary", date(2026, 3, 1), date(2028, 2, 29), "县人社局")
    li_term = db.session.scalar(select(Assignment).where(
        Assignment.user_id == issued[1].user.id))
    assert li_term.end_date is None and li_term.post == "team_member"
    # Only hashes are kept: no password appears anywhere in the audit trail.
    trail = " ".join(e.details for e in db.session.scalars(select(AuditEntry)))
    assert not any(i.password in trail for i in issued)
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "cadres.import")) == 1
    # The next import continues the numbering.
    again = preview_cadres(world.admin, xlsx([["钱进", "13911110009", "县财政局", "工作队员",
                                               "V2", "2026-05-01", ""]]))
    assert [r.username for r in again.rows] == ["V2-3"]


def test_header_variants_are_understood(world):
    header = ["干部姓名", "手机号码", "派出单位", "驻村职务", "村代码", "任期开始", "任期结束"]
    issued = import_cadres(world.admin, xlsx(ROWS[:1], header=header), "variants.xlsx")
    assert issued[0].user.display_name == "张明"


@pytest.mark.parametrize("header", [
    ["姓名", "电话号", "单位", "职务", "村", "任期起"],
    ["name only"],
])
def test_wrong_headers_are_named(world, header):
    [message] = _errors(world, [["张明", "13911110001", "县人社局"]], header=header)
    assert "表头缺少" in message


def test_a_duplicated_column_is_refused(world):
    [message] = _errors(world, ROWS[:1], header=HEADER[:-1] + ["手机号"])
    assert "手机号" in message


@pytest.mark.parametrize(("row", "fragment"), [
    (["张明", "13911110001", "县人社局", "第一书记", "不存在村", "2026-03-01", ""],
     "没有村 不存在村"),
    (["张明", "1391111", "县人社局", "第一书记", "V2", "2026-03-01", ""], "11 位手机号"),
    (["张明", "13911110001", "县人社局", "书记", "V2", "2026-03-01", ""], "第一书记"),
    (["张明", "13911110001", "县人社局", "第一书记", "V2", "2026-13-01", ""], "任期起须为日期"),
    (["张明", "13911110001", "县人社局", "第一书记", "V2", "", ""], "任期起须为日期"),
    (["张明", "13911110001", "县人社局", "第一书记", "V2", "2026-03-01", "明年"],
     "任期止须为日期"),
    (["张明", "13911110001", "县人社局", "第一书记", "V2", "2026-03-01", "2026-02-01"],
     "不能早于"),
    (["", "13911110001", "县人社局", "第一书记", "V2", "2026-03-01", ""], "缺少姓名"),
    (["张明", "13911110001", "", "第一书记", "V2", "2026-03-01", ""], "缺少选派单位"),
    # V1 already has a first secretary (SEC1, from 2026-01-01, open).
    (["张明", "13911110001", "县人社局", "第一书记", "V1", "2026-03-01", ""], "已有第一书记"),
])
def test_each_bad_row_gets_a_clear_message_with_its_row(world, row, fragment):
    messages = _errors(world, [ROWS[2], row])
    assert len(messages) == 1, messages
    assert messages[0].startswith("第 3 行") and fragment in messages[0], messages


def test_a_phone_used_in_the_database_or_twice_in_the_file_is_refused(world):
    world.sec3.phone = "13911110003"
    db.session.commit()
    messages = _errors(world, ROWS + [
        ["孙丽", "13911110001", "县人社局", "工作队员", "V3", "2026-03-01", ""]])
    assert len(messages) == 2, messages
    assert "第 4 行" in messages[0] and "SEC3" in messages[0]
    assert "第 5 行" in messages[1] and "首次在第 2 行" in messages[1]


def test_two_first_secretaries_of_one_village_in_one_file_are_refused(world):
    rows = ROWS + [["孙丽", "13911110004", "县人社局", "第一书记", "南坪村", "2027-01-01", ""]]
    [message] = _errors(world, rows)
    assert "第 5 行" in message and "第 2 行" in message
    # After the first one's term, a second first secretary is fine.
    rows[-1][5] = "2028-03-01"
    assert len(import_cadres(world.admin, xlsx(rows), "ok.xlsx")) == 4


def test_villages_outside_the_admins_scope_are_unknown(world, password_hash):
    admin_t1 = User(username="admin_t1", display_name="ADMIN T1", role="admin",
                    scope_unit_id=world.t1.id, password_hash=password_hash)
    db.session.add(admin_t1)
    world.sec3.phone = "13911110008"
    db.session.commit()
    messages = _errors(world, [
        ["孙丽", "13911110004", "县人社局", "工作队员", "V3", "2026-03-01", ""],
        ["周平", "13911110008", "县人社局", "工作队员", "V1", "2026-03-01", ""]], admin=admin_t1)
    assert "没有村 V3" in messages[0]
    assert "管辖范围以外" in messages[1] and "SEC3" not in messages[1]


def test_not_a_spreadsheet_and_empty_files_are_refused(world):
    for data, fragment in ((b"name,phone\n", "XLSX"), (b"", "空"),
                           (xlsx([]), "没有干部")):
        with pytest.raises(Invalid) as refused:
            import_cadres(world.admin, data, "x")
        assert fragment in refused.value.message


def test_a_zip_bomb_is_stopped_by_the_bounded_reader(world):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", "<a>" + "0" * 60_000_000 + "</a>")
    with pytest.raises(Invalid):
        import_cadres(world.admin, buffer.getvalue(), "bomb.xlsx")
    assert _users() == 8
