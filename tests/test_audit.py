"""The audit trail: what sync and uploads write, the chain, tampering, and the admin page."""
import csv
import io
import re
import threading
from datetime import datetime

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from fieldlog.extensions import db
from fieldlog.models import AuditEntry
from fieldlog.services.people import audit
from fieldlog.services.people.audit import GENESIS, record, record_many, verify
from tests.test_photo_api import upload
from tests.test_sync_api import sync, visit_payload


def entries(action: str | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query))


def trail(n: int) -> list[AuditEntry]:
    """Append n entries (each its own transaction, as requests would) and return them."""
    for index in range(n):
        record("test.event", object_type="thing", object_id=index, details={"n": index})
        db.session.commit()
    return entries("test.event")


# ---- what the services write -------------------------------------------------------------

def test_sync_writes_one_create_entry_per_stored_visit_and_no_free_text(world, device):
    phone = device(world.sec1)
    records = [visit_payload(world.h1[n]) for n in range(3)]
    sync(phone, *records)
    created = entries("visit.create")
    assert [e.object_id for e in created] == [r["id"] for r in records]
    first = created[0]
    assert (first.actor_id, first.actor_name, first.object_type) == (world.sec1.id, "sec1", "visit")
    assert first.ip == "127.0.0.1" and first.user_agent
    assert audit._details(first.details) == [
        ("device_id", phone.device_id), ("household_id", world.h1[0].id),
        ("village_id", str(world.v1.id))]
    assert "老人" not in first.details and "排水沟" not in first.details
    assert verify().ok


def test_replays_and_refusals_write_no_create_entries(world, device):
    phone = device(world.sec1)
    record_ = visit_payload(world.h1[0])
    sync(phone, record_)
    sync(phone, record_)  # a replay: "stored" again
    sync(phone, visit_payload(world.h3[0]))  # another village: forbidden
    sync(phone, visit_payload(world.h1[0], occurred_at="nonsense"))  # invalid
    assert [e.object_id for e in entries("visit.create")] == [record_["id"]]
    assert entries("visit.conflict") == []


def test_a_conflict_is_recorded_as_an_attempt_to_overwrite(world, device):
    phone = device(world.sec1)
    record_ = visit_payload(world.h1[0])
    sync(phone, record_)
    [answer] = sync(phone, {**record_, "heard": "改过的内容", "household_id": world.h1[1].id})
    assert answer["status"] == "conflict"
    [conflict] = entries("visit.conflict")
    assert conflict.object_id == record_["id"] and conflict.actor_id == world.sec1.id
    assert dict(audit._details(conflict.details)) == {
        "device_id": phone.device_id, "household_id": world.h1[1].id,
        "existing_author_id": str(world.sec1.id)}
    assert "改过" not in conflict.details
    assert len(entries("visit.create")) == 1


def test_sync_audit_is_one_bulk_insert(world, device):
    phone = device(world.sec1)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        sync(phone, *[visit_payload(world.h1[n % 5]) for n in range(100)])
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    inserts = [s for s in statements if s.lstrip().upper().startswith(
        ("INSERT INTO AUDIT_LOG", 'COPY "AUDIT_LOG"'))]  # COPY on PostgreSQL
    assert len(inserts) == 1 and len(entries("visit.create")) == 100
    assert verify().ok


def test_photo_upload_is_recorded_with_its_hash_and_size(world, device, photos_dir):
    phone = device(world.sec1)
    record_ = visit_payload(world.h1[0])
    sync(phone, record_)
    phone.visit_id = record_["id"]
    photo = upload(phone, photos_dir / "jpg_gps_DSCN0010.jpg").get_json()
    upload(phone, photos_dir / "jpg_gps_DSCN0010.jpg", photo_id=photo["id"])  # replay
    [entry] = entries("photo.create")
    assert entry.object_type == "photo" and entry.object_id == photo["id"]
    assert entry.actor_id == world.sec1.id
    details = dict(audit._details(entry.details))
    assert details["record_id"] == record_["id"]
    assert details["sha256"] == photo["sha256"]
    assert details["byte_size"] == str((photos_dir / "jpg_gps_DSCN0010.jpg").stat().st_size)


