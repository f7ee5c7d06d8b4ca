"""Fixtures: a fresh database per test on SQLite (and PostgreSQL when TEST_DATABASE_URL is set)."""
import os
import re
import shutil
import subprocess
import uuid
from datetime import date, datetime, time
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from flask import Flask, g, request_started
from flask_migrate import upgrade
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, make_url, text

from fieldlog import create_app
from fieldlog.extensions import db

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
# FIELDLOG_TODAY=YYYY-MM-DD runs the whole suite as if it were that day in the county (10:00,
# Asia/Shanghai, the clock running on from there): `make test-dates` proves no test depends on
# the calendar. The app reads time only through fieldlog.clock; time-machine moves it all.
TODAY = os.environ.get("FIELDLOG_TODAY")
SHANGHAI = ZoneInfo("Asia/Shanghai")


# FIELDLOG_CALENDAR=rotate (what `make test` sets): on the real date, each test module that does
# not need the real clock runs as if it were one of the calendar's edge days or today
# (tests/calendar_days.py: spread by the module's path, turned each week), so every run of the
# suite crosses month ends, a 28-day February and New Year's day. Browser tests and modules with
# `real_clock` tests keep today's date; `make test-dates` runs the SQLite suite on every edge day.
ROTATE = os.environ.get("FIELDLOG_CALENDAR") == "rotate" and not TODAY


def travelled_now() -> datetime | None:
    """Return the moment the suite travelled to, or None on the real clock."""
    if not TODAY:
        return None
    return datetime.combine(date.fromisoformat(TODAY), time(10, 0), SHANGHAI)


def pytest_configure(config) -> None:
    if start := travelled_now():
        import time_machine

        traveller = time_machine.travel(start, tick=True)
        traveller.start()
        config.add_cleanup(traveller.stop)


@pytest.fixture
def today_is():
    """Return a callable that sets the county's day for this test (10:00 there, ticking on)."""
    import time_machine

    travellers = []

    def set_today(day: date) -> None:
        traveller = time_machine.travel(datetime.combine(day, time(10, 0), SHANGHAI), tick=True)
        traveller.start()
        travellers.append(traveller)

    yield set_today
    for traveller in reversed(travellers):
        traveller.stop()


# Modules whose tests take tens of seconds each (a browser, a server of their own, hundreds of
# generated requests): collected first, so pytest-xdist starts them early and the quick tests
# fill in around them, instead of one worker finishing a browser test alone at the end.
SLOW_FIRST = ("tests/e2e/", "tests/faults/", "tests/test_fuzz_api.py",
              "tests/test_import_bounds.py", "tests/test_load_stack.py", "tests/test_photo_s3.py")


def _slow_first(item) -> int:
    """Sort key: 0 for a test of a slow module, 1 for the rest (the sort keeps each module's
    order and its tests together)."""
    return 0 if item.nodeid.startswith(SLOW_FIRST) else 1


def pytest_collection_modifyitems(config, items) -> None:
    """On a travelled clock, leave out tests whose other end keeps the real time.

    With FIELDLOG_CALENDAR=rotate, choose each module's day instead (see ROTATE).
    """
    items.sort(key=_slow_first)
    if ROTATE:
        _choose_module_days(items)
    if not TODAY:
        return
    skip = pytest.mark.skip(reason="needs the real clock: the server at the other end keeps it")
    for item in items:
        if item.get_closest_marker("real_clock"):
            item.add_marker(skip)


MODULE_DAYS: dict[str, date] = {}


def _choose_module_days(items) -> None:
    from tests.calendar_days import calendar_days, day_of_test, rotation_of

    real = date.today()
    days, turn = [*calendar_days(real), real], rotation_of(real)
    modules: dict[str, bool] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        keeps = "/e2e/" in f"/{module}" or item.get_closest_marker("real_clock") is not None
        modules[module] = modules.get(module, False) or keeps
    for module, keeps in modules.items():
        day = day_of_test(module, days, turn)
        if not keeps and day != real:
            MODULE_DAYS[module] = day


@pytest.fixture(scope="module", autouse=True)
def _edge_day(request):
    """Travel to this module's edge day when the calendar rotates (before its other fixtures)."""
    day = MODULE_DAYS.get(request.node.nodeid)
    if day is None:
        yield
        return
    import time_machine

    with time_machine.travel(datetime.combine(day, time(10, 0), SHANGHAI), tick=True):
        yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    day = MODULE_DAYS.get(item.nodeid.split("::")[0])
    if day is not None and report.failed:
        report.sections.append(("fieldlog clock", f"this module ran as of {day} (calendar "
                                f"rotation); rerun: FIELDLOG_TODAY={day} pytest '{item.nodeid}'"))
    return report


