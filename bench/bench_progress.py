"""Measure the progress table of a county on PostgreSQL: 300 cadres, a million visits.

Generates (once; `--reuse` keeps a loaded database) a county of 20 townships, 300 villages,
300 cadres, ~150k households and a year of records with `INSERT … SELECT generate_series` —
visits, meetings, six-one actions, ledger items, day marks, leave and review decisions —
ANALYZEs, then times the county table (`cadre_figures` for every cadre, a month and a
quarter), the same table as a page through the app, one cadre's page, and the map data
query (visit points of a month in scope). Prints median and p95 of `--runs` runs.

Usage: .venv/bin/python bench/bench_progress.py --pg postgresql+psycopg://postgres@127.0.0.1/db
       [--visits 1000000] [--runs 15] [--reuse]
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from bench.common import migrated_app  # noqa: E402
from fieldlog import create_app  # noqa: E402
from fieldlog.extensions import db  # noqa: E402
from fieldlog.models import User, Visit  # noqa: E402
from fieldlog.permissions import scope_village_ids  # noqa: E402
from fieldlog.services.people.auth import hash_password  # noqa: E402
from fieldlog.services.reporting.cadre_page import recent_records, records_per_day  # noqa: E402
from fieldlog.services.reporting.figures import cadre_figures, village_days  # noqa: E402
from fieldlog.services.reporting.period import Period  # noqa: E402
from fieldlog.services.reporting.table import cadres_in_scope  # noqa: E402
from fieldlog.timefmt import local_today  # noqa: E402

TOWNSHIPS, VILLAGES_PER_TOWN, HOUSEHOLDS_PER_VILLAGE = 20, 15, 500
VILLAGES = TOWNSHIPS * VILLAGES_PER_TOWN
PASSWORD = "bench-pass-1"
FIRST_VILLAGE = 2 + TOWNSHIPS  # ids: county 1, townships 2..21, villages 22..321

# Each step is one statement; :visits, :hh and :days are bound. Cadre n (id 1..300) keeps
# village 21 + n; household k of village v has the UUID md5('v-k').
GENERATE = [
    ("org tree", """
     INSERT INTO org_units (id, parent_id, kind, code, name, path, lat, lon, geofence_m)
     SELECT 1, NULL::int, 'county', 'B', '基准县', '/1/', NULL::float8, NULL::float8, NULL::int
     UNION ALL SELECT t, 1, 'township', 'B' || t, '乡镇' || t, '/1/' || t || '/', NULL, NULL,
                      NULL FROM generate_series(2, 21) t
     UNION ALL SELECT v, 2 + (v - 22) / 15, 'village', 'BV' || v, '村' || v,
                      '/1/' || (2 + (v - 22) / 15) || '/' || v || '/',
                      26.0 + (v - 22) * 0.01, 106.0 + (v % 15) * 0.02, 1500
                 FROM generate_series(22, 321) v"""),
    ("users", """
     INSERT INTO users (id, username, display_name, password_hash, role, scope_unit_id, active,
                        created_at, must_change_password, failed_logins, session_epoch)
     SELECT n, 'cadre' || n, '干部' || lpad(n::text, 3, '0'), :pw, 'secretary', 21 + n, true,
            now(), false, 0, 0 FROM generate_series(1, 300) n
     UNION ALL SELECT 301, 'county_sup', '县督导', :pw, 'supervisor', 1, true, now(), false, 0, 0
     UNION ALL SELECT 302, 'town_sup', '乡镇督导', :pw, 'supervisor', 2, true, now(), false, 0,
                      0"""),
    ("assignments", """
     INSERT INTO assignments (user_id, village_id, start_date, end_date, dispatching_unit)
     SELECT n, 21 + n, (now() - interval '400 days')::date, NULL, '县直单位'
     FROM generate_series(1, 300) n"""),
    ("households", """
     INSERT INTO households (id, village_id, head_name, house_label, member_count, created_at)
     SELECT md5(v || '-' || k)::uuid, v, '户主' || k, k || '号', 1 + k % 6, now()
     FROM generate_series(22, 321) v, generate_series(0, :hh - 1) k"""),
    ("household tags", """
     INSERT INTO household_tags (household_id, tag)
     SELECT md5(v || '-' || k)::uuid,
            (ARRAY['old_party_member', 'retired_cadre', 'model_worker', 'hardship', 'well_off',
                   'petitioner', 'low_income', 'left_behind_elderly'])[1 + k % 8]
     FROM generate_series(22, 321) v, generate_series(0, :hh - 1) k WHERE k % 5 = 0"""),
    ("visits", """
     INSERT INTO visits (id, author_id, village_id, household_id, occurred_at,
                         device_created_at, received_at, lat, lon, accuracy_m, located_at,
                         photo_count, version, status, content_hash, heard, requests, follow_up)
     SELECT gen_random_uuid(), c, 21 + c, md5((21 + c) || '-' || floor(random() * :hh)::int)::uuid,
            at, at + interval '2 minutes', at + interval '1 hour',
            CASE WHEN random() < 0.9 THEN 26.0 + (c - 1) * 0.01 + (random() - 0.5) * 0.01 END,
            106.0 + ((21 + c) % 15) * 0.02 + (random() - 0.5) * 0.01, 12, at, 0, 1,
            CASE WHEN random() < 0.05 THEN 'returned' ELSE 'submitted' END,
            md5(i::text) || md5(i::text), '', '', false
     FROM (SELECT i, 1 + floor(random() * 300)::int AS c,
                  date_trunc('day', now() - random() * (:days || ' days')::interval)
                    + interval '1 hour' + random() * interval '9 hours' AS at
           FROM generate_series(1, :visits) i) s
     ORDER BY at"""),  # rows reach a real server in time order: a month is one heap stretch
    ("meetings", """
     INSERT INTO meetings (id, author_id, village_id, occurred_at, device_created_at,
                           received_at, lat, lon, photo_count, version, status, content_hash,
                           meeting_type, title, place, host, attendees, topics, decisions)
     SELECT gen_random_uuid(), c, 21 + c, at, at, at, 26.0 + (c - 1) * 0.01,
            106.0 + ((21 + c) % 15) * 0.02, 0, 1, 'submitted', md5(c || '-' || w),
            (ARRAY['branch_assembly', 'branch_committee', 'party_group', 'party_lecture',
                   'villagers_say', 'two_committees', 'other'])[1 + (c + w) % 7],
            '会议', '', '', '', '', ''
     FROM generate_series(1, 300) c, generate_series(0, 51) w,
          LATERAL (SELECT now() - (w * 7 + 2) * interval '1 day' AS at) t"""),
    ("actions", """
     INSERT INTO actions (id, author_id, village_id, occurred_at, device_created_at,
                          received_at, photo_count, version, status, content_hash,
                          action_type, title, description, state, evidence)
     SELECT gen_random_uuid(), c, 21 + c, now() - (a * 50 + c % 40) * interval '1 day',
            now(), now(), 0, 1, 'submitted', md5(c || '/' || a),
            (ARRAY['party_lecture', 'practical_deed', 'activity', 'plan', 'pledge'])[1 + a % 5],
            '六个一', '', (ARRAY['planned', 'under_way', 'done'])[1 + (a + c) % 3], ''
     FROM generate_series(1, 300) c, generate_series(0, 6) a"""),
    ("ledger items", """
     INSERT INTO ledger_items (id, author_id, village_id, occurred_at, device_created_at,
                               received_at, photo_count, version, status, content_hash,
                               raiser_name, category, content, handler, handler_note, due_date,
                               state, resolved_at)
     SELECT gen_random_uuid(), c, 21 + c, at, at, at, 0, 1, 'submitted', md5(c || ':' || k),
            '', 'other', '诉求', 'village_committee', '', (at + interval '30 days')::date,
            st, CASE WHEN st IN ('resolved', 'feedback') THEN at + interval '12 days' END
     FROM generate_series(1, 300) c, generate_series(0, 99) k,
          LATERAL (SELECT now() - (k * 3.6) * interval '1 day' AS at,
                   (ARRAY['open', 'in_progress', 'resolved', 'feedback'])[1 + (c + k) % 4] AS st
                  ) t"""),
    ("day marks", """
     INSERT INTO day_marks (id, author_id, village_id, occurred_at, device_created_at,
                            received_at, photo_count, version, status, content_hash, day, kind,
                            reason, note)
     SELECT gen_random_uuid(), c, 21 + c, d, d, d, 0, 1, 'submitted', md5(c || '#' || k),
            d::date, CASE WHEN k % 3 = 0 THEN 'official' ELSE 'present' END, 'meeting', '报备'
     FROM generate_series(1, 300) c, generate_series(0, 35) k,
          LATERAL (SELECT date_trunc('day', now()) - (k * 10 + c % 7) * interval '1 day'
                   AS d) t"""),
    ("leave", """
     INSERT INTO leave_requests (id, author_id, village_id, occurred_at, device_created_at,
                                 received_at, photo_count, version, status, content_hash,
                                 leave_type, start_date, end_date, days, reason, state, chain,
                                 step)
     SELECT gen_random_uuid(), c, 21 + c, s, s, s, 0, 1, 'submitted', md5(c || '!' || k),
            'personal', s::date, s::date + 2, 3, '事假',
            CASE WHEN k < 3 THEN 'approved' ELSE 'pending' END, '["township"]', 0
     FROM generate_series(1, 300) c, generate_series(0, 3) k,
          LATERAL (SELECT now() - (k * 90 + c % 60) * interval '1 day' AS s) t"""),
    ("review decisions", """
     INSERT INTO review_decisions (record_type, record_id, version, decision, comment,
                                   reviewer_id, decided_at)
     SELECT 'visit', id, 1, CASE WHEN status = 'returned' THEN 'returned' ELSE 'approved' END,
            '', 301, received_at + interval '2 days'
     FROM visits WHERE status = 'returned' OR random() < 0.02"""),
]


def generate(app, visits: int, days: int = 365) -> None:
    """Fill the database in one transaction per step; print each step's time."""
    params = {"visits": visits, "hh": HOUSEHOLDS_PER_VILLAGE, "days": days,
              "pw": hash_password(PASSWORD)}
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("SELECT setseed(0.42)"))
        # Building the visits' indexes after the load is much faster than growing them row by row.
        indexes = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE "
                                    "tablename = 'visits' AND indexname <> 'pk_visits'")).all()
        for name, _definition in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
        for name, sql in GENERATE:
            started = time.perf_counter()
            conn.execute(text(sql), {k: v for k, v in params.items() if f":{k}" in sql})
            if name == "visits":
                for _name, definition in indexes:
                    conn.execute(text(definition))
            print(f"  {name:<18} {time.perf_counter() - started:6.1f} s", flush=True)
        for table in ("org_units", "users", "assignments", "review_decisions"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT max(id) FROM {table}))"))
    with app.app_context(), db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def timed(call, runs: int) -> tuple[float, float]:
    """Return (median, p95) in milliseconds of `runs` calls after one warm-up."""
    call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
        db.session.rollback()  # no identity map carried from one run to the next
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def measure(app, runs: int) -> list[tuple[str, float, float, str]]:
    """Time every query the progress pages and the map need; return rows for the table."""
    rows = []
    with app.app_context(), app.test_request_context():
        county = db.session.get(User, 301)
        cadres = [u.id for u in cadres_in_scope(county)]
        last_month = Period.around("month", local_today()).shifted(-1)
        last_quarter = Period.around("quarter", local_today()).shifted(-1)
        for label, period in (("month", last_month), ("quarter", last_quarter)):
            figures = cadre_figures(cadres, period)
            visits = sum(f.visits["total"] for f in figures.values())
            rows.append((f"county table, {label} ({period.key})",
                         *timed(lambda p=period: cadre_figures(cadres, p), runs),
                         f"{len(figures)} cadres, {visits} visits"))
        lo, hi = last_month.bounds_utc()
        rows.append(("  of which village days (attendance)", *timed(
            lambda: village_days(cadres, last_month.start, last_month.end), runs), ""))
        one = cadres[len(cadres) // 2]

        def cadre_page():
            figures = cadre_figures([one], last_month, with_days=True)[one]
            records_per_day(one, figures.start, figures.end)
            recent_records(one)

        rows.append(("one cadre's figures + calendar + recent", *timed(cadre_page, runs), ""))

        def map_points():
            return db.session.execute(select(Visit.lat, Visit.lon).where(
                Visit.village_id.in_(scope_village_ids(county)), Visit.occurred_at >= lo,
                Visit.occurred_at < hi, Visit.lat.is_not(None))).all()

        rows.append(("map data: visit points of the month", *timed(map_points, runs),
                     f"{len(map_points())} points"))
    client = app.test_client()
    with app.app_context():
        client.post("/login", data={"username": "county_sup", "password": PASSWORD})
        for label, url in (("page /progress/ (month)", f"/progress/?period={last_month.key}"),
                           ("page /progress/cadre/<id> (month)",
                            f"/progress/cadre/{one}?period={last_month.key}")):
            status = client.get(url).status_code
            rows.append((label, *timed(lambda u=url: client.get(u), runs), f"HTTP {status}"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", required=True, help="postgresql+psycopg://… (it is wiped)")
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database when it already holds the generated county")
    args = parser.parse_args()
    config = {"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False}
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.pg, "SECRET_KEY": "bench", **config})
    loaded = 0
    if args.reuse:
        with app.app_context():
            try:
                loaded = db.session.scalar(select(func.count()).select_from(Visit))
            except Exception:  # no schema yet
                loaded = 0
            db.session.remove()
    if not loaded:
        print(f"Generating the county with {args.visits:,} visits …", flush=True)
        started = time.perf_counter()
        app = migrated_app(args.pg, "bench-progress-", **config)
        generate(app, args.visits, days=365)
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    else:
        print(f"Reusing the loaded county ({loaded:,} visits)")
    rows = measure(app, args.runs)
    width = max(len(r[0]) for r in rows)
    print(f"\n{'what':<{width}}  {'median ms':>10}  {'p95 ms':>8}  notes")
    for name, median, p95, note in rows:
        print(f"{name:<{width}}  {median:10.1f}  {p95:8.1f}  {note}")


if __name__ == "__main__":
    main()