# ---- the chain ----------------------------------------------------------------------------

def test_record_many_continues_the_chain_in_one_statement(app):
    [first] = trail(1)
    assert first.prev_hash == GENESIS
    assert record_many([]) == 0
    count = record_many([{"action": "bulk", "object_id": n, "details": {"n": n}}
                         for n in range(5)], actor_name="bench")
    db.session.commit()
    bulk = entries("bulk")
    assert count == 5 and [e.id for e in bulk] == [2, 3, 4, 5, 6]
    assert bulk[0].prev_hash == first.hash
    assert all(b.prev_hash == a.hash for a, b in zip(bulk, bulk[1:], strict=False))
    assert all(audit.entry_hash(e) == e.hash for e in bulk)
    assert verify().ok and verify().checked == 6


def test_record_twice_in_one_transaction_chains_correctly(app):
    one = record("first")
    two = record("second")
    db.session.commit()
    assert (one.id, two.id) == (1, 2) and two.prev_hash == one.hash
    assert verify().ok


def test_two_entries_cannot_share_a_previous_hash(app):
    [first] = trail(1)
    fork = AuditEntry(id=2, at=first.at, action="fork", prev_hash=first.prev_hash, hash="f" * 64)
    db.session.add(fork)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert verify().ok


def test_concurrent_appends_keep_a_single_chain(app):
    """Two writers at once (two threads, two connections) must queue, never fork the chain."""
    errors = []

    def writer(name: str) -> None:
        try:
            with app.app_context():
                for n in range(10):
                    record("concurrent", actor_name=name, object_id=n)
                    db.session.commit()
                db.session.remove()
        except Exception as exc:  # reported below: a thread's exception would be lost
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    verdict = verify()
    assert verdict.ok and verdict.checked == 20


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET details = '{}'",
    "UPDATE audit_log SET action = 'nothing' WHERE id = 1",
    "DELETE FROM audit_log WHERE id = 1",
    "DELETE FROM audit_log",
])
def test_the_database_refuses_update_and_delete(app, statement):
    trail(2)
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert len(entries()) == 2 and verify().ok


# ---- flask audit verify -------------------------------------------------------------------

