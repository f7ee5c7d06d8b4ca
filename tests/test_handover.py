"""The handover list (交接清单): what is handed over, who may read it, its print and audit.

The county's day is pinned to 2026-11-20; sec1's term in V1 ended on 2026-11-10 and SEC1B took
over on the 11th. Records are sent through the sync API as the phones send them.
"""
import uuid
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import Assignment, AuditEntry, User
from fieldlog.services.reporting.figures import cadre_figures
from fieldlog.services.reporting.handover import (
    handover,
    phone_handovers,
    readable_term,
    terms_to_hand_over,
)
from fieldlog.services.reporting.period import Period
from tests.conftest import SHANGHAI
from tests.test_ledger import item_payload
from tests.test_meetings import action_payload, goal_payload, meeting_payload
from tests.test_sync_api import sync, visit_payload

TODAY = date(2026, 11, 20)
END = date(2026, 11, 10)


def at(day: date, hour: int = 10) -> str:
    """Return a county-local moment as the phone sends it (ISO with offset)."""
    return datetime.combine(day, time(hour), SHANGHAI).isoformat()


def times(day: date, hour: int = 10) -> dict:
    return {"occurred_at": at(day, hour), "device_created_at": at(day, hour)}


def update(item_id: str, day: date, to_state: str, hour: int = 11) -> dict:
    return {"type": "ledger_update", "id": str(uuid.uuid4()), "item_id": item_id,
            "to_state": to_state, **times(day, hour)}


def stored(phone, *records) -> None:
    answers = sync(phone, *records)
    assert [a["status"] for a in answers] == ["stored"] * len(records), answers


@pytest.fixture
def handed(world, today_is, password_hash):
    """sec1's term in V1 ends on END; SEC1B (sec1b) is assigned from the next day."""
    today_is(TODAY)
    term = db.session.scalar(select(Assignment).where(Assignment.user_id == world.sec1.id))
    term.end_date = END
    successor = User(username="sec1b", display_name="SEC1B", role="secretary",
                     scope_unit_id=world.v1.id, password_hash=password_hash)
    db.session.add(successor)
    db.session.flush()
    next_term = Assignment(user_id=successor.id, village_id=world.v1.id,
                           start_date=END + timedelta(days=1), dispatching_unit="县教育局")
    db.session.add(next_term)
    db.session.commit()
    return SimpleNamespace(term=term, successor=successor, next_term=next_term)


@pytest.fixture
def ledger(world, device, handed):
    """Items of V1 in every situation a handover meets; return name → item id."""
    old, new = device(world.sec1), device(handed.successor)
    h = world.h1
    items = {
        "open": item_payload(h[0], **times(date(2026, 9, 3)), content="希望修缮屋后排水沟"),
        "in_progress": item_payload(h[1], **times(date(2026, 10, 8)), content="申请临时救助",
                                    category="social_security", due_date="2026-11-01"),
        "resolved_before": item_payload(h[2], **times(date(2026, 8, 1)), content="路灯坏了"),
        "resolved_after": item_payload(h[3], **times(date(2026, 10, 20)), content="自来水压力小",
                                       due_date="2026-12-01"),
        "raised_after": item_payload(h[4], **times(date(2026, 11, 15)), content="新的诉求"),
        "not_a_household": item_payload(None, raiser_name="村民李某",
                                        **times(date(2026, 7, 5)), content="希望组织技能培训",
                                        category="industry_jobs"),
    }
    stored(old, *[items[k] for k in items if k != "raised_after"])
    stored(new, items["raised_after"])
    stored(old, update(items["in_progress"]["id"], date(2026, 10, 9), "in_progress"),
           update(items["resolved_before"]["id"], date(2026, 8, 20), "in_progress"),
           update(items["resolved_before"]["id"], date(2026, 9, 1), "resolved"))
    # The successor resolves one of the inherited items after the term ended.
    stored(new, update(items["resolved_after"]["id"], date(2026, 11, 14), "resolved"))
    foreign = item_payload(world.h3[0], **times(date(2026, 9, 3)), content="河湾村的诉求")
    stored(device(world.sec3), foreign)
    return {k: v["id"] for k, v in {**items, "foreign": foreign}.items()}