def pytest_report_header(config) -> str:
    if ROTATE:
        return "fieldlog clock: SQLite tests on the calendar's edge days (rotating), others today"
    return f"fieldlog clock: {TODAY or 'the real date'}"


def testdata_photos() -> Path:
    """Return the shared folder of real camera and phone photos: $FIELDLOG_TESTDATA, else
    `shared/testdata/photos` beside this checkout, else beside the checkout it was cloned from
    (a clone made elsewhere, e.g. `git clone . /tmp/fresh`, still finds them)."""
    if env := os.environ.get("FIELDLOG_TESTDATA"):
        return Path(env)
    beside = ROOT.parent / "shared" / "testdata" / "photos"
    if beside.is_dir():
        return beside
    origin = subprocess.run(["git", "-C", str(ROOT), "config", "remote.origin.url"],
                            capture_output=True, text=True).stdout.strip()
    if origin and Path(origin).is_dir():
        cloned_from = Path(origin).resolve().parent / "shared" / "testdata" / "photos"
        if cloned_from.is_dir():
            return cloned_from
    return beside


@pytest.fixture(scope="session")
def photos_dir() -> Path:
    path = testdata_photos()
    assert path.is_dir(), f"real test photos missing at {path}"
    return path


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """Run a real S3-compatible server (SeaweedFS) for the session; fail, never skip, without it."""
    from tests.fixtures.seaweed import start_seaweed

    server = start_seaweed(tmp_path_factory.mktemp("seaweed"))
    yield server
    server.stop()


@pytest.fixture
def s3_settings(s3_server) -> dict:
    """Return app settings for a photo store on the test S3 server, under a prefix of its own."""
    from tests.fixtures.seaweed import ACCESS_KEY, BUCKET, SECRET_KEY

    return {"PHOTO_STORE": f"s3://{BUCKET}/t-{uuid.uuid4().hex}",
            "S3_ENDPOINT_URL": s3_server.endpoint, "S3_ACCESS_KEY_ID": ACCESS_KEY,
            "S3_SECRET_ACCESS_KEY": SECRET_KEY, "S3_REGION": "us-east-1"}


def _remember_url_builders() -> None:
    """Build each URL rule's builder once a test process, not once an app.

    Every test gets an app of its own, and Werkzeug compiles two small Python functions (through
    `ast` and `compile`) for each of the app's ~120 routes: ~80 % of `create_app`'s time, paid
    again for every test. A builder depends only on the rule's text, its parsed parts and its
    defaults (it takes the rule as its first argument), so the same rule in the next app can
    take the same function. Tests only: the app itself is built once a process.
    """
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    builders: dict = {}

    def remembered(rule, append_unknown=True):
        defaults = tuple(sorted((k, repr(v)) for k, v in (rule.defaults or {}).items()))
        key = (rule.rule, tuple(rule._trace), defaults, append_unknown)
        if key not in builders:
            builders[key] = compile_builder(rule, append_unknown)
        return builders[key]

    Rule._compile_builder = remembered


_remember_url_builders()


class _SharedBytecode(BytecodeCache):
    """Compiled templates kept for the test process (keyed by name and source checksum)."""

    def __init__(self) -> None:
        self.codes: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if code := self.codes.get(bucket.key):
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket) -> None:
        self.codes[bucket.key] = bucket.bytecode_to_string()


def _share_compiled_templates() -> None:
    """Compile each Jinja template once a test process, not once an app (as with URL builders:
    each app has an environment of its own, and compiling templates was the largest cost of a
    test's first requests). A template whose source changes gets a new checksum, so a new key."""
    shared = _SharedBytecode()
    create_environment = Flask.create_jinja_environment

    def with_shared_bytecode(app):
        environment = create_environment(app)
        environment.bytecode_cache = shared
        return environment

    Flask.create_jinja_environment = with_shared_bytecode


_share_compiled_templates()


def _config(url: str, tmp: Path) -> dict:
    return {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "PHOTO_DIR": str(tmp / "photos"),
            "SECRET_KEY": "test-secret", "SERVER_NAME": None}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """Migrate one SQLite file once; each test gets a copy (fast, and it runs the migrations)."""
    tmp = tmp_path_factory.mktemp("template")
    path = tmp / "template.db"
    app = create_app(_config(f"sqlite:///{path}", tmp))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()
    return path