@pytest.fixture
def unguarded(app):
    """Drop the append-only triggers, as someone with direct database access could."""
    postgres = db.engine.dialect.name == "postgresql"
    db.session.commit()
    if postgres:
        db.session.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
    else:
        for name in ("audit_log_no_update", "audit_log_no_delete"):
            db.session.execute(text(f"DROP TRIGGER {name}"))
    db.session.commit()
    yield
    db.session.rollback()
    if postgres:  # the PostgreSQL test database is shared by every test: put the guard back
        db.session.execute(text(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"))
        db.session.commit()


def verify_cli(app, *args):
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


def tamper(*statements: str) -> None:
    for statement in statements:
        db.session.execute(text(statement))
    db.session.commit()


def test_verify_passes_on_an_intact_trail(app):
    last = trail(5)[-1]
    result = verify_cli(app)
    assert result.exit_code == 0, result.output
    assert f"5 entries checked; head 5:{last.hash}" in result.stdout
    assert "Audit trail intact." in result.stdout
    assert verify_cli(app, "--anchor", f"3:{last.prev_hash}").exit_code == 1  # wrong hash
    assert verify_cli(app, "--anchor", f"5:{last.hash}").exit_code == 0


def test_verify_catches_altered_details(app, unguarded):
    trail(5)
    tamper("UPDATE audit_log SET details = '{\"n\": 99}' WHERE id = 3")
    result = verify_cli(app)
    assert result.exit_code == 1
    assert "TAMPERED: entry 3 was altered after it was written" in result.stderr


def test_verify_catches_a_deleted_middle_entry(app, unguarded):
    trail(5)
    tamper("DELETE FROM audit_log WHERE id = 3")
    result = verify_cli(app)
    assert result.exit_code == 1
    assert "TAMPERED: entry 3 is missing" in result.stderr
    assert "entry 4 does not follow the entry before it" in result.stderr


def test_verify_catches_reordered_entries(app, unguarded):
    trail(5)
    tamper("UPDATE audit_log SET id = 100 WHERE id = 2",
           "UPDATE audit_log SET id = 2 WHERE id = 3",
           "UPDATE audit_log SET id = 3 WHERE id = 100")
    result = verify_cli(app)
    assert result.exit_code == 1
    assert "entry 2 does not follow the entry before it" in result.stderr
    assert "entry 2 was altered after it was written" in result.stderr


def test_cutting_off_the_end_is_caught_only_with_an_anchor(app, unguarded):
    head = trail(5)[-1]
    anchor = f"{head.id}:{head.hash}"
    tamper("DELETE FROM audit_log WHERE id > 3")
    assert verify_cli(app).exit_code == 0, "a chain alone cannot show a cut end"
    result = verify_cli(app, "--anchor", anchor)
    assert result.exit_code == 1
    assert "TAMPERED: anchored entry 5 is gone: entries were cut off the end" in result.stderr


def test_verify_rejects_a_malformed_anchor(app):
    result = verify_cli(app, "--anchor", "five:abc")
    assert result.exit_code == 2 and "ID:HASH" in result.output


# ---- the admin page -----------------------------------------------------------------------

def row_ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-testid="audit-row" data-id="(\d+)"', page)]


def test_the_audit_trail_needs_a_sign_in(client, world):
    assert client.get("/admin/audit").status_code == 302
    assert client.get("/admin/audit.csv").status_code == 302


@pytest.mark.parametrize("username", ["sec1", "sup_county", "inspector"])
def test_only_admins_see_the_audit_trail(client, world, login, username):
    session = login(username)
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403
    assert client.post("/admin/audit/verify", data={"csrf_token": session.csrf}).status_code == 403
    assert entries("audit.export") == [] and entries("audit.verify") == []


def test_audit_page_lists_newest_first_with_who_what_where(client, world, login, device):
    sync(device(world.sec1), visit_payload(world.h1[0]))
    login("admin")
    page = client.get("/admin/audit").get_data(as_text=True)
    visit_entry = entries("visit.create")[0]
    assert "sec1" in page and "visit.create" in page and "127.0.0.1" in page
    assert f"/review/visits/{visit_entry.object_id}" in page
    assert world.h1[0].id in page  # the details
    ids = row_ids(page)
    assert ids == sorted(ids, reverse=True) and visit_entry.id in ids


def test_audit_search_filters(client, world, login, monkeypatch):
    moments = iter([datetime(2026, 3, 1, 15, 59), datetime(2026, 3, 1, 16, 1),
                    datetime(2026, 3, 5, 2, 0)])
    monkeypatch.setattr(audit, "utcnow", lambda: next(moments))
    record("phone.reveal", actor=world.sup_t1, object_type="household", object_id="h-1")
    record("phone.reveal", actor=world.sup_t2, object_type="household", object_id="h-2")
    record("export.visits", actor=world.sup_t1, object_type="visit")
    db.session.commit()
    monkeypatch.undo()
    login("admin")

    def found(**args) -> list[int]:
        return row_ids(client.get("/admin/audit", query_string=args).get_data(as_text=True))

    assert found(actor="sup_t1") == [3, 1]
    assert found(action="phone.reveal") == [2, 1]
    assert found(object_type="household", object_id="h-2") == [2]
    # Dates are local (Asia/Shanghai): 16:01 UTC on 1 March is 00:01 on 2 March.
    assert found(**{"from": "2026-03-02", "to": "2026-03-02"}) == [2]
    assert found(to="2026-03-01") == [1]
    assert found(**{"from": "2026-03-03"})[-1] == 3
    assert found(**{"from": "not a date", "actor": "sup_t2"}) == [2]


def test_audit_page_pages_by_keyset_without_per_row_queries(client, world, login):
    record_many([{"action": "bulk", "object_id": n} for n in range(120)], actor_name="x")
    db.session.commit()
    login("admin")
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        first = client.get("/admin/audit?action=bulk").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert first.count('data-testid="audit-row"') == 50
    assert len(statements) < 15, statements
    assert row_ids(first) == list(range(120, 70, -1))
    assert 'data-testid="newer"' not in first

    def follow(page: str, testid: str) -> str:
        href = re.search(rf'href="([^"]+)" data-testid="{testid}"', page).group(1)
        return client.get(href.replace("&amp;", "&")).get_data(as_text=True)

    second = follow(first, "older")
    assert row_ids(second) == list(range(70, 20, -1))
    third = follow(second, "older")
    assert row_ids(third) == list(range(20, 0, -1)) and 'data-testid="older"' not in third
    back = follow(second, "newer")
    assert row_ids(back) == list(range(120, 70, -1)) and 'data-testid="newer"' not in back


def test_verify_button_shows_the_head_to_write_down(client, world, login):
    trail(3)
    session = login("admin")
    page = client.post("/admin/audit/verify", data={"csrf_token": session.csrf})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-ok="1"' in html
    head = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "test.event")
                              .order_by(AuditEntry.id.desc())).first()
    verified = re.search(r'data-testid="verified-anchor">(\d+):(\w+)<', html)
    assert int(verified.group(1)) >= head.id
    [check] = entries("audit.verify")
    assert dict(audit._details(check.details))["ok"] == "True" and check.actor_name == "admin"
    # The anchor written down then still verifies later.
    again = client.post("/admin/audit/verify", data={
        "csrf_token": session.csrf, "anchor": f"{verified.group(1)}:{verified.group(2)}"})
    assert 'data-ok="1"' in again.get_data(as_text=True)
    bad = client.post("/admin/audit/verify", data={"csrf_token": session.csrf, "anchor": "x"})
    assert bad.status_code == 422 and "ID:HASH" in bad.get_data(as_text=True)


