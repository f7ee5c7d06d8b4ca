"""XLSX exports read back with openpyxl: layout, real date-times, print setup, the banner's
language; and one vocabulary: a value carries the same label on the phone, the desk and files."""
import csv
import io
import json
import re
from datetime import datetime

import pytest
from openpyxl import load_workbook

from tests import test_office_exports as office
from tests.test_office_exports import _rows
from tests.test_sync_api import sync
from tests.test_sync_records import base

records = office.records  # the fixture: one record of each kind in T1, one visit in T2


def _book(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    data = response.get_data()
    response.close()
    return load_workbook(io.BytesIO(data))


def test_xlsx_sheets_have_widths_wrap_real_times_a_filter_and_a_print_setup(
        client, login, records):
    login("sup_t1")
    book = _book(client, f"/exports/work_ledger.xlsx?period={office.MONTH}")
    for ws in book.worksheets:
        header = [c.value for c in ws[4]]
        assert ws.freeze_panes == "A5"
        assert ws.auto_filter.ref.startswith("A4:") and ws.auto_filter.ref.endswith(
            str(max(ws.max_row, 4)))
        assert ws.print_title_rows == "$4:$4"
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
        assert ws.page_setup.fitToHeight == 0
        widths = {name: ws.column_dimensions[chr(ord("A") + n)].width
                  for n, name in enumerate(header)}
        assert widths["发生时间"] >= 16 and widths["记录编号"] >= 36
    visits = book["走访记录"]
    header = [c.value for c in visits[4]]
    when = visits.cell(row=5, column=1)
    assert isinstance(when.value, datetime) and when.number_format == "yyyy-mm-dd hh:mm"
    heard = visits.cell(row=5, column=header.index("民情") + 1)
    assert heard.alignment.wrap_text and visits.column_dimensions["I"].width == 40
    actions = book["六个一"]
    header = [c.value for c in actions[4]]
    assert actions.cell(row=5, column=header.index("名称") + 1).alignment.wrap_text
    attendance = _book(client, f"/exports/attendance.xlsx?period={office.MONTH}").active
    assert attendance.column_dimensions["C"].width < 6  # the day "1"
    assert attendance.auto_filter.ref.startswith("A4:")


@pytest.mark.parametrize("kind", ["work_ledger", "issue_ledger", "attendance", "scores"])
def test_the_banner_speaks_the_users_language_only(client, login, records, kind):
    login("sup_t1")
    rows = _rows(_book(client, f"/exports/{kind}.xlsx?period={office.MONTH}").worksheets[0])
    banner = " ".join(str(r[0]) for r in rows[:3])
    assert "测试县" in banner and "含个人信息" in banner and "导出人" in banner
    assert not re.search(r"[A-Za-z]{3,}", banner.replace("sup_t1", "").replace("SUP_T1", ""))
    client.get("/lang/en")
    rows = _rows(_book(client, f"/exports/{kind}.xlsx?period={office.MONTH}").worksheets[0])
    title, mark, who = (str(r[0]) for r in rows[:3])
    assert mark == "Contains personal information — for official use only"
    assert who.startswith("Exported by SUP_T1 (sup_t1) at ")
    assert office.MONTH in title
    assert not re.search(r"[\u4e00-\u9fff]", title.replace("测试县", "")), title


def test_a_handler_has_one_label_on_the_phone_the_desk_and_in_every_file(
        client, login, records, device):
    w = records
    item = base("ledger_item", household_id=w.h1[1].id, category="housing",
                content="危房改造申请", handler="village_committee")
    assert sync(device(w.sec1), item)[0]["status"] == "stored"
    login("sec1")
    phone = client.get(f"/m/ledger/{item['id']}").get_data(as_text=True)
    label = re.search(r'data-field="handler">([^<]+)<', phone).group(1)
    assert label == "村委会"
    login("sup_t1")
    desk = client.get(f"/ledger/{item['id']}").get_data(as_text=True)
    assert re.search(r'data-testid="ledger-handler">([^<·]+)', desk).group(1).strip() == label
    book = _book(client, f"/exports/issue_ledger.xlsx?period={office.MONTH}")
    [row] = [r for r in _rows(book.active) if r[-1] == item["id"]]
    assert row[7] == label
    ledger = _book(client, f"/exports/work_ledger.xlsx?period={office.MONTH}")["民情事项"]
    [row] = [r for r in _rows(ledger) if r[5] == item["id"]]
    assert row[9] == label
    text = client.get(f"/exports/issue_ledger.csv?period={office.MONTH}").get_data()
    [row] = [r for r in csv.reader(io.StringIO(text.decode("utf-8-sig"))) if r[-1] == item["id"]]
    assert row[7] == label


def test_a_day_away_on_official_business_has_one_label_on_the_phone_and_in_the_file(
        client, login, records):
    login("sec1")
    page = client.get("/m/attendance/mark").get_data(as_text=True)
    label = json.loads(re.search(r'id="i18n">(.*?)</script>', page, re.S).group(1))[
        "mark_kind_official"]  # what the outbox calls the mark
    login("sup_t1")
    book = _book(client, f"/exports/work_ledger.xlsx?period={office.MONTH}")
    assert _rows(book["驻村与报备"])[4][7] == label == "因公外出（报备）"
