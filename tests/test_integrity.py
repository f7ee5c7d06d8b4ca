"""Integrity flags on visits: each rule at its threshold and just short of it; explaining; cost."""
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flask import render_template
from flask_babel import force_locale
from geopy.distance import geodesic
from sqlalchemy import event, select

from fieldlog.errors import Conflict, Forbidden, Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import AuditEntry, Flag, Visit
from fieldlog.services.integrity import rules
from fieldlog.services.integrity.flags import compute_visit_flags, describe, explain_flag, flags_for
from tests.test_sync_api import sync, visit_payload

# 10:00 in the county (UTC+8) some days ago: every claimed time stays in the schema's range.
BASE = (datetime.now(UTC) - timedelta(days=20)).replace(hour=2, minute=0, second=0,
                                                         microsecond=0)


def moved(point, metres: float, bearing: float = 90.0) -> tuple[float, float]:
    """Return the point `metres` away from `point` on the ellipsoid, towards `bearing`."""
    p = geodesic(meters=metres).destination(point, bearing)
    return p.latitude, p.longitude


def centre(village) -> tuple[float, float]:
    return village.lat, village.lon


def record(household, when: datetime, place=None, accuracy: float | None = 10.0, *,
           created: datetime | None = None, **extra) -> dict:
    """Return a visit payload claimed at `when` (UTC), located at `place` (or none)."""
    location = None if place is None else {"lat": place[0], "lon": place[1],
                                           "accuracy_m": accuracy, "located_at": None}
    return visit_payload(household, occurred_at=when.isoformat(),
                         device_created_at=(created or when + timedelta(minutes=2)).isoformat(),
                         location=location, **extra)


def store(phone, *records) -> list[str]:
    """Sync records through the API, then compute their flags as the sync wiring will."""
    answers = sync(phone, *records)
    assert all(a["status"] == "stored" for a in answers), answers
    ids = [r["id"] for r in records]
    compute_visit_flags(ids)
    return ids


def kinds(record_id: str) -> dict[str, dict]:
    """Return the flags of a record as {kind: params}."""
    db.session.expire_all()
    rows = db.session.scalars(select(Flag).where(Flag.record_id == record_id))
    return {f.kind: json.loads(f.params) for f in rows}


def sentence(record_id: str, kind: str) -> str:
    flag = db.session.scalar(select(Flag).where(Flag.record_id == record_id, Flag.kind == kind))
    with force_locale("en"):
        return describe(flag)


@pytest.fixture
def phone1(world, device):
    return device(world.sec1)


# --- place --------------------------------------------------------------------------------------

def test_far_from_the_village_counts_the_fix_accuracy(world, phone1):
    """h1[1] has no register location, so only the village check applies."""
    home, v1 = world.h1[1], world.v1
    far = record(home, BASE, moved(centre(v1), 1500 + 12 + 40), 12)
    near = record(home, BASE + timedelta(hours=2), moved(centre(v1), 1500 + 12 - 40), 12)
    vague = record(home, BASE + timedelta(hours=4), moved(centre(v1), 1700), 250)
    store(phone1, far, near, vague)
    assert set(kinds(far["id"])) == {rules.FAR_FROM_VILLAGE}
    assert kinds(far["id"])[rules.FAR_FROM_VILLAGE]["distance_m"] == 1552
    assert kinds(near["id"]) == {} and kinds(vague["id"]) == {}
    assert sentence(far["id"], rules.FAR_FROM_VILLAGE) == (
        "Recorded 1.6 km from 北堡村's centre (GPS accuracy 12 m); geofence 1.5 km.")


def test_a_huge_claimed_accuracy_excuses_at_most_a_kilometre(world, phone1):
    far = record(world.h1[1], BASE, moved(centre(world.v1), 1500 + 1000 + 30), 50_000)
    store(phone1, far)
    assert rules.FAR_FROM_VILLAGE in kinds(far["id"])


