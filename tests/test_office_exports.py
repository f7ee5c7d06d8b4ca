"""Office exports: XLSX and CSV from records made through the sync API, scoped and audited."""

import csv
import io
import json
import tempfile
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import AuditEntry
from fieldlog.timefmt import local_today
from tests.test_sync_api import sync, visit_payload
from tests.test_sync_records import base, meeting

MONTH = ""  # this month's key, set by the `records` fixture (it needs the app's time zone)


@pytest.fixture
def records(world, device):
    """sec1 makes one record of each kind (one with a formula-like text); sec3 one visit."""
    global MONTH
    MONTH = local_today().strftime("%Y-%m")
    phone = device(world.sec1)
    visit = visit_payload(world.h1[0], heard="=HYPERLINK(\"http://evil\")", requests="+修路")
    item = base("ledger_item", household_id=world.h1[0].id, category="infrastructure",
                content="修缮屋后排水沟", handler="township", due_date="2026-12-20",
                source={"type": "visit", "id": visit["id"]})
    mark = base("day_mark", day=local_today().isoformat(), kind="official", reason="training",
                note="县委组织部培训")
    action = base("action", action_type="party_lecture", title="讲党课：乡村振兴", state="done")
    answers = sync(phone, visit, item, meeting(title="支委会研究排水沟"), action, mark)
    assert {a["status"] for a in answers} == {"stored"}
    update = base("ledger_update", item_id=item["id"], to_state="in_progress", note="已报乡镇")
    assert sync(phone, update)[0]["status"] == "stored"
    sync(device(world.sec3), visit_payload(world.h3[0], heard="河湾村的民情"))
    world.visit, world.item = visit, item
    return world


