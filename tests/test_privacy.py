"""Personal information: masking, the audited reveal, scope of sensitive tags, retention purge."""
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from fieldlog.errors import Forbidden, Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import Assignment, AuditEntry, DeviceToken, Household, User, Visit
from fieldlog.services.people.audit import verify
from fieldlog.services.people.privacy import (
    ANON_HEAD_NAME,
    ANON_USER_NAME,
    mask_id_number,
    mask_phone,
    purge_personal_data,
    reveal_household_phone,
)
from tests.conftest import PASSWORD, csrf_token
from tests.test_sync_api import sync, visit_payload


def audit_entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


# ---- masking ------------------------------------------------------------------------------

@pytest.mark.parametrize("phone, masked", [
    ("13812345678", "138****5678"),
    ("+8613812345678", "+86*******5678"),
    ("08515551234", "085****1234"),
    ("5551234", "*****34"),
    ("1234", "****"),
    ("", ""),
    (None, ""),
])
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize("number, masked", [
    ("520102199003071234", "5201**********1234"),
    ("52010219900307123X", "5201**********123X"),
    ("520102900307123", "5201********123"),
    ("E12345678", "*******78"),
    ("", ""),
])
def test_mask_id_number_hides_the_county_and_the_birth_date(number, masked):
    shown = mask_id_number(number)
    assert shown == masked and "1990" not in shown and "0307" not in shown
    assert len(shown) == len(number)


# ---- revealing a phone number -------------------------------------------------------------

@pytest.fixture
def in_request(app):
    """The reveal runs inside a request (its messages are translated for the user)."""
    with app.test_request_context("/"):
        yield


@pytest.mark.parametrize("username, purpose", [
    ("sec1", "register"), ("inspector", "callback"), ("admin", "callback")])
def test_reveal_for_a_task_that_needs_it_returns_the_number_and_is_audited(
        world, in_request, username, purpose):
    user = db.session.scalar(select(User).where(User.username == username))
    household = world.h1[2]
    assert reveal_household_phone(user, household.id, "  电话回访核实走访  ",
                                  purpose) == household.phone
    [entry] = audit_entries("phone.reveal")
    assert (entry.actor_id, entry.object_type, entry.object_id) == (
        user.id, "household", household.id)
    details = entry.details.replace(" ", "")
    assert '"reason":"电话回访核实走访"' in details and f'"purpose":"{purpose}"' in details
    assert household.phone not in entry.details
    assert verify().ok


@pytest.mark.parametrize("username, purpose", [
    ("sup_t1", "register"), ("sup_t1", "callback"), ("sup_county", "callback"),
    ("inspector", "register"), ("admin", "register"), ("sec1", "callback"),
    ("sec1", "anything")])
def test_everyone_else_in_scope_is_refused_and_nothing_is_audited(world, in_request, username,
                                                                  purpose):
    user = db.session.scalar(select(User).where(User.username == username))
    with pytest.raises(Forbidden):
        reveal_household_phone(user, world.h1[0].id, "回访", purpose)
    assert audit_entries("phone.reveal") == []


@pytest.mark.parametrize("username, purpose", [
    ("sec2", "register"), ("sec3", "register"), ("sup_t2", "callback")])
def test_reveal_outside_scope_is_not_found_and_not_audited(world, in_request, username,
                                                           purpose):
    user = db.session.scalar(select(User).where(User.username == username))
    with pytest.raises(NotFound):
        reveal_household_phone(user, world.h1[0].id, "回访", purpose)
    assert audit_entries("phone.reveal") == []


def test_reveal_needs_a_short_reason_and_a_number(world, in_request):
    for reason in ("", "   ", "x" * 201):
        with pytest.raises(Invalid) as caught:
            reveal_household_phone(world.sec1, world.h1[0].id, reason, "register")
        assert "reason" in caught.value.fields
    assert reveal_household_phone(world.sec1, world.h1[0].id, "x" * 200, "register")
    world.h1[1].phone = None
    db.session.commit()
    with pytest.raises(Invalid) as caught:
        reveal_household_phone(world.sec1, world.h1[1].id, "回访", "register")
    assert caught.value.code == "no_phone"
    with pytest.raises(NotFound):
        reveal_household_phone(world.admin, "00000000-0000-0000-0000-000000000000", "回访",
                               "callback")
    assert len(audit_entries("phone.reveal")) == 1


@pytest.fixture
def v1_visit(world, device):
    record = visit_payload(world.h1[0])
    sync(device(world.sec1), record)
    return record["id"]


