"""Village days from located records and marks, the phone calendar, the sheet, the settings."""
import json
import math
import random
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import event, select, update

from fieldlog.extensions import db
from fieldlog.models import AuditEntry, CountySetting, DayMark, LeaveRequest, Visit
from fieldlog.services.attendance import days as attendance
from fieldlog.services.attendance import monthly
from fieldlog.services.attendance.days import leave_days_taken, village_days
from fieldlog.services.attendance.monthly import month_summary
from fieldlog.services.attendance.settings import parse_chain
from fieldlog.services.org.settings import county_setting
from fieldlog.timefmt import local_midnight_utc
from tests.test_sync_api import sync, visit_payload

SHANGHAI = ZoneInfo("Asia/Shanghai")
INSIDE = {"lat": 26.5806, "lon": 106.7104, "accuracy_m": 15.0}  # ~70 m from V1's centre
OUTSIDE = {"lat": 26.7000, "lon": 106.7100, "accuracy_m": 15.0}  # ~13 km north of V1
NOV = (date(2026, 11, 1), date(2026, 11, 30))


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> str:
    """An ISO time in the county's zone (Asia/Shanghai)."""
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI).isoformat()


def located_visit(household, when: str, where: dict | None = INSIDE) -> dict:
    location = {**where, "located_at": when} if where else None
    return visit_payload(household, occurred_at=when, device_created_at=when, location=location)


def mark(day: str, kind: str = "present", reason: str = "other", **extra) -> dict:
    now = datetime.now(SHANGHAI).isoformat()
    return {"type": "day_mark", "id": str(uuid.uuid4()), "occurred_at": now,
            "device_created_at": now, "day": day, "kind": kind, "reason": reason,
            "note": "在村里和村委一起看茶园", **extra}


def leave(start: str, end: str, **extra) -> dict:
    now = datetime.now(SHANGHAI).isoformat()
    return {"type": "leave", "id": str(uuid.uuid4()), "occurred_at": now,
            "device_created_at": now, "leave_type": "personal", "start_date": start,
            "end_date": end, "reason": "家中有事", **extra}


def stored(answers):
    assert all(a["status"] == "stored" for a in answers), answers
    return answers


# --- day computation ---------------------------------------------------------------------


def test_located_record_inside_the_geofence_counts_outside_or_unlocated_does_not(world, device):
    phone = device(world.sec1)
    h = world.h1[0]
    stored(sync(phone, located_visit(h, at(3, 10)), located_visit(h, at(4, 10), OUTSIDE),
                located_visit(h, at(5, 10), None)))
    days = village_days([world.sec1.id], *NOV)[world.sec1.id]
    assert days == {date(2026, 11, 3): "records"}


def test_a_meeting_with_a_fix_counts_too(world, device):
    phone = device(world.sec1)
    when = at(6, 15)
    stored(sync(phone, {"type": "meeting", "id": str(uuid.uuid4()), "occurred_at": when,
                        "device_created_at": when, "meeting_type": "branch_committee",
                        "title": "支委会", "topics": "冬季防火",
                        "location": {**INSIDE, "located_at": when}}))
    assert village_days([world.sec1.id], *NOV)[world.sec1.id] == {date(2026, 11, 6): "records"}


def test_the_day_is_the_county_local_day(world, device):
    """23:30 and 00:10 Shanghai time fall on two local days, though on one UTC day."""
    phone = device(world.sec1)
    h = world.h1[0]
    stored(sync(phone, located_visit(h, at(10, 23, 30)), located_visit(h, at(12, 0, 10))))
    days = village_days([world.sec1.id], *NOV)[world.sec1.id]
    assert set(days) == {date(2026, 11, 10), date(2026, 11, 12)}
    # A period starting on the 12th still sees a record made 10 minutes after its midnight,
    # and one ending on the 10th sees one 30 minutes before the next midnight.
    assert set(village_days([world.sec1.id], date(2026, 11, 12), date(2026, 11, 12))
               [world.sec1.id]) == {date(2026, 11, 12)}
    assert set(village_days([world.sec1.id], date(2026, 11, 10), date(2026, 11, 10))
               [world.sec1.id]) == {date(2026, 11, 10)}
    assert village_days([world.sec1.id], date(2026, 11, 11), date(2026, 11, 11)) == {
        world.sec1.id: {}}