def _xlsx(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype.endswith("spreadsheetml.sheet")
    data = response.get_data()
    response.close()  # as a WSGI server does when the body is sent
    return load_workbook(io.BytesIO(data))


def _rows(sheet) -> list[list]:
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def _actions(action: str) -> list[dict]:
    return [json.loads(d) for d in db.session.scalars(
        select(AuditEntry.details).where(AuditEntry.action == action))]


def test_work_ledger_xlsx_has_a_sheet_per_kind_titled_marked_and_scoped(
        client, login, records, monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    login("sup_t1")
    book = _xlsx(client.get(f"/exports/work_ledger.xlsx?period={MONTH}"))
    head = client.head(f"/exports/work_ledger.xlsx?period={MONTH}")
    assert head.status_code == 200 and int(head.headers["Content-Length"]) > 1000
    head.close()
    assert not list(tmp_path.glob("fieldlog-export-*"))  # the temporary files are gone
    assert book.sheetnames == ["走访记录", "会议记录", "六个一", "民情事项", "驻村与报备"]
    visits = _rows(book["走访记录"])
    assert "测试县" in visits[0][0] and "驻村工作台账" in visits[0][0]
    assert "含个人信息" in visits[1][0] and "sup_t1" in visits[2][0]
    assert visits[3][:6] == ["发生时间", "村", "记录人", "审核状态", "版本", "记录编号"]
    body = visits[4:]
    assert len(body) == 1  # sec3's visit is in T2
    assert body[0][1] == "北堡村" and body[0][3] == "待审核" and body[0][5] == records.visit["id"]
    # Formula injection is neutralised: a text cell, quoted.
    assert body[0][8] == "'=HYPERLINK(\"http://evil\")" and body[0][9] == "'+修路"
    cell = book["走访记录"].cell(row=5, column=9)
    assert cell.data_type == "s"
    assert _rows(book["会议记录"])[4][6:9] == ["支委会", "支委会研究排水沟", "村委会议室"]
    assert _rows(book["六个一"])[4][6] == "讲好一堂党课"
    assert _rows(book["民情事项"])[4][12] == "办理中"
    assert _rows(book["驻村与报备"])[4][6:10][1:] == ["因公外出（报备）", "培训", "县委组织部培训"]
    audit = _actions("export.work_ledger")[0]
    assert audit["period"] == MONTH and audit["village_id"] is None
    assert audit["rows_at_start"] == 5  # one record of each kind in T1


def test_work_ledger_csv_has_bom_and_a_type_column(client, login, records):
    login("sup_county")
    response = client.get(f"/exports/work_ledger.csv?period={MONTH}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    data = response.get_data()
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[3] == ["类型", "发生时间", "村", "记录人", "审核状态", "版本", "记录编号", "内容"]
    kinds = [r[0] for r in rows[4:]]
    assert kinds.count("走访记录") == 2  # the county sees both villages
    assert {"会议记录", "六个一", "民情事项", "驻村与报备"} <= set(kinds)
    visit = next(r for r in rows[4:] if r[6] == records.visit["id"])
    assert "民情：'=HYPERLINK" in visit[7]


def test_issue_ledger_lists_state_handler_due_and_history(client, login, records):
    login("sup_t1")
    book = _xlsx(client.get(f"/exports/issue_ledger.xlsx?period={MONTH}"))
    rows = _rows(book.active)
    assert rows[3][:4] == ["登记时间", "村", "登记人", "反映人"]
    [item] = rows[4:]
    assert item[6] == "修缮屋后排水沟" and item[7] == "乡镇" and item[9] == datetime(2026, 12, 20)
    assert item[10] == "办理中" and "待办理→办理中（已报乡镇）" in item[14]
    assert item[15] == records.item["id"]


def test_attendance_sheet_is_cadre_by_day(client, login, records):
    w = records
    login("sup_t1")
    book = _xlsx(client.get(f"/exports/attendance.xlsx?period={MONTH}"))
    rows = _rows(book.active)
    header = rows[3]
    assert header[:3] == ["村", "姓名", "1"] and header[-5:] == [
        "在村天数", "其中报备", "请假天数", "要求天数", "达标"]
    by_name = {r[1]: r for r in rows[4:] if r and r[1]}
    assert set(by_name) == {"SEC1", "SEC2"}
    sec1 = by_name["SEC1"]
    assert sec1[1 + local_today().day] == "√"  # located records inside the fence today
    assert sec1[-5] >= 1 and sec1[-2] == 20
    assert w.sec3.display_name not in by_name
    assert client.get("/exports/attendance.csv?period=2026-Q4").status_code == 422


def test_record_form_for_a_cadre_in_scope_only(client, login, records):
    w = records
    login("sup_t1")
    response = client.get(f"/exports/record-form/{w.sec1.id}.csv?period={MONTH}")
    assert response.status_code == 200
    text = response.get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert "记实登记表" in rows[0][0] and "SEC1" in rows[0][0]
    values = {r[1]: r[2] for r in rows[4:] if len(r) == 3}
    assert values["姓名"] == "SEC1" and values["派出单位"] == "县农业农村局"
    assert values["走访次数"] == "1" and values["支委会"] == "1"
    assert values["讲好一堂党课"] == "完成 1" and values["新登记事项"] == "1"
    assert int(values["在村天数"]) >= 1 and "等次" in values
    book = _xlsx(client.get(f"/exports/record-form/{w.sec1.id}.xlsx?period={MONTH}"))
    assert _rows(book.active)[3] == ["栏目", "项目", "情况"]
    assert client.get(f"/exports/record-form/{w.sec3.id}.xlsx?period={MONTH}").status_code == 404
    assert client.get(f"/exports/record-form/{w.sup_t1.id}.csv").status_code == 404
    assert len(_actions("export.record_form")) == 2


def test_score_sheet_ranks_cadres_in_scope(client, login, records):
    login("sup_t2")
    book = _xlsx(client.get(f"/exports/scores.xlsx?period={MONTH}"))
    rows = _rows(book.active)
    assert rows[3][:3] == ["名次", "村", "姓名"] and rows[3][-2:] == ["总分", "等次"]
    assert "驻村天数（200）" in rows[3]
    assert [r[2] for r in rows[4:]] == ["SEC3"]
    assert rows[4][-1] in ("优秀", "称职", "基本称职", "不称职")


def test_scope_and_bad_input(client, login, records):
    w = records
    login("sup_t1")
    assert client.get(f"/exports/work_ledger.xlsx?village={w.v3.id}").status_code == 404
    assert client.get("/exports/issue_ledger.csv?village=999999").status_code == 404
    one = client.get(f"/exports/work_ledger.csv?period={MONTH}&village={w.v2.id}")
    assert one.status_code == 200 and "北堡村" not in one.get_data().decode("utf-8-sig")
    bad = client.get("/exports/work_ledger.xlsx?period=2026-13")
    assert bad.status_code == 422 and 'data-testid="export-error"' in bad.get_data(as_text=True)
    assert client.get("/exports/work_ledger.xlsx?period=term").status_code == 422
    page = client.get(f"/exports/?period={MONTH}").get_data(as_text=True)
    assert f"/exports/record-form/{w.sec1.id}.xlsx" in page
    assert f"/exports/record-form/{w.sec3.id}.xlsx" not in page
    audits = db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.action.like("export.%"))).all()
    assert audits == ["export.work_ledger"]  # refused exports leave no entry


def test_secretaries_cannot_export(client, login, records):
    login("sec1")
    assert client.get("/exports/").status_code == 403
    assert client.get(f"/exports/work_ledger.csv?period={MONTH}").status_code == 403
