"""The review loop: queue, decisions on one version, bulk approval, history, the phone's side."""
import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from fieldlog.extensions import db
from fieldlog.models import AuditEntry, Meeting, ReviewDecision, Visit
from fieldlog.services.review.decisions import returned_count
from fieldlog.services.review.display import review_summary, version_diffs
from tests.test_sync_api import sync, visit_payload


def record(record_type: str, **fields) -> dict:
    """Return a record of any type as the phone sends it."""
    now = datetime.now(UTC) - timedelta(hours=2)
    return {"type": record_type, "id": str(uuid.uuid4()), "occurred_at": now.isoformat(),
            "device_created_at": now.isoformat(), "photo_ids": [], **fields}


def meeting(**fields) -> dict:
    return record("meeting", meeting_type="villagers_say", title="村民说事：修路", **fields)


def english(client) -> None:
    with client.session_transaction() as session:
        session["locale"] = "en"


def decide(client, login_info, kind, record_id, version, decision="approve", comment="",
           follow=True):
    return client.post(f"/review/records/{kind}/{record_id}/decide", data={
        "csrf_token": login_info.csrf, "version": version, "decision": decision,
        "comment": comment}, follow_redirects=follow)


@pytest.fixture
def records(world, device):
    """sec1 (V1): a visit, a meeting, a day mark; sec2 (V2): a visit; sec3 (V3, T2): a visit."""
    phone1 = device(world.sec1)
    v1 = visit_payload(world.h1[0])
    m1 = meeting()
    d1 = record("day_mark", day=(date.today() - timedelta(days=1)).isoformat(),
                kind="official", reason="training", note="县里培训")
    sync(phone1, v1)
    sync(phone1, m1, d1)
    v2 = visit_payload(world.h2[0])
    sync(device(world.sec2), v2)
    v3 = visit_payload(world.h3[0])
    sync(device(world.sec3), v3)
    return {"v1": v1, "m1": m1, "d1": d1, "v2": v2, "v3": v3, "phone1": phone1}


def row_ids(page: str) -> list[str]:
    return re.findall(r'data-testid="queue-row" data-type="\w+" data-record-id="([^"]+)"', page)


def test_queue_shows_every_type_in_scope_oldest_first(client, world, login, records):
    login("sup_t1")
    page = client.get("/review/queue").get_data(as_text=True)
    ids = row_ids(page)
    assert set(ids) == {records[k]["id"] for k in ("v1", "m1", "d1", "v2")}
    assert records["v3"]["id"] not in page  # another township
    assert 'data-count="4"' in page
    # Oldest first: the one received earliest leads.
    assert ids[0] == records["v1"]["id"] and ids[-1] == records["v2"]["id"]
    assert 'data-testid="queue-location"' in page and "59 m" in page


def test_queue_filters_by_type_village_and_cadre(client, world, login, records):
    login("sup_county")
    assert len(row_ids(client.get("/review/queue").get_data(as_text=True))) == 5
    by_type = row_ids(client.get("/review/queue?type=meeting").get_data(as_text=True))
    assert by_type == [records["m1"]["id"]]
    by_village = row_ids(client.get(f"/review/queue?village={world.v1.id}")
                         .get_data(as_text=True))
    assert len(by_village) == 3
    by_cadre = row_ids(client.get(f"/review/queue?cadre={world.sec3.id}")
                       .get_data(as_text=True))
    assert by_cadre == [records["v3"]["id"]]


def test_queue_shows_flags_and_pages(client, world, login, device):
    login("sup_t1")
    phone = device(world.sec1)
    sync(phone, visit_payload(world.h1[0], location=None),
         *[meeting() for _ in range(25)])
    first = client.get("/review/queue").get_data(as_text=True)
    assert len(row_ids(first)) == 25
    assert 'data-kind="no_location"' not in first and 'data-testid="unlocated"' in first
    assert "/review/queue?page=2" in first
    assert len(row_ids(client.get("/review/queue?page=2").get_data(as_text=True))) == 1


def test_approve_sets_status_records_decision_and_audits(client, world, login, records):
    who = login("sup_t1")
    english(client)
    response = decide(client, who, "meeting", records["m1"]["id"], 1)
    assert "Approved." in response.get_data(as_text=True)
    row = db.session.get(Meeting, records["m1"]["id"])
    db.session.refresh(row)
    assert row.status == "approved"
    decision = db.session.scalar(select(ReviewDecision))
    assert (decision.record_type, decision.version, decision.decision) == \
        ("meeting", 1, "approved")
    assert decision.reviewer_id == world.sup_t1.id
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "review.approve", AuditEntry.object_id == row.id)) == 1
    page = client.get("/review/queue").get_data(as_text=True)
    assert records["m1"]["id"] not in row_ids(page)


