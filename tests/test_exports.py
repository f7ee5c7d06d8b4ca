"""The supervisor's CSV export: marked, scoped, phones masked, audited, streamed in chunks."""
import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from fieldlog.extensions import db
from fieldlog.models import AuditEntry
from fieldlog.services.people.privacy import mask_phone
from fieldlog.services.reporting import visit_exports as exports
from tests.test_sync_api import sync, visit_payload


@pytest.fixture
def visits(world, device):
    """Two visits in V1 (the newer to a household named like a formula), one in V2, one in V3."""
    world.h1[1].head_name = "=HYPERLINK(\"http://x\")"
    db.session.commit()
    now = datetime.now(UTC)
    made = {"v1_old": visit_payload(world.h1[0], occurred_at=(now - timedelta(days=2)).isoformat()),
            "v1_new": visit_payload(world.h1[1], occurred_at=(now - timedelta(hours=1)).isoformat(),
                                    requests="+86 请回电"),
            "v2": visit_payload(world.h2[0], occurred_at=(now - timedelta(days=1)).isoformat()),
            "v3": visit_payload(world.h3[0])}
    sync(device(world.sec1), made["v1_old"], made["v1_new"])
    sync(device(world.sec2), made["v2"])
    sync(device(world.sec3), made["v3"])
    return {key: record["id"] for key, record in made.items()}


def download(client, query: str = "") -> tuple[list[list[str]], str]:
    response = client.get(f"/review/visits.csv{query}")
    assert response.status_code == 200
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.is_streamed
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:]))), body


def test_export_is_marked_scoped_and_masks_phones(client, world, login, visits):
    login("sup_t1")
    client.get("/lang/en")
    rows, body = download(client)
    assert rows[0] == ["Contains personal information — for official use only"]
    assert "sup_t1" in rows[1][0]
    header, data = rows[2], rows[3:]
    assert header[:6] == ["Visit time", "Received", "Village", "Head of household", "House number",
                          "Phone (masked)"]
    assert [r[-1] for r in data] == [visits["v1_new"], visits["v2"], visits["v1_old"]]
    assert visits["v3"] not in body and world.h3[0].head_name not in body
    assert data[2][3] == world.h1[0].head_name and data[2][5] == mask_phone(world.h1[0].phone)
    for household in world.h1 + world.h2:
        assert household.phone not in body
    # Cells that a spreadsheet would run as formulas are defused.
    assert data[0][3] == "'=HYPERLINK(\"http://x\")" and data[0][8] == "'+86 请回电"


def test_export_follows_the_list_filters(client, world, login, visits):
    login("sup_county")
    by_village, _ = download(client, f"?village={world.v1.id}")
    assert {r[2] for r in by_village[3:]} == {world.v1.name} and len(by_village) == 5
    by_secretary, _ = download(client, f"?secretary={world.sec3.id}")
    assert [r[-1] for r in by_secretary[3:]] == [visits["v3"]]
    page = client.get(f"/review/?village={world.v1.id}").get_data(as_text=True)
    assert f'href="/review/visits.csv?village={world.v1.id}"' in page


def test_export_is_audited_before_it_streams(client, world, login, visits):
    login("sup_t1")
    response = client.get(f"/review/visits.csv?village={world.v1.id}")
    # Recorded already, before a byte of the stream was read.
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export.visits"))
    assert entry.actor_name == "sup_t1" and entry.object_type == "visit"
    filters = f'"filters":{{"author_id":null,"village_id":{world.v1.id}}}'
    assert filters in entry.details.replace(" ", "")
    assert '"rows_at_start":2' in entry.details.replace(" ", "")
    assert f"audit entry {entry.id}" in response.get_data(as_text=True) or \
        str(entry.id) in response.get_data(as_text=True).splitlines()[1]


def test_export_streams_in_chunks_with_one_photo_query_per_chunk(client, world, login, device,
                                                                 monkeypatch):
    sync(device(world.sec1), *[visit_payload(world.h1[n % 5]) for n in range(7)])
    monkeypatch.setattr(exports, "CHUNK", 3)
    login("sup_t1")
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        response = client.get("/review/visits.csv")
        chunks = list(response.response)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(chunks) == 1 + 3  # the preamble, then 3 + 3 + 1 rows
    photo_queries = [s for s in statements if "FROM photos" in s]
    assert len(photo_queries) == 3
    assert len(statements) < 20, statements


def test_secretaries_cannot_export(client, world, login, visits):
    login("sec1")
    assert client.get("/review/visits.csv").status_code == 403
    assert not db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "export.visits")).first()