def test_far_from_a_located_household(world, phone1):
    home = world.h1[2]  # on the register at +0.002°, +0.002° from the centre
    house = (home.lat, home.lon)
    away = record(home, BASE, moved(house, 300 + 15 + 30, 200), 15)
    close = record(home, BASE + timedelta(hours=2), moved(house, 300 + 15 - 30, 200), 15)
    store(phone1, away, close)
    assert set(kinds(away["id"])) == {rules.FAR_FROM_HOUSEHOLD}
    assert kinds(close["id"]) == {}
    assert sentence(away["id"], rules.FAR_FROM_HOUSEHOLD).startswith("Recorded 345 m from the "
                                                                      "household's location")


def test_a_visit_without_a_fix_is_not_flagged(world, phone1):
    """No fix is information (未定位), not suspicion: location is never required of a cadre."""
    bare = record(world.h1[1], BASE)
    located = record(world.h1[1], BASE + timedelta(hours=1), centre(world.v1))
    store(phone1, bare, located)
    assert kinds(bare["id"]) == {} and kinds(located["id"]) == {}


def test_stored_no_location_flags_count_nowhere_and_go_on_recompute(world, phone1):
    """Rows an earlier version stored are not shown, not weighted in samples, then dropped."""
    from fieldlog.services.inspection.sampling import population

    bare = record(world.h1[1], BASE)
    store(phone1, bare)
    db.session.add(Flag(record_type="visit", record_id=bare["id"], author_id=world.sec1.id,
                        village_id=world.v1.id, kind=rules.NO_LOCATION, params="{}"))
    db.session.commit()
    assert flags_for("visit", [bare["id"]])[bare["id"]] == []
    day = (BASE + timedelta(hours=8)).date()
    [candidate] = [c for c in population(world.county, day, day) if c.record_id == bare["id"]]
    assert candidate.flagged is False
    compute_visit_flags([bare["id"]])
    assert kinds(bare["id"]) == {}



def test_the_integrity_summary_shows_no_fix_as_information_not_a_flag(world, phone1):
    """The summary counts visits without a fix in their own column; no flag column, no
    unexplained flag, even for a no_location row an earlier version stored."""
    from fieldlog.services.inspection.findings import integrity_summary

    bare, located = record(world.h1[1], BASE), record(world.h1[2], BASE, centre(world.v1))
    store(phone1, bare, located)
    db.session.add(Flag(record_type="visit", record_id=bare["id"], author_id=world.sec1.id,
                        village_id=world.v1.id, kind=rules.NO_LOCATION, params="{}"))
    db.session.commit()
    day = (BASE + timedelta(hours=8)).date()
    summary = integrity_summary(world.inspector, None, (day, day))
    [row] = [r for r in summary.cadres if r.key == world.sec1.id]
    assert (row.records, row.unlocated, row.flag_total, row.unexplained) == (2, 1, 0, 0)
    assert rules.NO_LOCATION not in summary.kinds
    assert (summary.total.unlocated, summary.total.flag_total) == (1, 0)

# --- travel -------------------------------------------------------------------------------------

def test_impossible_travel_flags_both_records_and_the_near_miss_does_not(world, phone1):
    """1.4 km inside one geofence: 30 s apart needs 165 km/h, 60 s apart only 83 km/h."""
    home, here = world.h1[1], centre(world.v1)
    there = moved(here, 1400)
    a = record(home, BASE, here, 12)
    b = record(home, BASE + timedelta(seconds=30), there, 12)
    c = record(home, BASE + timedelta(days=1), here, 12)
    d = record(home, BASE + timedelta(days=1, seconds=60), there, 12)
    store(phone1, a, b, c, d)
    assert set(kinds(a["id"])) == set(kinds(b["id"])) == {rules.IMPOSSIBLE_TRAVEL}
    assert kinds(a["id"])[rules.IMPOSSIBLE_TRAVEL]["other_id"] == b["id"]
    assert kinds(b["id"])[rules.IMPOSSIBLE_TRAVEL]["speed_kmh"] == 165
    assert kinds(c["id"]) == {} and kinds(d["id"]) == {}
    assert "1.4 km from the same cadre's record" in sentence(b["id"], rules.IMPOSSIBLE_TRAVEL)
    assert "needs 165 km/h" in sentence(b["id"], rules.IMPOSSIBLE_TRAVEL)


