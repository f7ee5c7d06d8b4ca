"""The villagers' issue ledger: items from visits, changes through sync and the web, scope."""
import re
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from fieldlog.extensions import db
from fieldlog.models import AuditEntry, LedgerEvent, LedgerItem, LedgerLink
from fieldlog.services.records.ledger import (
    Filters,
    is_overdue,
    ledger_counts,
    list_items,
    open_item_dicts,
    overdue_items,
    state_counts,
)
from tests.test_sync_api import sync, visit_payload


def item_payload(household=None, **overrides) -> dict:
    """Return a ledger item as the phone sends it."""
    now = datetime.now(UTC)
    payload = {
        "type": "ledger_item", "id": str(uuid.uuid4()),
        "occurred_at": (now - timedelta(hours=2)).isoformat(),
        "device_created_at": (now - timedelta(hours=2)).isoformat(),
        "household_id": household.id if household else None, "raiser_name": "",
        "category": "infrastructure", "content": "希望修缮屋后排水沟。",
        "handler": "village_committee", "handler_note": "", "due_date": None, "source": None,
    }
    payload.update(overrides)
    return payload


def update_payload(item_id: str, **fields) -> dict:
    now = datetime.now(UTC).isoformat()
    return {"type": "ledger_update", "id": str(uuid.uuid4()), "item_id": item_id,
            "occurred_at": now, "device_created_at": now, **fields}


def events_of(item_id: str) -> int:
    return db.session.scalar(select(func.count()).select_from(LedgerEvent)
                             .where(LedgerEvent.item_id == item_id))


def make_item(world, device, household=None, **overrides) -> str:
    household = household or world.h1[0]
    sec = world.sec1 if household.village_id == world.v1.id else world.sec3
    record = item_payload(household, **overrides)
    [answer] = sync(device(sec), record)
    assert answer["status"] == "stored", answer
    return record["id"]


def en(client) -> None:
    with client.session_transaction() as s:
        s["locale"] = "en"


# --- from a visit, through sync ------------------------------------------------------------

def test_visit_with_request_and_item_from_it_are_listed_with_the_link(client, world, device,
                                                                      login):
    phone = device(world.sec1)
    visit = visit_payload(world.h1[1], requests="希望帮助申请临时救助。")
    item = item_payload(world.h1[1], content=visit["requests"], category="social_security",
                        source={"type": "visit", "id": visit["id"]})
    answers = sync(phone, item, visit)  # order in a batch does not matter: visits go first
    assert [a["status"] for a in answers] == ["stored", "stored"], answers
    link = db.session.scalar(select(LedgerLink).where(LedgerLink.item_id == item["id"]))
    assert (link.record_type, link.record_id) == ("visit", visit["id"])

    login("sec1")
    en(client)
    page = client.get("/m/ledger").get_data(as_text=True)
    assert f'data-item-id="{item["id"]}"' in page and "希望帮助申请临时救助" in page
    detail = client.get(f"/m/ledger/{item['id']}").get_data(as_text=True)
    assert f'data-record-id="{visit["id"]}"' in detail  # where it was raised
    assert world.h1[1].head_name in detail
    assert world.h1[1].phone not in detail
    # The visit form offers the household's open items, offline (embedded in the page).
    form = client.get(f"/m/visits/new?household={world.h1[1].id}").get_data(as_text=True)
    assert item["id"] in form and 'data-testid="ledger-offer"' in form


def test_item_with_a_source_not_on_the_server_is_refused(world, device):
    [answer] = sync(device(world.sec1), item_payload(
        world.h1[0], source={"type": "visit", "id": str(uuid.uuid4())}))
    assert answer["status"] == "invalid" and "source" in answer["fields"]
    assert db.session.scalar(select(func.count()).select_from(LedgerItem)) == 0


def test_link_to_an_existing_item_adds_a_source(world, device):
    phone = device(world.sec1)
    item_id = make_item(world, device)
    visit = visit_payload(world.h1[0])
    answers = sync(phone, visit, update_payload(item_id, link={"type": "visit",
                                                                "id": visit["id"]}))
    assert [a["status"] for a in answers] == ["stored", "stored"]
    assert db.session.scalar(select(LedgerLink.record_id).where(
        LedgerLink.item_id == item_id)) == visit["id"]


# --- updates -------------------------------------------------------------------------------