@pytest.mark.parametrize("username", ["sec1", "sup_t1", "sup_county", "inspector", "admin"])
def test_the_visit_page_masks_the_phone_for_every_role_and_offers_no_reveal(
        client, world, login, v1_visit, username):
    phone = world.h1[0].phone
    session = login(username)
    page = client.get(f"/review/visits/{v1_visit}").get_data(as_text=True)
    assert mask_phone(phone) in page and phone not in page
    assert 'data-testid="reveal-form"' not in page
    assert ('data-testid="phone-in-register"' in page) == (username == "sec1")
    gone = client.post(f"/review/visits/{v1_visit}/reveal-phone",
                       data={"csrf_token": session.csrf, "reason": "电话回访"})
    assert gone.status_code in (404, 405) and phone not in gone.get_data(as_text=True)
    assert audit_entries("phone.reveal") == []


def test_the_villages_secretary_reveals_a_number_in_the_register_once(client, world, login):
    household = world.h1[0]
    url = f"/register/households/{household.id}"
    session = login("sec1")
    page = client.get(url).get_data(as_text=True)
    assert household.phone not in page and 'data-testid="reveal-form"' in page
    empty = client.post(f"{url}/reveal-phone", data={"csrf_token": session.csrf, "reason": " "})
    assert empty.status_code == 422 and household.phone not in empty.get_data(as_text=True)
    assert 'role="alert"' in empty.get_data(as_text=True)
    assert client.post(f"{url}/reveal-phone", data={"reason": "回访"}).status_code == 400
    shown = client.post(f"{url}/reveal-phone",
                        data={"csrf_token": session.csrf, "reason": "回电说明诉求进展"})
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert re.search(rf'href="tel:{household.phone}"', shown.get_data(as_text=True))
    [entry] = audit_entries("phone.reveal")
    assert entry.actor_name == "sec1" and entry.object_id == household.id
    assert household.phone not in client.get(url).get_data(as_text=True)  # shown once


@pytest.mark.parametrize("username, status", [("admin", 403), ("sup_t1", 403), ("sec2", 404)])
def test_no_one_else_reveals_in_the_register(client, world, login, username, status):
    household = world.h1[0]
    session = login(username)
    page = client.get(f"/register/households/{household.id}").get_data(as_text=True)
    assert 'data-testid="reveal-form"' not in page and household.phone not in page
    response = client.post(f"/register/households/{household.id}/reveal-phone",
                           data={"csrf_token": session.csrf, "reason": "回访"})
    assert response.status_code == status and household.phone not in response.get_data(
        as_text=True)
    assert audit_entries("phone.reveal") == []


def test_secretary_sees_own_households_phone_masked(client, world, login, v1_visit):
    login("sec1")
    page = client.get(f"/review/visits/{v1_visit}").get_data(as_text=True)
    assert mask_phone(world.h1[0].phone) in page and world.h1[0].phone not in page
    home = client.get("/m/").get_data(as_text=True)
    assert world.h1[0].phone not in home


# ---- sensitive tags stay in scope ---------------------------------------------------------

def test_no_page_or_api_outside_scope_shows_v1_households_or_tags(client, world, login,
                                                                  device, v1_visit):
    """sup_t2 (西川乡) and sec3 (河湾村) see nothing of 北堡村's households, tags or phones."""
    v1_names = [h.head_name for h in world.h1]
    v1_phones = [h.phone for h in world.h1]
    tagged = [h for h in world.h1 if h.tags]  # hardship, petitioner, low_income …
    assert {"hardship", "petitioner", "low_income"} <= {t for h in tagged for t in h.tags}

    def leaks(text: str) -> list[str]:
        return [s for s in v1_names + v1_phones + [world.h1[0].id] if s in text]

    login("sup_t2")
    assert leaks(client.get("/review/").get_data(as_text=True)) == []
    assert leaks(client.get(f"/review/?village={world.v1.id}").get_data(as_text=True)) == []
    assert client.get(f"/review/visits/{v1_visit}").status_code == 404
    assert leaks(client.get("/review/visits.csv").get_data(as_text=True)) == []
    assert leaks(client.get(f"/review/visits.csv?village={world.v1.id}")
                 .get_data(as_text=True)) == []
    api = client.get("/api/v1/households")
    assert api.status_code == 200 and api.get_json() == {"households": []}

    sec3 = device(world.sec3)
    households = sec3.get("/api/v1/households").get_json()["households"]
    assert {h["id"] for h in households} == {h.id for h in world.h3}
    assert leaks(str(households)) == []
    assert all("phone" not in h for h in households)


# ---- retention ----------------------------------------------------------------------------

def end_assignments(user: User, days_ago: int) -> None:
    for row in db.session.scalars(select(Assignment).where(Assignment.user_id == user.id)):
        row.end_date = date.today() - timedelta(days=days_ago)
        row.start_date = min(row.start_date, row.end_date - timedelta(days=730))  # a term
    db.session.commit()