def test_drift_under_a_kilometre_and_other_cadres_are_no_travel(world, device):
    here = centre(world.v1)
    phone1, phone2 = device(world.sec1), device(world.sec2)
    a = record(world.h1[1], BASE, here, 5)
    b = record(world.h1[1], BASE, moved(here, 990), 5)  # same instant, under 1 km
    other = record(world.h2[1], BASE + timedelta(seconds=10), centre(world.v2), 5)
    store(phone1, a, b)
    store(phone2, other)
    assert kinds(a["id"]) == kinds(b["id"]) == kinds(other["id"]) == {}


def test_same_instant_far_apart_reads_as_same_time(world, phone1):
    here = centre(world.v1)
    a = record(world.h1[1], BASE, here, 5)
    b = record(world.h1[1], BASE, moved(here, 1200), 5)
    store(phone1, a, b)
    assert kinds(b["id"])[rules.IMPOSSIBLE_TRAVEL]["speed_kmh"] is None
    assert "at the same time" in sentence(b["id"], rules.IMPOSSIBLE_TRAVEL)


def test_a_record_arriving_between_two_others_recomputes_their_travel(world, phone1):
    """Later sync of a record in between: the old pair is no longer adjacent, its flags go."""
    here, home = centre(world.v1), world.h1[1]
    a = record(home, BASE, here, 5)
    b = record(home, BASE + timedelta(seconds=30), moved(here, 1300), 5)  # 155 km/h
    store(phone1, a, b)
    assert rules.IMPOSSIBLE_TRAVEL in kinds(a["id"])
    middle = record(home, BASE + timedelta(seconds=15), moved(here, 650), 5)
    store(phone1, middle)  # 650 m hops: drift, not travel
    assert kinds(a["id"]) == kinds(b["id"]) == kinds(middle["id"]) == {}


# --- back-filling -------------------------------------------------------------------------------

def burst(world, count: int, *, claimed_every: timedelta, created_every: timedelta) -> list:
    here = centre(world.v1)
    start = BASE + timedelta(days=10)
    return [record(world.h1[1], BASE + n * claimed_every, here, 10,
                   created=start + n * created_every) for n in range(count)]


def test_backfill_flags_every_record_of_the_burst(world, phone1):
    records = burst(world, 5, claimed_every=timedelta(hours=15), created_every=timedelta(
        minutes=3))  # 5 records in 12 minutes claiming 2.5 days
    store(phone1, *records)
    for r in records:
        assert set(kinds(r["id"])) == {rules.BACKFILL}
    assert kinds(records[0]["id"])[rules.BACKFILL] == {"count": 5, "days": 2.5, "minutes": 12}
    assert sentence(records[0]["id"], rules.BACKFILL) == (
        "One of 5 records created on the phone within 12 minutes that claim visit times "
        "spread over 2.5 days.")


@pytest.mark.parametrize("count, claimed, created", [
    (4, timedelta(hours=20), timedelta(minutes=3)),    # too few
    (5, timedelta(hours=11), timedelta(minutes=3)),    # 1.8 days: a long write-up, not a fake
    (5, timedelta(hours=15), timedelta(minutes=4)),    # created over 16 minutes
])
def test_backfill_near_misses(world, phone1, count, claimed, created):
    records = burst(world, count, claimed_every=claimed, created_every=created)
    store(phone1, *records)
    assert all(kinds(r["id"]) == {} for r in records)


def test_backfill_grows_across_syncs(world, phone1):
    """Four records, then a fifth in a later sync: the earlier four are recomputed too."""
    records = burst(world, 5, claimed_every=timedelta(hours=15), created_every=timedelta(
        minutes=2))
    store(phone1, *records[:4])
    assert all(kinds(r["id"]) == {} for r in records[:4])
    store(phone1, records[4])
    assert all(set(kinds(r["id"])) == {rules.BACKFILL} for r in records)


