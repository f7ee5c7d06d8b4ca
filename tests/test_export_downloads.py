"""Every export downloaded as a supervisor does: over HTTP, read to the end, parsed, with rows.

The test app normally shares one app context (and one database session) across requests. A real
server gives each request its own, which ends when the view returns, before a streamed body is
read. `download` runs each request in a thread of its own to get exactly that.
"""
import csv
import io
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import AuditEntry
from tests import test_office_exports as office

records = office.records  # the fixture: one record of each kind in T1, one visit in T2


def _get(client, url: str):
    response = client.get(url)
    data = response.get_data()
    response.close()  # as a WSGI server does when the body is sent
    return response, data


def download(client, url: str):
    """GET a file in a request context of its own, as a server would; return (response, body)."""
    with ThreadPoolExecutor(1) as pool:
        response, data = pool.submit(_get, client, url).result()
    assert response.status_code == 200, data[:300]
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    return response, data


def table(response, data: bytes) -> list[list]:
    """Parse a whole CSV or XLSX body into rows of text (every sheet of a workbook, in order)."""
    if response.mimetype == "text/csv":
        assert data.startswith("\ufeff".encode())
        return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(data))
    return [["" if v is None else str(v) for v in row]
            for sheet in book.worksheets for row in office._rows(sheet)]


def month() -> str:
    return office.MONTH  # set by the fixture


def _expect(kind: str, w) -> list[str]:
    """Texts that must each appear in a data row (not a title line) of the export."""
    return {
        "work_ledger": [w.visit["id"], "讲好一堂党课", "修缮屋后排水沟"],
        "issue_ledger": ["修缮屋后排水沟", "乡镇"],
        "attendance": ["SEC1", "SEC2", "北堡村"],
        "scores": ["SEC1", "SEC2", "南坪村"],
    }[kind]


def _audits() -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action.like("export.%")).order_by(AuditEntry.id)))


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize("kind", ["work_ledger", "issue_ledger", "attendance", "scores"])
def test_every_office_export_carries_its_rows_in_both_formats(client, login, records, kind,
                                                              fmt):
    login("sup_t1")
    response, data = download(client, f"/exports/{kind}.{fmt}?period={month()}")
    rows = table(response, data)
    body = [" ".join(r) for r in rows[4:] if any(r)]
    for expected in _expect(kind, records):
        assert any(expected in line for line in body), (expected, rows[:8])
    [entry] = _audits()
    assert entry.action == f"export.{kind}" and str(entry.id) in rows[2][0]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_record_form_carries_its_rows_in_both_formats(client, login, records, fmt):
    login("sup_t1")
    response, data = download(
        client, f"/exports/record-form/{records.sec1.id}.{fmt}?period={month()}")
    values = {r[1]: r[2] for r in table(response, data)[4:] if len(r) >= 3}
    assert values["姓名"] == "SEC1" and values["走访次数"] == "1"
    assert [e.action for e in _audits()] == ["export.record_form"]


def test_the_visit_list_and_audit_trail_csvs_carry_their_rows(client, login, records):
    login("sup_t1")
    response, data = download(client, "/review/visits.csv")
    rows = table(response, data)
    assert any(records.visit["id"] in r for r in rows[3:])
    login("admin")
    response, data = download(client, "/admin/audit.csv")
    rows = table(response, data)
    assert any("export.visits" in r for r in rows[3:])
    details = json.loads(_audits()[0].details)
    assert details["rows_at_start"] == 1