def test_return_needs_a_comment_and_changes_nothing_without_one(client, world, login, records):
    who = login("sup_t1")
    english(client)
    page = decide(client, who, "visit", records["v1"]["id"], 1, "return", "  ")
    assert "a comment is required to return" in page.get_data(as_text=True)
    visit = db.session.get(Visit, records["v1"]["id"])
    assert visit.status == "submitted"
    assert db.session.scalar(select(func.count()).select_from(ReviewDecision)) == 0
    decide(client, who, "visit", records["v1"]["id"], 1, "return", "请补充户主的具体诉求。")
    db.session.refresh(visit)
    assert visit.status == "returned"
    assert db.session.scalar(select(ReviewDecision.comment)) == "请补充户主的具体诉求。"


def test_a_decision_on_an_old_version_is_refused(client, world, login, records):
    who = login("sup_t1")
    english(client)
    v1, phone = records["v1"], records["phone1"]
    [answer] = sync(phone, {**v1, "heard": "补充：屋顶漏雨。", "base_version": 1})
    assert answer["status"] == "stored" and answer["version"] == 2
    page = decide(client, who, "visit", v1["id"], 1).get_data(as_text=True)
    assert "changed this record after you opened it (now version 2)" in page
    visit = db.session.get(Visit, v1["id"])
    assert visit.status == "submitted" and visit.version == 2
    decide(client, who, "visit", v1["id"], 2)
    db.session.refresh(visit)
    assert visit.status == "approved"
    again = decide(client, who, "visit", v1["id"], 2, "return", "再看看").get_data(as_text=True)
    assert "already been reviewed" in again


def test_decisions_outside_scope_are_not_found(client, world, login, records):
    who = login("sup_t2")
    assert decide(client, who, "visit", records["v1"]["id"], 1, follow=False).status_code == 404
    assert decide(client, who, "visit", str(uuid.uuid4()), 1, follow=False).status_code == 404
    assert db.session.get(Visit, records["v1"]["id"]).status == "submitted"


def test_inspector_reads_the_queue_but_cannot_decide(client, world, login, records):
    who = login("inspector")
    page = client.get("/review/queue").get_data(as_text=True)
    assert len(row_ids(page)) == 5
    assert 'data-testid="approve"' not in page and 'data-testid="bulk-form"' not in page
    assert 'data-testid="read-only"' in page
    assert decide(client, who, "visit", records["v1"]["id"], 1, follow=False).status_code == 403
    response = client.post("/review/queue/approve", data={
        "csrf_token": who.csrf, "item": f"visit:{records['v1']['id']}:1"})
    assert response.status_code == 403
    assert db.session.get(Visit, records["v1"]["id"]).status == "submitted"


def test_secretary_cannot_see_the_queue(client, world, login, records):
    who = login("sec1")
    assert client.get("/review/queue").status_code == 403
    assert decide(client, who, "visit", records["v1"]["id"], 1, follow=False).status_code == 403


def test_bulk_approve_skips_what_it_may_not_approve(client, world, login, records):
    who = login("sup_t1")
    english(client)
    [answer] = sync(records["phone1"], {**records["m1"], "title": "改过的标题",
                                        "base_version": 1})
    assert answer["version"] == 2
    items = [f"visit:{records['v1']['id']}:1", f"day_mark:{records['d1']['id']}:1",
             f"visit:{records['v3']['id']}:1",  # outside the township
             f"meeting:{records['m1']['id']}:1",  # edited since: version 2 now
             "nonsense"]
    page = client.post("/review/queue/approve", data={"csrf_token": who.csrf, "item": items},
                       follow_redirects=True).get_data(as_text=True)
    assert "2 records approved." in page
    assert "not in your scope" in page and "changed by its author" in page
    assert "not a record" in page
    assert db.session.get(Visit, records["v1"]["id"]).status == "approved"
    assert db.session.get(Visit, records["v3"]["id"]).status == "submitted"
    assert db.session.get(Meeting, records["m1"]["id"]).status == "submitted"
    assert db.session.scalar(select(func.count()).select_from(ReviewDecision)) == 2
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "review.approve")) == 2


def test_history_shows_the_diff_after_an_edit_through_sync(client, world, login, device):
    phone = device(world.sec1)
    visit = visit_payload(world.h1[0], heard="老人身体还好。")
    sync(phone, visit)
    [answer] = sync(phone, {**visit, "heard": "老人腿疼，需要复诊。", "base_version": 1})
    assert answer["status"] == "stored" and answer["version"] == 2
    versions = version_diffs("visit", visit["id"])
    assert [v.version for v in versions] == [1, 2]
    [change] = versions[1].changes
    assert (change.name, change.old, change.new) == \
        ("heard", "老人身体还好。", "老人腿疼，需要复诊。")
    who = login("sup_t1")
    english(client)
    decide(client, who, "visit", visit["id"], 2, "return", "写清楚复诊时间。")
    page = client.get(f"/review/records/visit/{visit['id']}/history").get_data(as_text=True)
    assert page.count('data-testid="history-version"') == 2
    assert 'data-field="heard"' in page and "What was heard" in page
    unmarked = re.sub(r"</?(del|ins)>", "", page)  # the changed words are marked up
    assert "老人身体还好。" in unmarked and "老人腿疼，需要复诊。" in unmarked
    assert "<del>身体还好</del>" in page and "<ins>腿疼，需要复诊</ins>" in page
    assert "写清楚复诊时间。" in page
    assert page.index('data-version="2"') < page.index('data-testid="history-decision"')
    visit_page = client.get(f"/review/visits/{visit['id']}").get_data(as_text=True)
    assert f"/review/records/visit/{visit['id']}/history" in visit_page