# --- recompute, explain -------------------------------------------------------------------------

def test_recompute_is_idempotent_and_drops_what_no_longer_applies(world, phone1):
    here = centre(world.v1)
    a = record(world.h1[1], BASE, moved(here, 4000), 10)
    b = record(world.h1[1], BASE + timedelta(hours=1), moved(here, 5000), 10)
    store(phone1, a, b)
    assert compute_visit_flags([a["id"], b["id"]]) == 0  # nothing changed, nothing written
    flag_b = db.session.scalar(select(Flag).where(Flag.record_id == b["id"]))
    explain_flag(world.sup_t1, flag_b.id, "在县城开会后补录，已电话核实。")
    for visit_id in (a["id"], b["id"]):  # as an edit would: the fix is corrected
        db.session.get(Visit, visit_id).lat, db.session.get(Visit, visit_id).lon = here
    db.session.commit()
    compute_visit_flags([a["id"], b["id"]])
    assert kinds(a["id"]) == {}  # unexplained: gone
    kept = db.session.get(Flag, flag_b.id)  # explained: kept, with its explanation
    assert kept is not None and kept.explanation.startswith("在县城")


def test_explained_flag_stays_explained_when_it_still_applies(world, phone1):
    far = record(world.h1[1], BASE, moved(centre(world.v1), 6000), 10)
    store(phone1, far)
    flag = db.session.scalar(select(Flag).where(Flag.record_id == far["id"]))
    explain_flag(world.inspector, flag.id, "Site check: the household farms a plot there.")
    db.session.get(Visit, far["id"]).lon += 0.01  # still far, other numbers
    db.session.commit()
    assert compute_visit_flags([far["id"]]) == 1
    db.session.expire_all()
    again = db.session.get(Flag, flag.id)
    assert again.explained_at is not None and again.explained_by_id == world.inspector.id
    assert json.loads(again.params)["distance_m"] != 6000


def test_explain_needs_scope_role_and_reason(world, phone1):
    far = record(world.h1[1], BASE, moved(centre(world.v1), 6000), 10)
    store(phone1, far)
    flag_id = db.session.scalar(select(Flag.id).where(Flag.record_id == far["id"]))
    with pytest.raises(NotFound):
        explain_flag(world.sup_t2, flag_id, "not my township")
    with pytest.raises(Forbidden):
        explain_flag(world.sec1, flag_id, "it was me")
    with pytest.raises(Invalid):
        explain_flag(world.sup_t1, flag_id, "   ")
    with pytest.raises(Invalid):
        explain_flag(world.sup_t1, flag_id, "x" * 501)
    explain_flag(world.sup_t1, flag_id, "x" * 500)
    with pytest.raises(Conflict):
        explain_flag(world.sup_county, flag_id, "again")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "flag.explain"))
    assert entry.object_id == str(flag_id) and entry.actor_id == world.sup_t1.id
    assert json.loads(entry.details)["kind"] == rules.FAR_FROM_VILLAGE


# --- cost ---------------------------------------------------------------------------------------