def test_marked_and_official_days_count_leave_is_leave(world, device):
    phone = device(world.sec1)
    stored(sync(phone, mark("2026-11-02"), mark("2026-11-05", "official", "training"),
                leave("2026-11-16", "2026-11-17")))
    request = db.session.scalar(select(LeaveRequest))
    request.state = "approved"
    db.session.commit()
    stored(sync(phone, located_visit(world.h1[0], at(17, 9))))  # came back early: present
    days = village_days([world.sec1.id], *NOV)[world.sec1.id]
    assert days == {date(2026, 11, 2): "marked", date(2026, 11, 5): "official",
                    date(2026, 11, 16): "leave", date(2026, 11, 17): "records"}
    summary = month_summary(world.sec1, 2026, 11)
    assert summary.village_days == 3 and summary.counts["marked"] == 1
    assert summary.counts["official"] == 1 and summary.leave_taken == 2
    assert summary.threshold == 20 and summary.below
    assert leave_days_taken([world.sec1.id], date(2026, 11, 17), date(2026, 11, 30)) == {
        world.sec1.id: 1}


def test_a_mark_is_edited_with_its_version(world, device):
    phone = device(world.sec1)
    first = mark("2026-11-02")
    stored(sync(phone, first))
    again = {**first, "kind": "official", "reason": "meeting", "note": "县里开会",
             "base_version": 1}
    [answer] = stored(sync(phone, again))
    assert answer["version"] == 2
    assert db.session.get(DayMark, first["id"]).kind == "official"
    # A second mark for the same day is refused: change the first one instead.
    [answer] = sync(phone, mark("2026-11-02"))
    assert answer["status"] == "invalid"


def test_many_cadres_cost_a_fixed_number_of_queries(world, device):
    for sec, h in ((world.sec1, world.h1[0]), (world.sec2, world.h2[0]),
                   (world.sec3, world.h3[0])):
        phone = device(sec)
        for day in range(1, 8):
            stored(sync(phone, visit_payload(h, occurred_at=at(day, 10),
                                             device_created_at=at(day, 10))))
    ids = [world.sec1.id, world.sec2.id, world.sec3.id]
    db.session.expire_all()
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        days = village_days(ids, *NOV)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    # V2 and V3 visits are located at V1's test point: only sec1's are inside their village.
    assert len(days[ids[0]]) == 7 and days[ids[1]] == {}
    # leave + marks + one grouped statement over every record table, whatever the number of
    # users (a record near a fence's edge would add one).
    assert len(statements) == 3, statements


# --- the grouped day computation: the fence's edge, midnight, the fallback ---------------------

JUST_INSIDE = {"lat": 26.5935292, "lon": 106.7100, "accuracy_m": 5.0}  # 1,499 m north of V1
JUST_OUTSIDE = {"lat": 26.5935473, "lon": 106.7100, "accuracy_m": 5.0}  # 1,501 m north of V1


def _both_paths(ids, start, end):
    """Run the grouped (SQL) and the row-by-row (Python) computation on the same data."""
    days = list(attendance._days(start, end))
    edges = [local_midnight_utc(d) for d in days] + [local_midnight_utc(end + timedelta(days=1))]
    connection = db.session.connection()
    assert attendance._sql_days_possible(connection, edges)
    grouped = attendance._located_days_sql(connection, ids, days, edges)
    by_row = attendance._located_days_python(connection, ids, days, edges)
    return ({k: v for k, v in grouped.items() if v}, {k: v for k, v in by_row.items() if v})


def test_a_record_near_the_fence_is_settled_by_the_geodesic_distance(world, device, monkeypatch):
    """By the quick flat estimate both points lie ~0.4 % beyond the 1,500 m fence: only the exact
    geodesic test tells 1,499 m (inside) from 1,501 m (outside)."""
    phone = device(world.sec1)
    h = world.h1[0]
    stored(sync(phone, located_visit(h, at(9, 10), JUST_INSIDE),
                located_visit(h, at(10, 10), JUST_OUTSIDE)))
    monkeypatch.setattr(attendance, "_located_days_python", None)  # the grouped path only
    assert village_days([world.sec1.id], *NOV)[world.sec1.id] == {date(2026, 11, 9): "records"}