# --- what is handed over -----------------------------------------------------------------------

def test_open_items_as_of_the_term_end(world, handed, ledger):
    h = handover(handed.term)
    assert h.ended and h.as_of == END
    listed = {i.id: i for i in h.items}
    assert set(listed) == {ledger["open"], ledger["in_progress"], ledger["resolved_after"],
                           ledger["not_a_household"]}
    # A resolved item, one raised after the end and another village's item are not listed.
    assert ledger["resolved_before"] not in listed and ledger["raised_after"] not in listed
    assert ledger["foreign"] not in listed
    progress = listed[ledger["in_progress"]]
    assert (progress.state, progress.overdue, progress.due_date) == (
        "in_progress", True, date(2026, 11, 1))
    assert progress.last_change == date(2026, 10, 9) and progress.raised_on == date(2026, 10, 8)
    assert progress.waiting == world.h1[1].head_name and progress.raised_by == "SEC1"
    # Resolved after the end: handed over as open, with what happened since beside it.
    later = listed[ledger["resolved_after"]]
    assert (later.state, later.state_now, later.closed_on) == ("open", "resolved",
                                                               date(2026, 11, 14))
    assert not later.overdue and later.last_change == date(2026, 10, 20)
    assert listed[ledger["not_a_household"]].waiting == "村民李某"
    assert h.items[0].id == ledger["in_progress"], "overdue items come first"


def test_a_running_term_lists_as_of_today(world, handed, ledger):
    h = handover(handed.next_term)
    assert not h.ended and h.as_of == TODAY
    listed = {i.id for i in h.items}
    # Everything still open in the village now, whoever raised it.
    assert listed == {ledger["open"], ledger["in_progress"], ledger["raised_after"],
                      ledger["not_a_household"]}


def test_pledges_deeds_and_goals_not_done_by_the_end(world, device, handed):
    day = date(2026, 6, 1)
    actions = {
        "pledge_open": action_payload(action_type="pledge", title="年内硬化三组道路",
                                      state="planned", due_date="2026-10-31", **times(day)),
        "pledge_done": action_payload(action_type="pledge", title="建成村级图书室",
                                      state="done", done_on="2026-09-30", **times(day)),
        "pledge_done_later": action_payload(action_type="pledge", title="引进茶叶加工厂",
                                            state="done", done_on="2026-11-15", **times(day)),
        "deed_under_way": action_payload(**times(day)),
        "lecture_planned": action_payload(action_type="party_lecture", title="讲党课",
                                          state="planned", **times(day)),
    }
    goals = {"open": goal_payload(**times(day)),
             "done": goal_payload(goal_type="strong_team", title="建强班子", state="done",
                                  **times(day))}
    stored(device(world.sec1), *actions.values(), *goals.values())
    h = handover(handed.term)
    listed = {a.id: a for a in h.actions}
    assert set(listed) == {actions[k]["id"] for k in
                           ("pledge_open", "pledge_done_later", "deed_under_way")}
    assert listed[actions["pledge_open"]["id"]].overdue
    later = listed[actions["pledge_done_later"]["id"]]
    assert (later.state, later.done_on) == ("under_way", date(2026, 11, 15))
    assert [g.id for g in h.goals] == [goals["open"]["id"]]
    assert h.goals[0].author == "SEC1"


def test_summary_is_the_figures_of_the_term(world, device, handed):
    phone = device(world.sec1)
    stored(phone, visit_payload(world.h1[0], **times(date(2026, 10, 2))),
           visit_payload(world.h1[1], **times(date(2026, 10, 3))),
           meeting_payload(**times(date(2026, 10, 5))),
           meeting_payload(**times(date(2026, 11, 12))))  # after the end: not the term's
    h = handover(handed.term)
    assert h.figures.meetings_total == 1 and h.figures.visits["total"] == 2
    assert h.figures.visit_all == [2, 5]
    again = cadre_figures([world.sec1.id], Period("span", "x", date(2026, 1, 1), END))
    assert again[world.sec1.id].visits == h.figures.visits
    assert again[world.sec1.id].visit_all == h.figures.visit_all