def test_transitions_valid_invalid_and_replayed(world, device):
    phone = device(world.sec1)
    item_id = make_item(world, device)

    [bad] = sync(phone, update_payload(item_id, to_state="feedback"))
    assert bad["status"] == "invalid" and "to_state" in bad["fields"]
    db.session.expire_all()
    assert db.session.get(LedgerItem, item_id).state == "open"
    assert events_of(item_id) == 0

    start = update_payload(item_id, to_state="in_progress", note="已联系村委会")
    [ok] = sync(phone, start)
    assert ok["status"] == "stored"
    [again] = sync(phone, start)  # a replay of the same update
    assert again["status"] == "stored"
    assert events_of(item_id) == 1

    for to_state in ("resolved", "feedback"):
        [answer] = sync(phone, update_payload(item_id, to_state=to_state))
        assert answer["status"] == "stored", answer
    db.session.expire_all()
    item = db.session.get(LedgerItem, item_id)
    assert item.state == "feedback" and item.resolved_at and item.feedback_at
    [reopen] = sync(phone, update_payload(item_id, to_state="in_progress",
                                          due_date=(date.today() + timedelta(7)).isoformat()))
    assert reopen["status"] == "stored"
    db.session.expire_all()
    item = db.session.get(LedgerItem, item_id)
    assert item.state == "in_progress" and item.resolved_at is None and item.due_date
    assert events_of(item_id) == 4


def test_secretary_of_another_village_cannot_update(world, device):
    item_id = make_item(world, device)
    [answer] = sync(device(world.sec2), update_payload(item_id, to_state="in_progress"))
    assert answer["status"] == "forbidden"
    db.session.expire_all()
    assert db.session.get(LedgerItem, item_id).state == "open"
    assert events_of(item_id) == 0


# --- overdue and counts --------------------------------------------------------------------

def test_overdue_computation(world, device):
    today = date.today()
    late = make_item(world, device, due_date=(today - timedelta(days=1)).isoformat())
    due_today = make_item(world, device, due_date=today.isoformat())
    late_but_done = make_item(world, device, due_date=(today - timedelta(days=5)).isoformat())
    sync(device(world.sec1), update_payload(late_but_done, to_state="resolved"))
    no_due = make_item(world, device)
    found = {i.id for i in db.session.scalars(overdue_items(today))}
    assert found == {late}
    items = {i.id: i for i in db.session.scalars(select(LedgerItem))}
    assert is_overdue(items[late], today) and not is_overdue(items[due_today], today)
    assert not is_overdue(items[late_but_done], today) and not is_overdue(items[no_due], today)
    counts = state_counts(world.sup_t1, Filters(), today)
    assert counts == {"open": 3, "in_progress": 0, "resolved": 1, "feedback": 0, "overdue": 1}
    page = list_items(world.sup_t1, Filters(overdue=True), today)
    assert [i.id for i in page.items] == [late]
    assert list_items(world.sup_t1, Filters(), today).items[0].id == late  # overdue first
    assert [d["id"] for d in open_item_dicts(world.v1.id, today) if d["overdue"]] == [late]


def test_ledger_counts_per_author_in_one_query(app, world, device):
    today = date.today()
    make_item(world, device, due_date=(today - timedelta(days=2)).isoformat())
    done = make_item(world, device)
    sync(device(world.sec1), update_payload(done, to_state="resolved"))
    make_item(world, device, household=world.h3[0])
    counts = ledger_counts([world.sec1.id, world.sec2.id, world.sec3.id],
                           today - timedelta(days=30), today, today)
    assert counts[world.sec1.id] == {"opened": 2, "resolved": 1, "overdue": 1}
    assert counts[world.sec2.id] == {"opened": 0, "resolved": 0, "overdue": 0}
    assert counts[world.sec3.id] == {"opened": 1, "resolved": 0, "overdue": 0}
    old = ledger_counts([world.sec1.id], today - timedelta(days=90), today - timedelta(days=60),
                        today)
    assert old[world.sec1.id]["opened"] == 0


# --- scope ---------------------------------------------------------------------------------

def test_supervisor_of_another_township_sees_nothing_of_v1(client, world, device, login):
    item_id = make_item(world, device)
    login("sup_t2")
    assert client.get(f"/ledger/{item_id}").status_code == 404
    page = client.get("/ledger").get_data(as_text=True)
    assert item_id not in page and world.h1[0].head_name not in page
    assert list_items(world.sup_t2, Filters(), date.today()).total == 0


def test_secretary_pages_are_their_village_only(client, world, device, login):
    foreign = make_item(world, device, household=world.h3[0])
    own = make_item(world, device)
    login("sec1")
    assert client.get(f"/m/ledger/{foreign}").status_code == 404
    assert client.get(f"/m/ledger/{own}").status_code == 200
    assert client.get("/ledger").status_code == 403
    data = client.get("/m/ledger.json").get_json()
    assert [i["id"] for i in data["items"]] == [own]
    assert "phone" not in str(data) and world.h1[0].phone not in str(data)