def test_grouped_and_row_by_row_days_agree_around_the_fence(world, device):
    """Records scattered across the edge (and well inside and outside) of two villages' fences,
    at all hours: the grouped computation finds exactly the row-by-row days."""
    rng = random.Random(7)
    for sec, village, h in ((world.sec1, world.v1, world.h1[0]),
                            (world.sec2, world.v2, world.h2[0])):
        phone = device(sec)
        batch = []
        for _ in range(40):
            bearing = rng.uniform(0, 2 * math.pi)
            metres = village.geofence_m * rng.choice((rng.uniform(0.9, 1.1), rng.uniform(0, 2)))
            where = {"lat": village.lat + metres * math.cos(bearing) / 110_800,
                     "lon": village.lon + metres * math.sin(bearing) / 99_600, "accuracy_m": 5.0}
            batch.append(located_visit(h, at(rng.randint(1, 20), rng.randint(0, 23),
                                             rng.randint(0, 59)), where))
        stored(sync(phone, *batch))
    grouped, by_row = _both_paths([world.sec1.id, world.sec2.id, world.sec3.id], *NOV)
    assert grouped == by_row and len(grouped[world.sec1.id]) >= 5


def test_a_record_at_local_midnight_belongs_to_the_new_day(world, device):
    """Shanghai midnight is 16:00 UTC: a record at it opens the new day, one a microsecond
    before it still belongs to the old one; the period's own edges are kept and cut alike."""
    phone = device(world.sec1)
    h = world.h1[0]
    answers = stored(sync(phone, *(located_visit(h, at(day, 12)) for day in (2, 4, 6, 8, 10))))
    moments = [datetime(2026, 11, 11, 16),  # 12 Nov 00:00 local → the 12th
               datetime(2026, 11, 13, 15, 59, 59, 999999),  # 13 Nov 23:59:59.999999 → the 13th
               datetime(2026, 10, 31, 16),  # 1 Nov 00:00, the period's first instant
               datetime(2026, 11, 30, 15, 59, 59, 999999),  # its last instant
               datetime(2026, 10, 31, 15, 59, 59, 999999)]  # 31 Oct: outside the period
    for answer, moment in zip(answers, moments, strict=True):
        db.session.execute(update(Visit).where(Visit.id == answer["id"])
                           .values(occurred_at=moment))
    db.session.commit()
    expected = {date(2026, 11, 12), date(2026, 11, 13), date(2026, 11, 1), date(2026, 11, 30)}
    grouped, by_row = _both_paths([world.sec1.id], *NOV)
    assert grouped == by_row == {world.sec1.id: expected}
    assert set(village_days([world.sec1.id], *NOV)[world.sec1.id]) == expected


def test_a_period_with_a_daylight_saving_change_falls_back_to_row_by_row(world, device,
                                                                         monkeypatch):
    """In a zone whose day of change lasts 25 h, counting whole days from the first midnight
    would put 26 Oct 00:30 on the 25th: the exact per-row path answers instead."""
    berlin = ZoneInfo("Europe/Berlin")

    def berlin_midnight(day):
        local = datetime.combine(day, datetime.min.time(), tzinfo=berlin)
        return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)

    monkeypatch.setattr(attendance, "local_midnight_utc", berlin_midnight)
    monkeypatch.setattr(attendance, "_located_days_sql", None)  # must not be reached
    phone = device(world.sec1)
    h = world.h1[0]
    stored(sync(phone, *(located_visit(h, datetime(2026, 10, day, hour, 30, tzinfo=berlin)
                                       .isoformat()) for day, hour in ((25, 23), (26, 0)))))
    october = (date(2026, 10, 1), date(2026, 10, 31))
    assert set(village_days([world.sec1.id], *october)[world.sec1.id]) == {
        date(2026, 10, 25), date(2026, 10, 26)}


def test_without_sqlite_math_functions_the_row_by_row_path_answers(world, device, monkeypatch):
    monkeypatch.setattr(attendance, "_sqlite_has_math", lambda: False)
    connection = db.session.connection()
    edges = [datetime(2026, 10, 31, 16), datetime(2026, 11, 1, 16)]
    assert attendance._sql_days_possible(connection, edges) is (
        connection.dialect.name == "postgresql")
    phone = device(world.sec1)
    stored(sync(phone, located_visit(world.h1[0], at(3, 10), JUST_INSIDE)))
    assert village_days([world.sec1.id], *NOV)[world.sec1.id] == {date(2026, 11, 3): "records"}


# --- the phone calendar -----------------------------------------------------------------------