def test_the_successor_acts_on_inherited_items_from_the_phone(client, world, device, handed,
                                                               ledger, login):
    stored(device(handed.successor), update(ledger["open"], date(2026, 11, 18), "in_progress"))
    login("sec1b")
    page = client.get("/m/ledger").get_data(as_text=True)
    assert f'data-item-id="{ledger["open"]}"' in page and "希望修缮屋后排水沟" in page
    assert client.get(f"/m/ledger/{ledger['open']}").status_code == 200


# --- who may read it ---------------------------------------------------------------------------

@pytest.mark.parametrize(("username", "code"), [
    ("sup_t1", 200), ("sup_county", 200), ("admin", 200), ("sec1", 200), ("sec1b", 200),
    ("sup_t2", 404), ("sec2", 404), ("sec3", 404), ("inspector", 403)])
def test_who_reads_the_handover(client, world, handed, ledger, login, username, code):
    login(username)
    for url in (f"/handover/{handed.term.id}", f"/handover/{handed.term.id}/print"):
        response = client.get(url)
        assert response.status_code == code, (url, response.status_code)
        body = response.get_data(as_text=True)
        assert ("希望修缮屋后排水沟" in body) == (code == 200)


def test_an_earlier_cadre_of_the_village_cannot_read_a_later_handover(world, handed):
    # sec1 came after nobody; SEC1B's term is later than sec1's, never the other way round.
    sec1 = db.session.get(User, world.sec1.id)
    assert readable_term(sec1, handed.term.id).id == handed.term.id
    with pytest.raises(Exception, match="No such term"):
        readable_term(sec1, handed.next_term.id)


def test_anonymous_and_unknown(client, world, handed, login):
    response = client.get(f"/handover/{handed.term.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login("admin")
    assert client.get("/handover/999999").status_code == 404
    assert client.get("/handover/999999/print").status_code == 404


def test_page_in_chinese_and_english(client, world, handed, ledger, login):
    login("sup_t1")
    page = client.get(f"/handover/{handed.term.id}").get_data(as_text=True)
    assert "交接清单" in page and "SEC1B" in page and "逾期" in page
    with client.session_transaction() as s:
        s["locale"] = "en"
    page = client.get(f"/handover/{handed.term.id}").get_data(as_text=True)
    assert "Handover list" in page and "Villagers' requests still open" in page


def test_print_is_audited_and_has_the_signature_block(client, world, handed, ledger, login):
    login("sup_t1")
    before = db.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    sheet = client.get(f"/handover/{handed.term.id}/print").get_data(as_text=True)
    for words in ("移交人", "接收人", "监交人", "交接清单", "SEC1B"):
        assert words in sheet, words
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.id > (before or 0),
                                                       AuditEntry.action == "handover.print"))
    assert entry is not None and entry.object_id == str(handed.term.id)
    assert f"{entry.id}" in sheet
    # Reading the page is not an entry; printing again is another.
    client.get(f"/handover/{handed.term.id}")
    client.get(f"/handover/{handed.term.id}/print")
    assert db.session.query(AuditEntry).filter_by(action="handover.print").count() == 2


# --- where it is offered -----------------------------------------------------------------------

def test_links_on_the_phone_and_the_desk(client, world, handed, login):
    sec1 = db.session.get(User, world.sec1.id)
    assert [(side, t.id) for side, t in phone_handovers(sec1, TODAY)] == [
        ("outgoing", handed.term.id)]
    assert [(side, t.id) for side, t in phone_handovers(handed.successor, TODAY)] == [
        ("incoming", handed.term.id)]
    assert phone_handovers(db.session.get(User, world.sec2.id), TODAY) == []
    assert terms_to_hand_over([world.sec1.id, world.sec2.id], TODAY) == {
        world.sec1.id: handed.term.id}

    login("sec1b")
    home = client.get("/m/").get_data(as_text=True)
    assert f'href="/handover/{handed.term.id}"' in home and 'data-side="incoming"' in home
    login("sup_t1")
    table = client.get("/progress/?kind=term").get_data(as_text=True)
    assert f'href="/handover/{handed.term.id}"' in table
    cadre = client.get(f"/progress/cadre/{world.sec1.id}").get_data(as_text=True)
    assert f'href="/handover/{handed.term.id}"' in cadre