def _worker_database(url: str):
    """Give each pytest-xdist worker its own database beside TEST_DATABASE_URL's; yield its URL."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        yield url
        return
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_migrated(tmp_path_factory):
    """Migrate the PostgreSQL test database once per session (empty schema first)."""
    if not PG_URL:
        yield None
        return
    for url in _worker_database(PG_URL):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        tmp = tmp_path_factory.mktemp("pg")
        app = create_app(_config(url, tmp))
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            db.engine.dispose()
        yield url


def _empty_pg(app) -> None:
    """Empty every table and restart every sequence, as `TRUNCATE ... RESTART IDENTITY` would.

    A test leaves a few rows behind, and deleting a few rows costs a few milliseconds, while
    TRUNCATE gives every table and index a new file (~0.3-1.5 s for the schema's 28 tables, paid
    by every PostgreSQL test). Triggers are off for the statement (`session_replication_role`:
    the superuser test role may), so the append-only audit trail can be emptied too and foreign
    keys do not dictate an order.
    """
    deletes = "; ".join(f'DELETE FROM "{t.name}"' for t in db.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(deletes))
        sequences = conn.execute(text(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")).scalars()
        if restarts := "; ".join(f'ALTER SEQUENCE "{name}" RESTART' for name in sequences):
            conn.execute(text(restarts))


def _fresh_g(_sender, **_extra) -> None:
    g.__dict__.clear()


@pytest.fixture(params=BACKENDS)
def app(request, tmp_path):
    """Return an app on a fresh, migrated database of the parametrised backend."""
    if request.param == "sqlite":
        path = tmp_path / "fieldlog.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        app = create_app(_config(f"sqlite:///{path}", tmp_path))
    else:
        app = create_app(_config(request.getfixturevalue("pg_migrated"), tmp_path))
    with app.app_context():
        if request.param == "postgresql":
            _empty_pg(app)
        # Requests reuse the test's app context, so give each one a fresh `g` as production does
        # (Flask-WTF and Flask-Login cache the CSRF token and the user there).
        request_started.connect(_fresh_g, app)
        try:
            yield app
        finally:
            request_started.disconnect(_fresh_g, app)
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


PASSWORD = "pw-for-tests-1"


@pytest.fixture(scope="session")
def password_hash() -> str:
    """Return the test users' password hash: scrypt, at a cost far below the app's.

    Checking a hash costs what its own parameters say, and the app's (werkzeug's scrypt
    defaults) take ~0.1-0.3 s a sign-in, which thousands of test sign-ins pay again and again.
    The users a test creates through the app's pages still get the app's own hash.
    """
    from werkzeug.security import generate_password_hash

    return generate_password_hash(PASSWORD, method="scrypt:1024:8:1")


@pytest.fixture
def world(app, password_hash):
    """Build a small county: two townships, three villages, households and one user per role."""
    from tests.fixtures.world import build_world

    return build_world(password_hash)


def csrf_token(client) -> str:
    """Fetch a page and read its CSRF token, as a browser would."""
    page = client.get("/login", follow_redirects=True).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page) or re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no CSRF token on the login page"
    return match.group(1)


@pytest.fixture
def login(client):
    """Sign a user in through the login form; return the CSRF token of the session."""

    def do_login(username: str, password: str = PASSWORD):
        token = csrf_token(client)
        response = client.post("/login", data={"username": username, "password": password,
                                               "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return SimpleNamespace(response=response, csrf=csrf_token(client))

    return do_login


@pytest.fixture
def device(app):
    """Return a callable giving an API client that authenticates like a phone (bearer token)."""
    from fieldlog.services.people.auth import issue_device_token

    def make(user):
        _token, raw = issue_device_token(user, "pytest")
        test_client = app.test_client()
        headers = {"Authorization": f"Bearer {raw}"}
        return SimpleNamespace(
            token=raw, device_id=_token.id,
            get=lambda url, **kw: test_client.get(url, headers=headers, **kw),
            post=lambda url, **kw: test_client.post(url, headers=headers, **kw),
            put=lambda url, **kw: test_client.put(url, headers=headers, **kw),
        )

    return make


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium a test process (Debian's build; Playwright's download is not used),
    shared by the browser tests and the fault campaign: the sync API allows one Playwright a
    thread, so a second would fail in a process that has already run the other kind."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    assert Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}: run `make browser`"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