def test_supervisor_lists_filters_and_paginates(client, world, device, login):
    for n in range(32):
        make_item(world, device, content=f"诉求{n}", category="health" if n % 2 else "housing")
    make_item(world, device, household=world.h3[0])
    login("sup_t1")
    en(client)
    page = client.get("/ledger").get_data(as_text=True)
    assert page.count('data-testid="ledger-row"') == 30 and "1 / 2" in page
    assert 'data-testid="count-open" data-count="32"' in page
    second = client.get("/ledger?page=2").get_data(as_text=True)
    assert second.count('data-testid="ledger-row"') == 2
    health = client.get("/ledger?category=health").get_data(as_text=True)
    assert health.count('data-testid="ledger-row"') == 16
    none = client.get(f"/ledger?village={world.v2.id}").get_data(as_text=True)
    assert 'data-testid="ledger-empty"' in none


# --- the web form ----------------------------------------------------------------------------

def test_supervisor_changes_an_item_from_the_web_with_an_audit_entry(client, world, device,
                                                                     login):
    item_id = make_item(world, device)
    session = login("sup_t1")
    en(client)
    response = client.post(f"/ledger/{item_id}/change", data={
        "csrf_token": session.csrf, "to_state": "in_progress", "handler": "township",
        "handler_note": "镇民政办", "due_date": "2026-12-31", "note": "已电话督办"})
    assert response.status_code == 302
    db.session.expire_all()
    item = db.session.get(LedgerItem, item_id)
    assert (item.state, item.handler, item.handler_note, item.due_date) == (
        "in_progress", "township", "镇民政办", date(2026, 12, 31))
    event = db.session.scalar(select(LedgerEvent).where(LedgerEvent.item_id == item_id))
    assert event.actor_id == world.sup_t1.id and event.note == "已电话督办"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "ledger_item.update"))
    assert entry is not None and entry.object_id == item_id
    page = client.get(f"/ledger/{item_id}").get_data(as_text=True)
    assert "已电话督办" in page and "SUP_T1" in page


def test_bad_web_transition_says_why_and_changes_nothing(client, world, device, login):
    item_id = make_item(world, device)
    session = login("sup_t1")
    en(client)
    response = client.post(f"/ledger/{item_id}/change", data={
        "csrf_token": session.csrf, "to_state": "feedback", "handler": "village_committee"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert re.search(r"cannot go from .To handle. to .Reported back.", text), text[:3000]
    nothing = client.post(f"/ledger/{item_id}/change", data={
        "csrf_token": session.csrf, "handler": "village_committee", "handler_note": ""})
    assert nothing.status_code == 422 and "Nothing to change" in nothing.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(LedgerItem, item_id).state == "open"
    assert events_of(item_id) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "ledger_item.update")) == 0


def test_inspector_reads_but_cannot_change(client, world, device, login):
    item_id = make_item(world, device)
    session = login("inspector")
    assert client.get(f"/ledger/{item_id}").status_code == 200
    assert 'data-testid="ledger-change-form"' not in client.get(
        f"/ledger/{item_id}").get_data(as_text=True)
    response = client.post(f"/ledger/{item_id}/change", data={
        "csrf_token": session.csrf, "to_state": "in_progress"})
    assert response.status_code == 403


def test_supervisor_of_another_township_cannot_change(client, world, device, login):
    item_id = make_item(world, device)
    session = login("sup_t2")
    response = client.post(f"/ledger/{item_id}/change", data={
        "csrf_token": session.csrf, "to_state": "in_progress"})
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(LedgerItem, item_id).state == "open"


def test_phone_pages_render(client, world, device, login):
    make_item(world, device, due_date=(date.today() - timedelta(days=3)).isoformat())
    [answer] = sync(device(world.sec1), item_payload(None, raiser_name="三组村民"))
    assert answer["status"] == "stored"
    login("sec1")
    page = client.get("/m/ledger").get_data(as_text=True)
    assert page.count('data-testid="ledger-item"') == 2
    assert 'data-testid="count-overdue">1<' in page
    assert "三组村民" in page
    assert client.get("/m/ledger/new").status_code == 200


def test_period_and_overdue_filters_on_the_web(client, world, device, login):
    today = date.today()
    old = make_item(world, device, occurred_at=(datetime.now(UTC) - timedelta(days=40))
                    .isoformat(), due_date=(today - timedelta(days=30)).isoformat())
    new = make_item(world, device)
    login("sup_county")
    start = (today - timedelta(days=7)).isoformat()
    recent = client.get(f"/ledger?start={start}&end={today.isoformat()}").get_data(as_text=True)
    assert new in recent and old not in recent
    late = client.get("/ledger?overdue=1").get_data(as_text=True)
    assert old in late and new not in late
    assert 'data-testid="count-overdue" data-count="1"' in late
    bad = client.get("/ledger?start=not-a-date&state=nonsense&village=x")
    assert bad.status_code == 200 and new in bad.get_data(as_text=True)
