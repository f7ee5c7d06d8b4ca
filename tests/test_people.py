"""Administering people: accounts with one-time passwords, admin scope, deactivation, terms."""
from datetime import date

import pytest
from sqlalchemy import func, select

from fieldlog.errors import Forbidden, Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import Assignment, AuditEntry, User, Visit
from fieldlog.services.people import terms, users
from fieldlog.services.people.auth import (
    SignInRefused,
    issue_device_token,
    sign_in,
    user_for_device_token,
)
from tests.conftest import PASSWORD
from tests.test_sync_api import sync, visit_payload


def _form(world, **overrides) -> dict:
    return {"username": "cadre_new", "display_name": "王新", "phone": "139 0000 1111",
            "role": "secretary", "scope_unit_id": str(world.v2.id), "locale": "", **overrides}


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _admin(world, username: str, unit, password_hash: str) -> User:
    admin = User(username=username, display_name=username.upper(), role="admin",
                 scope_unit_id=unit.id, password_hash=password_hash)
    db.session.add(admin)
    db.session.commit()
    return admin


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


# --- accounts ------------------------------------------------------------------------------

def test_a_new_account_gets_a_one_time_password_and_must_change_it(world):
    created = users.create_user(world.admin, _form(world))
    user = created.user
    assert user.phone == "13900001111" and user.scope_unit_id == world.v2.id
    assert user.must_change_password and created.password not in user.password_hash
    with pytest.raises(SignInRefused) as refused:
        sign_in("cadre_new", created.password, channel="api", allow_pending_change=False)
    assert refused.value.code == "password_change_required"
    assert sign_in("cadre_new", created.password, channel="web").id == user.id
    [entry] = _audit("user.create")
    assert entry.actor_id == world.admin.id and created.password not in entry.details


@pytest.mark.parametrize(("overrides", "field"), [
    ({"username": "sec1"}, "username"),
    ({"username": "SEC1"}, "username"),
    ({"username": "a b"}, "username"),
    ({"display_name": " "}, "display_name"),
    ({"phone": "12345"}, "phone"),
    ({"phone": ""}, "phone"),  # a cadre needs a number
    ({"role": "boss"}, "role"),
    ({"scope_unit_id": "999999"}, "scope_unit_id"),
    ({"role": "supervisor"}, "scope_unit_id"),  # a supervisor on a village
    ({"locale": "fr"}, "locale"),
])
def test_bad_account_forms_say_which_field_and_change_nothing(world, overrides, field):
    before = _count(User)
    with pytest.raises(Invalid) as refused:
        users.create_user(world.admin, _form(world, **overrides))
    assert field in refused.value.fields
    assert _count(User) == before and not _audit("user.create")


def test_a_secretary_must_belong_to_a_village(world):
    with pytest.raises(Invalid) as refused:
        users.create_user(world.admin, _form(world, scope_unit_id=str(world.t1.id)))
    assert "村" in refused.value.fields["scope_unit_id"][0]


def test_a_used_phone_names_its_holder_only_inside_the_admins_scope(world, password_hash):
    world.sec3.phone = "13900002222"
    db.session.commit()
    with pytest.raises(Invalid) as refused:
        users.create_user(world.admin, _form(world, phone="13900002222"))
    assert "SEC3" in refused.value.fields["phone"][0]
    admin_t1 = _admin(world, "admin_t1", world.t1, password_hash)
    with pytest.raises(Invalid) as refused:
        users.create_user(admin_t1, _form(world, phone="+86 139-0000-2222"))
    message = refused.value.fields["phone"][0]
    assert "SEC3" not in message and "sec3" not in message and "管辖范围以外" in message
    # An inactive holder frees the number.
    world.sec3.active = False
    db.session.commit()
    assert users.create_user(admin_t1, _form(world, phone="13900002222")).user.active


def test_an_admin_never_reaches_beyond_their_own_scope(world, password_hash):
    admin_t1 = _admin(world, "admin_t1", world.t1, password_hash)
    for target in (world.sec3, world.admin, world.sup_county):
        with pytest.raises(NotFound):
            users.managed_user(admin_t1, target.id)
    for unit in (world.county, world.t2, world.v3):
        with pytest.raises(Invalid):
            users.create_user(admin_t1, _form(world, role="admin" if unit.kind != "village"
                                              else "secretary", scope_unit_id=str(unit.id)))
    assert [u.name for u in users.units_for(admin_t1)] == ["东岭镇", "北堡村", "南坪村"]
    # Inside it, a township admin may create a township supervisor and edit it.
    created = users.create_user(admin_t1, _form(world, username="sup_new", role="supervisor",
                                                scope_unit_id=str(world.t1.id), phone=""))
    assert users.managed_user(admin_t1, created.user.id) is created.user
    # Nor can they move anyone outside their scope by editing.
    with pytest.raises(Invalid):
        users.update_user(admin_t1, created.user, _form(world, role="supervisor", phone="",
                                                        scope_unit_id=str(world.county.id)))
    assert db.session.get(User, created.user.id).scope_unit_id == world.t1.id