def test_verify_button_names_the_tampered_entry(client, world, login, unguarded):
    trail(4)
    tamper("UPDATE audit_log SET actor_name = 'someone' WHERE id = 2")
    session = login("admin")
    html = client.post("/admin/audit/verify", data={"csrf_token": session.csrf}).get_data(
        as_text=True)
    assert 'data-ok="0"' in html and "entry 2 was altered after it was written" in html


def test_the_page_offers_an_anchor_only_for_an_intact_chain(client, world, login, unguarded):
    trail(4)
    session = login("admin")
    html = client.post("/admin/audit/verify", data={"csrf_token": session.csrf}).get_data(
        as_text=True)
    assert 'data-ok="1"' in html and 'data-testid="verified-anchor"' in html
    tamper("UPDATE audit_log SET actor_name = 'someone' WHERE id = 2")
    html = client.post("/admin/audit/verify", data={"csrf_token": session.csrf}).get_data(
        as_text=True)
    assert 'data-ok="0"' in html
    assert 'data-testid="verified-anchor"' not in html and "as an anchor" not in html
    assert 'data-testid="no-anchor"' in html


def test_the_command_prints_no_head_to_write_down_for_a_tampered_chain(app, unguarded):
    last = trail(3)[-1]
    tamper("UPDATE audit_log SET actor_name = 'someone' WHERE id = 2")
    result = verify_cli(app)
    assert result.exit_code == 1 and "3 entries checked" in result.stdout
    assert last.hash not in result.output and "not an anchor" in result.stdout


def test_verify_needs_csrf(client, world, login):
    login("admin")
    assert client.post("/admin/audit/verify").status_code == 400


def test_audit_csv_is_the_current_search_marked_and_itself_audited(client, world, login):
    record("phone.reveal", actor=world.sup_t1, object_type="household", object_id="h-1",
           details={"reason": "电话回访"})
    record("phone.reveal", actor=world.sup_t2, object_type="household", object_id="h-2")
    db.session.commit()
    login("admin")
    response = client.get("/admin/audit.csv?actor=sup_t1")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff含个人信息")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0] == ["含个人信息 — 仅限工作使用"]  # in the user's language only
    data = rows[3:]
    assert [r[2] for r in data] == ["sup_t1"] and data[0][5] == "h-1"
    [export] = entries("audit.export")
    assert export.actor_name == "admin"
    details = dict(audit._details(export.details))
    assert details["filters"] == "actor=sup_t1" and details["rows_at_start"] == "1"
    assert str(export.id) in rows[1][0] and "admin" in rows[1][0]