def test_phone_calendar_shows_days_and_the_count(world, device, client, login):
    phone = device(world.sec1)
    today = datetime.now(SHANGHAI).date()
    stored(sync(phone, located_visit(world.h1[0], datetime.now(SHANGHAI).replace(
        hour=0, minute=30).isoformat()), mark(today.replace(day=1).isoformat())
                if today.day > 1 else mark(today.isoformat(), "official", "meeting")))
    login("sec1")
    page = client.get("/m/attendance").get_data(as_text=True)
    assert 'data-testid="village-days">' + ("2" if today.day > 1 else "1") in page
    # The month runs: the big figure's denominator is the threshold pro rata to the days gone.
    first, last = monthly.month_bounds(today.year, today.month)
    expected = monthly.days_target(20, first, last, today).expected
    assert 'data-threshold="20"' in page and f'data-testid="expected">{expected}<' in page
    assert f'data-day="{today.isoformat()}" data-state="records"' in page
    assert client.get("/m/attendance/mark").status_code == 200
    assert client.get("/m/attendance?month=2026-10").status_code == 200
    assert client.get("/m/attendance?month=garbage").status_code == 200


def test_phone_pages_are_for_secretaries(world, client, login):
    login("sup_t1")
    for url in ("/m/attendance", "/m/attendance/mark", "/m/leave", "/m/leave/new"):
        assert client.get(url).status_code == 403


# --- the supervisors' sheet -------------------------------------------------------------------


def test_monthly_sheet_lists_cadres_in_scope_with_the_threshold(world, device, client, login):
    stored(sync(device(world.sec1), located_visit(world.h1[0], at(3, 10)), mark("2026-11-04")))
    login("sup_t1")
    with client.session_transaction() as s:
        s["locale"] = "en"
    page = client.get("/attendance?month=2026-11").get_data(as_text=True)
    assert f'data-cadre-id="{world.sec1.id}" data-village-days="2" data-below="1"' in page
    assert f'data-cadre-id="{world.sec2.id}"' in page
    assert f'data-cadre-id="{world.sec3.id}"' not in page  # another township
    assert 'data-day="2026-11-03" data-state="records"' in page
    assert 'data-day="2026-11-04" data-state="marked"' in page
    login("sec1")
    assert client.get("/attendance").status_code == 403


# --- settings ---------------------------------------------------------------------------------


def settings_form(token, threshold="18", rows=(("township", "1"), ("county", "3"), ("", ""))):
    data = {"csrf_token": token, "threshold": threshold}
    for n, (level, from_days) in enumerate(rows):
        data[f"level_{n}"], data[f"from_{n}"] = level, from_days
    return data


def test_admin_edits_threshold_and_chain_audited(world, client, login):
    session = login("admin")
    response = client.post("/admin/settings/attendance", data=settings_form(session.csrf))
    assert response.status_code == 302
    assert county_setting(world.v1, "attendance_days_per_month") == 18
    assert county_setting(world.v1, "leave_chain") == [
        {"level": "township", "from_days": 1}, {"level": "county", "from_days": 3}]
    actions = db.session.scalars(select(AuditEntry.details).where(
        AuditEntry.action == "settings.update")).all()
    assert sorted(json.loads(d)["key"] for d in actions) == [
        "attendance_days_per_month", "leave_chain"]
    assert client.get("/admin/settings/attendance").status_code == 200


def test_bad_settings_are_refused_and_nothing_changes(world, client, login):
    session = login("admin")
    with client.session_transaction() as s:
        s["locale"] = "en"
    for data, message in (
            (settings_form(session.csrf, threshold="40"), "from 1 to 31"),
            (settings_form(session.csrf, rows=(("township", "3"), ("county", "3"), ("", ""))),
             "more days than the step before"),
            (settings_form(session.csrf, rows=(("mayor", "1"), ("", ""), ("", ""))),
             "township or county"),
            (settings_form(session.csrf, rows=(("township", "0"), ("", ""), ("", ""))),
             "at least 1"),
            (settings_form(session.csrf, rows=(("", ""), ("", ""), ("", ""))),
             "at least one step")):
        response = client.post("/admin/settings/attendance", data=data)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(CountySetting)) is None
    login("sup_county")
    assert client.get("/admin/settings/attendance").status_code == 403


def test_parse_chain_accepts_a_single_step():
    assert parse_chain([("county", "1"), ("", "")]) == [{"level": "county", "from_days": 1}]


def test_village_days_of_nobody_is_empty(app):
    assert village_days([], *NOV) == {}
    assert leave_days_taken([], *NOV) == {}
    assert village_days([1], date(2026, 11, 2), date(2026, 11, 1)) == {1: {}}


def test_today_default(world):
    # The month of a cadre with nothing recorded: zero village days, below the threshold.
    summary = month_summary(world.sec2, 2026, 2)
    assert summary.village_days == 0 and summary.below
    assert summary.first == date(2026, 2, 1) and summary.last == date(2026, 2, 28)
    assert summary.last - summary.first == timedelta(days=27)