def test_editing_changes_the_fields_and_is_audited(world):
    changed = users.update_user(world.admin, world.sup_t1, {
        "display_name": "李督导", "phone": "13700001234", "role": "supervisor",
        "scope_unit_id": str(world.t2.id), "locale": "en"})
    assert sorted(changed) == ["display_name", "locale", "phone", "scope_unit_id"]
    user = db.session.get(User, world.sup_t1.id)
    assert (user.display_name, user.scope_unit_id, user.locale) == ("李督导", world.t2.id, "en")
    [entry] = _audit("user.update")
    assert "13700001234" not in entry.details  # the number is not copied into the trail
    assert users.update_user(world.admin, user, {
        "display_name": "李督导", "phone": "13700001234", "role": "supervisor",
        "scope_unit_id": str(world.t2.id), "locale": "en"}) == []


def test_an_admin_cannot_change_their_own_role_or_deactivate_themselves(world):
    with pytest.raises(Invalid):
        users.update_user(world.admin, world.admin, {
            "display_name": "ADMIN", "phone": "", "role": "supervisor",
            "scope_unit_id": str(world.county.id), "locale": ""})
    with pytest.raises(Forbidden):
        users.deactivate(world.admin, world.admin)


def test_a_deactivated_user_cannot_sign_in_anywhere_and_keeps_their_records(world, device):
    phone = device(world.sec1)
    [answer] = sync(phone, visit_payload(world.h1[0]))
    assert answer["status"] == "stored"
    _token, raw = issue_device_token(world.sec1, "second phone")
    users.deactivate(world.admin, world.sec1)
    with pytest.raises(SignInRefused):
        sign_in("sec1", PASSWORD, channel="web")
    assert user_for_device_token(raw) is None
    assert phone.post("/api/v1/sync", json={"records": []}).status_code == 401
    assert _count(Visit) == 1  # the records stay
    assert _audit("user.deactivate")[0].details.count("devices_revoked")
    users.reactivate(world.admin, world.sec1)
    assert sign_in("sec1", PASSWORD, channel="web").id == world.sec1.id
    assert user_for_device_token(raw) is None  # the old phones sign in afresh


def test_reactivation_is_refused_when_the_phone_now_belongs_to_someone_else(world):
    world.sec2.phone = "13900003333"
    db.session.commit()
    users.deactivate(world.admin, world.sec2)
    users.create_user(world.admin, _form(world, phone="13900003333"))
    with pytest.raises(Invalid) as refused:
        users.reactivate(world.admin, db.session.get(User, world.sec2.id))
    assert "王新" in refused.value.message
    assert not db.session.get(User, world.sec2.id).active


# --- terms ---------------------------------------------------------------------------------

def _term(world, village, start, end="", post="team_member", unit="县交通运输局") -> dict:
    return {"village_id": str(village.id), "start": start, "end": end,
            "dispatching_unit": unit, "post": post}


def _new_cadre(world, username="cadre_new", village=None) -> User:
    return users.create_user(world.admin, _form(
        world, username=username, phone=f"1391{sum(map(ord, username)) * 7919 % 10**7:07d}",
        scope_unit_id=str((village or world.v2).id))).user


def test_a_village_has_one_first_secretary_and_any_team_members(world, today_is):
    today_is(date(2026, 11, 16))
    member = _new_cadre(world)
    terms.start_term(world.admin, member, _term(world, world.v1, "2026-03-01"))
    assert member.scope_unit_id == world.v1.id  # the cadre's village follows the term
    second = _new_cadre(world, "cadre_two")
    with pytest.raises(Invalid) as refused:
        terms.start_term(world.admin, second, _term(world, world.v1, "2026/6/1",
                                                    post="first_secretary"))
    assert "SEC1" in refused.value.message and "已有第一书记" in refused.value.message
    terms.start_term(world.admin, second, _term(world, world.v1, "2026年6月1日"))
    teams = {v.code: [t.user.username for t in running]
             for v, running in terms.village_teams(world.admin)}
    assert teams["V1"] == ["sec1", "cadre_new", "cadre_two"]
    # After sec1's term ends, a new first secretary may start the next day.
    terms.end_term(world.admin, world.sec1, db.session.scalar(select(Assignment.id).where(
        Assignment.user_id == world.sec1.id)), "2026-11-30")
    terms.end_term(world.admin, second, terms.current_term(second).id, "2026-11-30")
    third = _new_cadre(world, "cadre_three")
    terms.start_term(world.admin, third, _term(world, world.v1, "2026-12-01",
                                               post="first_secretary"))


