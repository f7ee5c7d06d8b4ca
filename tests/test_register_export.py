"""The register export: masked by default, the full register for an admin with a reason."""
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from fieldlog.errors import Forbidden, Invalid
from fieldlog.extensions import db
from fieldlog.models import AuditEntry
from fieldlog.services.people.privacy import mask_phone
from fieldlog.services.register.exporting import export_register
from fieldlog.services.register.fields import TAG_CHINESE
from fieldlog.services.register.importing import preview_register


def _cells(data: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def _entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.fixture
def in_request(app):
    with app.test_request_context("/"):
        yield


def test_the_default_export_masks_phones_and_leaves_out_categories_and_positions(
        world, in_request):
    rows = _cells(export_register(world.sec1, world.v1.id))
    text = " ".join(str(v) for row in rows for v in row if v is not None)
    assert "含个人信息" in rows[0][0] and "脱敏" in rows[1][0]
    assert rows[2] == ["户主姓名", "门牌号", "家庭人口", "联系电话"]
    for household in world.h1:
        assert household.phone not in text and mask_phone(household.phone) in text
        assert str(household.lat) not in text
    for name in TAG_CHINESE.values():  # 困难户, 上访户, 低保户 … and 老党员
        assert name not in text
    [entry] = _entries("export.register")
    assert '"masked":true' in entry.details.replace(" ", "")


def test_the_masked_export_imports_back_unchanged_and_keeps_what_it_lacks(world, in_request):
    data = export_register(world.sec1, world.v1.id)
    preview = preview_register(world.sec1, world.v1.id, data, "register.xlsx")
    assert not preview.errors and {r.action for r in preview.rows} == {"unchanged"}
    # A masked number that is not the one on file cannot stand in for a number.
    book = Workbook()
    book.active.append(["户主姓名", "门牌号", "家庭人口", "联系电话"])
    book.active.append([world.h1[0].head_name, world.h1[0].house_label, 3, "139****9999"])
    out = io.BytesIO()
    book.save(out)
    preview = preview_register(world.sec1, world.v1.id, out.getvalue(), "register.xlsx")
    assert [e.column for e in preview.errors] == ["联系电话"] and not preview.rows


def test_the_full_export_is_for_admins_with_a_reason_and_audited(world, in_request):
    with pytest.raises(Forbidden):
        export_register(world.sec1, world.v1.id, full_reason="移交")
    for reason in ("", "  ", "x" * 201):
        with pytest.raises(Invalid):
            export_register(world.admin, world.v1.id, full_reason=reason)
    assert _entries("export.register_full") == []
    rows = _cells(export_register(world.admin, world.v1.id, full_reason="移交新一届村两委"))
    assert "移交新一届村两委" in rows[1][0]
    assert rows[2] == ["户主姓名", "门牌号", "家庭人口", "联系电话", "类别", "经度", "纬度"]
    by_label = {r[1]: r for r in rows[3:]}
    assert by_label[world.h1[1].house_label][3] == world.h1[1].phone
    assert "困难户" in by_label[world.h1[1].house_label][4]
    assert by_label[world.h1[0].house_label][6] == pytest.approx(world.h1[0].lat)
    [entry] = _entries("export.register_full")
    assert "移交新一届村两委" in entry.details and world.h1[1].phone not in entry.details


def test_register_downloads_are_no_store_and_the_full_one_is_a_reasoned_post(
        client, world, login):
    session = login("sec1")
    masked = client.get(f"/register/export?village={world.v1.id}")
    assert masked.status_code == 200 and masked.headers["Cache-Control"] == "no-store"
    url = f"/register/export-full?village={world.v1.id}"
    assert client.post(url, data={"csrf_token": session.csrf, "reason": "x"}).status_code == 403
    assert 'data-testid="full-export"' not in client.get("/register/").get_data(as_text=True)
    session = login("admin")
    page = client.get(f"/register/?village={world.v1.id}").get_data(as_text=True)
    assert 'data-testid="full-export"' in page
    refused = client.post(url, data={"csrf_token": session.csrf, "reason": " "})
    assert refused.status_code == 422 and 'role="alert"' in refused.get_data(as_text=True)
    assert client.post(url, data={"reason": "移交"}).status_code == 400  # no CSRF token
    full = client.post(url, data={"csrf_token": session.csrf, "reason": "移交新一届村两委"})
    assert full.status_code == 200 and full.headers["Cache-Control"] == "no-store"
    assert world.h1[0].phone in " ".join(str(v) for r in _cells(full.get_data()) for v in r)
    assert len(_entries("export.register_full")) == 1