def test_purge_anonymises_cadres_and_households_whose_work_ended(world, device):
    phone = device(world.sec1)
    record = visit_payload(world.h1[0])
    sync(phone, record)
    end_assignments(world.sec1, 1826)  # V1's only secretary left five years and a day ago
    end_assignments(world.sec2, 1824)  # V2's one day short of five years
    plan = purge_personal_data(1825)
    assert (plan.user_ids, sorted(plan.household_ids)) == (
        [world.sec1.id], sorted(h.id for h in world.h1))

    sec1 = db.session.get(User, world.sec1.id)
    assert (sec1.display_name, sec1.username, sec1.phone, sec1.active) == (
        ANON_USER_NAME, f"anon-{sec1.id}", None, False)
    assert sec1.anonymised_at is not None and PASSWORD not in sec1.password_hash
    assert all(t.revoked_at for t in db.session.scalars(
        select(DeviceToken).where(DeviceToken.user_id == sec1.id)))
    assert phone.get("/api/v1/me").status_code == 401
    for household in world.h1:
        db.session.refresh(household)
        assert (household.head_name, household.phone, household.lat, household.lon) == (
            ANON_HEAD_NAME, None, None, None)
        assert household.anonymised_at and household.house_label.startswith("匿名-")
    # The work record stays, free text and all.
    visit = db.session.get(Visit, record["id"])
    assert visit.heard.startswith("老人") and visit.author_id == sec1.id
    # Everything else is untouched.
    assert db.session.get(User, world.sec2.id).username == "sec2"
    assert all(db.session.get(Household, h.id).anonymised_at is None for h in world.h2 + world.h3)

    by_type = {e.object_type: e for e in audit_entries("privacy.anonymise")}
    assert set(by_type) == {"user", "household"}
    assert f'"ids":[{sec1.id}]' in by_type["user"].details.replace(" ", "")
    assert '"count":5' in by_type["household"].details.replace(" ", "")
    assert verify().ok


def test_purge_is_idempotent(world):
    end_assignments(world.sec1, 2000)
    first = purge_personal_data(1825)
    second = purge_personal_data(1825)
    assert len(first.user_ids) == 1 and len(first.household_ids) == 5
    assert second.user_ids == [] and second.household_ids == []
    assert len(audit_entries("privacy.anonymise")) == 2


def test_purge_keeps_a_cadre_with_a_current_term_and_villages_never_staffed(world):
    end_assignments(world.sec1, 2000)
    db.session.add(Assignment(user_id=world.sec1.id, village_id=world.v2.id,
                              start_date=date.today() - timedelta(days=30), end_date=None,
                              dispatching_unit="县农业农村局"))
    # V3's only term ended long ago, but V1 still had sec1 … and a village with no term at all
    # (a register imported ahead of its first secretary) is left alone.
    db.session.execute(Assignment.__table__.delete().where(Assignment.village_id == world.v3.id))
    db.session.commit()
    plan = purge_personal_data(1825)
    assert plan.user_ids == []
    assert sorted(plan.household_ids) == sorted(h.id for h in world.h1)


def test_dry_run_changes_nothing(app, world):
    end_assignments(world.sec1, 2000)
    result = app.test_cli_runner().invoke(args=["privacy", "purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Would anonymise 1 cadre(s) and 5 household(s)" in result.output
    assert f"Cadres: {world.sec1.id}" in result.output and world.h1[0].id in result.output
    assert db.session.get(User, world.sec1.id).anonymised_at is None
    assert audit_entries("privacy.anonymise") == []


def test_purge_command_uses_the_configured_retention_or_days(app, world):
    end_assignments(world.sec1, 40)
    runner = app.test_cli_runner()
    assert "Anonymised 0 cadre(s)" in runner.invoke(args=["privacy", "purge"]).output
    app.config["PERSONAL_DATA_RETENTION_DAYS"] = 30
    assert "Anonymised 1 cadre(s) and 5 household(s)" in runner.invoke(
        args=["privacy", "purge"]).output
    assert runner.invoke(args=["privacy", "purge", "--days", "0"]).exit_code == 2
    assert db.session.get(User, world.sec1.id).username == f"anon-{world.sec1.id}"


def test_anonymised_cadre_cannot_sign_in(client, world):
    end_assignments(world.sec1, 2000)
    purge_personal_data(1825)
    for username in ("sec1", f"anon-{world.sec1.id}"):
        response = client.post("/login", data={"username": username, "password": PASSWORD,
                                               "csrf_token": csrf_token(client)})
        assert response.status_code == 401, username
    assert client.get("/m/").status_code == 302