@pytest.mark.parametrize(("form", "field"), [
    ({"start": ""}, "start"),
    ({"start": "2026-02-30"}, "start"),
    ({"end": "tomorrow"}, "end"),
    ({"start": "2026-05-01", "end": "2026-04-30"}, "end"),
    ({"dispatching_unit": ""}, "dispatching_unit"),
    ({"post": "chief"}, "post"),
    ({"village_id": "0"}, "village_id"),
])
def test_bad_terms_say_which_field(world, form, field):
    cadre = _new_cadre(world)
    with pytest.raises(Invalid) as refused:
        terms.start_term(world.admin, cadre, {**_term(world, world.v2, "2026-03-01"), **form})
    assert field in refused.value.fields
    assert not terms.terms_of(cadre)


def test_terms_of_one_person_never_overlap(world, today_is):
    today_is(date(2026, 11, 16))
    with pytest.raises(Invalid) as refused:
        terms.start_term(world.admin, world.sec1, _term(world, world.v2, "2026-10-01"))
    assert "北堡村" in refused.value.message and "不能重叠" in refused.value.message
    cadre = _new_cadre(world)
    terms.start_term(world.admin, cadre, _term(world, world.v2, "2026-01-01", "2026-12-31"))
    terms.start_term(world.admin, cadre, _term(world, world.v1, "2027-01-01"))
    first = min(terms.terms_of(cadre), key=lambda t: t.start_date)
    with pytest.raises(Invalid):  # extending the first into the second
        terms.end_term(world.admin, cadre, first.id, "2027-02-01")
    with pytest.raises(Invalid):
        terms.end_term(world.admin, cadre, first.id, "2025-12-31")  # before it starts
    assert db.session.get(Assignment, first.id).end_date == date(2026, 12, 31)


def test_a_village_outside_the_admins_scope_cannot_be_chosen(world, password_hash):
    admin_t1 = _admin(world, "admin_t1", world.t1, password_hash)
    cadre = _new_cadre(world)
    with pytest.raises(Invalid) as refused:
        terms.start_term(admin_t1, cadre, _term(world, world.v3, "2026-03-01"))
    assert "village_id" in refused.value.fields


def test_moving_a_cadre_keeps_their_history_with_the_old_village(world, device, today_is):
    today_is(date(2026, 11, 16))
    phone = device(world.sec1)
    record = visit_payload(world.h1[0])
    assert sync(phone, record)[0]["status"] == "stored"
    terms.move_cadre(world.admin, world.sec1, _term(world, world.v2, "2026-11-17",
                                                    post="team_member", unit="县农业农村局"))
    old, new = sorted(terms.terms_of(world.sec1), key=lambda t: t.start_date)
    assert (old.village_id, old.end_date) == (world.v1.id, date(2026, 11, 16))
    assert (new.village_id, new.start_date, new.post) == (world.v2.id, date(2026, 11, 17),
                                                          "team_member")
    assert world.sec1.scope_unit_id == world.v1.id  # until the new term starts
    assert db.session.get(Visit, record["id"]).village_id == world.v1.id
    today_is(date(2026, 11, 18))
    terms.end_term(world.admin, world.sec1, new.id, "2027-11-16")  # the village follows
    assert db.session.get(User, world.sec1.id).scope_unit_id == world.v2.id
    assert db.session.get(Visit, record["id"]).village_id == world.v1.id
    actions = [e.action for e in db.session.scalars(select(AuditEntry).where(
        AuditEntry.action.like("term.%")).order_by(AuditEntry.id))]
    assert actions == ["term.end", "term.start", "term.end"]


def test_a_move_needs_a_running_term_and_another_village(world, today_is):
    today_is(date(2026, 11, 16))
    cadre = _new_cadre(world)
    with pytest.raises(Invalid):
        terms.move_cadre(world.admin, cadre, _term(world, world.v1, "2026-12-01"))
    with pytest.raises(Invalid):
        terms.move_cadre(world.admin, world.sec1, _term(world, world.v1, "2026-12-01"))
    with pytest.raises(Invalid):  # into a village whose first secretary is running
        terms.move_cadre(world.admin, world.sec1, _term(world, world.v2, "2026-12-01",
                                                        post="first_secretary"))
    [term] = terms.terms_of(world.sec1)
    assert term.end_date is None  # the refused move ended nothing


def test_a_team_member_records_in_their_village_like_the_secretary(world, device, today_is):
    today_is(date(2026, 11, 16))
    member = _new_cadre(world, village=world.v1)
    terms.start_term(world.admin, member, _term(world, world.v1, "2026-11-01"))
    member.must_change_password = False
    db.session.commit()
    phone = device(member)
    assert sync(phone, visit_payload(world.h1[1]))[0]["status"] == "stored"
    assert sync(phone, visit_payload(world.h3[0]))[0]["status"] == "forbidden"