def statements_of(work) -> list[str]:
    """Run `work` and return the SQL statements it sent (an executemany counts once)."""
    statements = []

    def listener(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return statements


def count_statements(work) -> int:
    return len(statements_of(work))


def test_statements_do_not_grow_with_the_batch(world, phone1):
    here = centre(world.v1)

    def batch(day: int, n: int) -> list[str]:
        # every record flagged (far from the village), half of them pairs of impossible travel
        records = [record(world.h1[k % 5], BASE + timedelta(days=day, seconds=20 * k),
                          moved(here, 3000 + 1500 * (k % 2)), 10) for k in range(n)]
        assert all(a["status"] == "stored" for a in sync(phone1, *records))
        return [r["id"] for r in records]

    few, many = batch(0, 3), batch(3, 40)
    assert count_statements(lambda: compute_visit_flags(few)) == count_statements(
        lambda: compute_visit_flags(many))
    assert count_statements(lambda: compute_visit_flags(few)) <= 8
    assert db.session.scalar(select(Flag.id).where(Flag.record_id == many[-1])) is not None


# --- reading ------------------------------------------------------------------------------------

def test_flags_for_is_one_query_unexplained_first(world, phone1):
    here = centre(world.v1)
    a = record(world.h1[1], BASE, None)
    b = record(world.h1[2], BASE + timedelta(hours=1), moved(here, 8000), 10)
    store(phone1, a, b)
    first = db.session.scalar(select(Flag).where(Flag.record_id == b["id"],
                                                 Flag.kind == rules.FAR_FROM_VILLAGE))
    explain_flag(world.sup_t1, first.id, "ok")
    db.session.expire_all()
    found, unflagged = {}, str(uuid.uuid4())
    assert count_statements(lambda: found.update(
        flags_for("visit", [a["id"], b["id"], unflagged]))) == 1
    assert found[a["id"]] == [] and found[unflagged] == []  # no fix is no flag
    assert [f.kind for f in found[b["id"]]] == [rules.FAR_FROM_HOUSEHOLD, rules.FAR_FROM_VILLAGE]
    assert found[b["id"]][1].explained_by.username == "sup_t1"


@pytest.fixture
def flags_view(app):
    """Register the flags blueprint unless the factory already does (the lead wires it)."""
    from fieldlog.views import flags

    if "flags" not in app.blueprints:
        app.register_blueprint(flags.bp)
    return app


def test_partial_lists_sentences_and_the_explain_form(flags_view, world, phone1):
    far = record(world.h1[1], BASE, moved(centre(world.v1), 6000), 10)
    bare = record(world.h1[1], BASE + timedelta(hours=2), moved(centre(world.v1), 6000), 10)
    store(phone1, far, bare)
    explain_flag(world.sup_t1, db.session.scalar(select(Flag.id).where(
        Flag.record_id == bare["id"])), "在乡里开会，会后补记。")
    found = flags_for("visit", [far["id"], bare["id"]])
    with flags_view.test_request_context("/"), force_locale("en"):
        html = render_template("integrity/_flags.html",
                               flags=found[far["id"]] + found[bare["id"]], can_explain=True)
        readonly = render_template("integrity/_flags.html", flags=found[far["id"]],
                                   can_explain=False)
    assert html.count('data-testid="flag"') == 2
    assert "Recorded 6 km from 北堡村&#39;s centre" in html
    assert html.count('data-testid="explain-form"') == 1 and 'name="csrf_token"' in html
    assert "SUP_T1" in html and "在乡里开会" in html
    assert 'data-testid="explain-form"' not in readonly


def test_explain_route_for_reviewers_in_scope(flags_view, client, login, world, phone1):
    far = record(world.h1[1], BASE, moved(centre(world.v1), 6000), 10)
    store(phone1, far)
    flag_id = db.session.scalar(select(Flag.id).where(Flag.record_id == far["id"]))
    url = f"/flags/{flag_id}/explain"

    session = login("sup_t2")
    assert client.post(url, data={"reason": "x", "csrf_token": session.csrf}).status_code == 404
    client.post("/logout", data={"csrf_token": session.csrf})
    session = login("sec1")
    assert client.post(url, data={"reason": "x", "csrf_token": session.csrf}).status_code == 403
    client.post("/logout", data={"csrf_token": session.csrf})

    session = login("sup_t1")
    assert client.post(url, data={"reason": "x"}).status_code == 400  # no CSRF token
    empty = client.post(url, data={"reason": "", "csrf_token": session.csrf})
    assert empty.status_code == 302 and db.session.get(Flag, flag_id).explained_at is None
    done = client.post(url, data={"reason": "到户核实，属实。", "csrf_token": session.csrf})
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"/review/visits/{far['id']}#flags")
    db.session.expire_all()
    assert db.session.get(Flag, flag_id).explanation == "到户核实，属实。"