def test_history_outside_scope_is_not_found(client, world, login, records):
    login("sup_t2")
    assert client.get(f"/review/records/visit/{records['v1']['id']}/history").status_code == 404
    assert client.get(f"/review/records/meeting/{records['m1']['id']}/history"
                      ).status_code == 404
    login("sec2")
    assert client.get(f"/review/records/visit/{records['v1']['id']}/history").status_code == 404


def test_history_works_for_other_types(client, world, login, records):
    [answer] = sync(records["phone1"], {**records["m1"], "attended_count": 23,
                                        "base_version": 1})
    assert answer["version"] == 2
    login("sup_t1")
    english(client)
    page = client.get(f"/review/records/meeting/{records['m1']['id']}/history"
                      ).get_data(as_text=True)
    assert 'data-field="attended_count"' in page and "Attended" in page


def test_an_approved_record_cannot_be_edited_through_sync(client, world, login, records):
    who = login("sup_t1")
    decide(client, who, "visit", records["v1"]["id"], 1)
    [answer] = sync(records["phone1"], {**records["v1"], "heard": "改", "base_version": 1})
    assert answer["status"] == "conflict" and answer["error"] == "locked"


def test_returned_list_and_count_on_the_phone(client, world, login, records):
    who = login("sup_t1")
    decide(client, who, "visit", records["v1"]["id"], 1, "return", "请补充照片说明。")
    decide(client, who, "meeting", records["m1"]["id"], 1, "return", "参会人数不对。")
    decide(client, who, "visit", records["v2"]["id"], 1, "return", "别人的")
    assert returned_count(world.sec1) == 2 and returned_count(world.sec2) == 1
    login("sec1")
    page = client.get("/m/returned").get_data(as_text=True)
    assert page.count('data-testid="returned-item"') == 2
    assert "请补充照片说明。" in page and "参会人数不对。" in page and "别人的" not in page
    assert f"/m/visits/{records['v1']['id']}/edit" in page
    assert f"/m/records/meeting/{records['m1']['id']}/edit" in page
    data = client.get("/m/returned.json").get_json()
    assert {i["id"] for i in data["items"]} == {records["v1"]["id"], records["m1"]["id"]}
    assert all(i["comment"] for i in data["items"])


def test_edit_page_is_prefilled_and_own_only(client, world, login, records):
    who = login("sup_t1")
    decide(client, who, "visit", records["v1"]["id"], 1, "return", "请写清楚诉求。")
    login("sec1")
    page = client.get(f"/m/visits/{records['v1']['id']}/edit").get_data(as_text=True)
    assert 'id="visit-edit-data"' in page and "请写清楚诉求。" in page
    embedded = json.loads(re.search(r'id="visit-edit-data">(.*?)</script>', page, re.S).group(1))
    assert embedded["version"] == 1 and embedded["record"]["heard"] == records["v1"]["heard"]
    assert embedded["record"]["household_id"] == world.h1[0].id
    assert client.get(f"/m/visits/{records['v2']['id']}/edit").status_code == 404
    login("sup_t1")
    assert client.get(f"/m/visits/{records['v1']['id']}/edit").status_code == 403


def test_edit_page_of_an_approved_visit_is_locked(client, world, login, records):
    who = login("sup_t1")
    decide(client, who, "visit", records["v1"]["id"], 1)
    login("sec1")
    page = client.get(f"/m/visits/{records['v1']['id']}/edit").get_data(as_text=True)
    assert 'data-testid="edit-locked"' in page and 'id="visit-edit-form"' not in page


def test_review_summary_counts_per_author(client, world, login, records):
    who = login("sup_t1")
    decide(client, who, "visit", records["v1"]["id"], 1)
    decide(client, who, "meeting", records["m1"]["id"], 1, "return", "补充")
    today = date.today()
    counts = review_summary([world.sec1.id, world.sec2.id, world.sup_t1.id],
                            today - timedelta(days=3), today + timedelta(days=1))
    assert counts[world.sec1.id] == {"total": 3, "submitted": 1, "approved": 1, "returned": 1}
    assert counts[world.sec2.id]["submitted"] == 1
    assert counts[world.sup_t1.id]["total"] == 0


def test_queue_query_count_does_not_grow_with_rows(client, world, login, device):
    from sqlalchemy import event

    login("sup_t1")
    phone = device(world.sec1)

    def count_queries() -> int:
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/review/queue").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    sync(phone, visit_payload(world.h1[0]), meeting())
    few = count_queries()
    sync(phone, *[visit_payload(world.h1[n % 5]) for n in range(10)],
         *[meeting() for _ in range(8)])
    many = count_queries()
    assert many == few, f"{few} queries for 2 rows, {many} for 20"
