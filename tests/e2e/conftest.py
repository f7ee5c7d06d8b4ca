"""Browser end-to-end fixtures: a live server on a fresh SQLite copy, headless Chromium.

The live server runs the real app in a thread (werkzeug), so the service worker, IndexedDB
outbox and sync run exactly as on a phone. SQLite only: the API tests cover PostgreSQL.
"""
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from werkzeug.serving import make_server

from fieldlog import create_app
from fieldlog.extensions import db
from tests.conftest import PASSWORD, ROOT, travelled_now

ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = os.environ.get("FIELDLOG_CHROMIUM", "/usr/bin/chromium")  # `make browser` installs it
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
# Guiyang-ish, a few hundred metres from the test village V1 (北堡村).
PHONE_GPS = {"latitude": 26.5806, "longitude": 106.7104, "accuracy": 15}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN", "timezone_id": "Asia/Shanghai",
         "geolocation": PHONE_GPS, "permissions": ["geolocation"]}
DESKTOP = {"viewport": {"width": 1280, "height": 860}, "locale": "zh-CN",
           "timezone_id": "Asia/Shanghai"}


def pytest_collection_modifyitems(config, items) -> None:
    """Give each browser test one more try: a real Chromium on a busy 2-core CI machine now and
    then misses a timing (a page still loading when the test taps). A rerun shows as R in the
    report, so a test that needs it is seen; one that fails twice fails the run."""
    for item in items:
        if "/e2e/" in f"/{item.nodeid}" and not item.get_closest_marker("flaky"):
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=1))


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """The folder for screenshots (gitignored); emptied of old screenshots once per run."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    return ARTIFACTS


class LiveServer(SimpleNamespace):
    """base_url, app, hits (requests served), and the world's plain facts (no ORM objects)."""

    @contextmanager
    def db(self):
        """An app context for looking at the database from the test; yields the session."""
        with self.app.app_context():
            try:
                yield db.session
            finally:
                db.session.remove()

    def url(self, path: str) -> str:
        return self.base_url + path


def _plain_world(w) -> SimpleNamespace:
    """Read what the tests need while the session is open."""
    households = [SimpleNamespace(id=h.id, head_name=h.head_name, house_label=h.house_label,
                                  tags=list(h.tags)) for h in w.h1]
    return SimpleNamespace(village_v1=w.v1.name, sec1_id=w.sec1.id, sup_t1_id=w.sup_t1.id,
                           households_v1=households)


@pytest.fixture
def live_server(sqlite_template, password_hash, tmp_path) -> Iterator[LiveServer]:
    """Serve a fresh app (world built in) on 127.0.0.1 (a secure context for service workers)."""
    from tests.fixtures.world import build_world

    path = tmp_path / "e2e.db"
    shutil.copy(sqlite_template, path)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "PHOTO_DIR": str(tmp_path / "photos"), "SECRET_KEY": "e2e-secret",
                      "SERVER_NAME": None})
    with app.app_context():
        world = _plain_world(build_world(password_hash))
        db.session.remove()

    hits: list[str] = []  # "METHOD /path" of every request that reached the server

    def recording(environ, start_response, inner=app.wsgi_app):
        hits.append(f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')}")
        return inner(environ, start_response)

    app.wsgi_app = recording
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(base_url=f"http://127.0.0.1:{server.server_port}", app=app,
                         world=world, password=PASSWORD, hits=hits)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


_SHIFTED_DATE = """(() => {
  const offset = %d, RealDate = Date;
  class ShiftedDate extends RealDate {
    constructor(...args) { if (args.length) super(...args); else super(RealDate.now() + offset); }
    static now() { return RealDate.now() + offset; }
  }
  globalThis.Date = ShiftedDate;
})();"""


def _clock_offset_ms() -> int:
    """How far the travelled clock is from the real one, which Chromium keeps."""
    import time

    from time_machine import escape_hatch

    return round((time.time() - escape_hatch.time.time()) * 1000)


class Browsing:
    """Fresh browser contexts (empty profiles) for one test; all closed at its end.

    Uncaught page errors fail the test: they are the bugs a person would not see.
    """

    def __init__(self, browser, server: LiveServer):
        self.browser = browser
        self.server = server
        self.contexts = []
        self.page_errors: list[str] = []
        self.console_errors: list[str] = []

    def _context(self, options: dict):
        context = self.browser.new_context(base_url=self.server.base_url, **options)
        if travelled_now():  # the phone's clock travels with the server's (make test-dates)
            context.add_init_script(_SHIFTED_DATE % _clock_offset_ms())
        context.set_default_timeout(15_000)
        context.set_default_navigation_timeout(20_000)
        context.on("page", self._watch)
        self.contexts.append(context)
        return context

    def phone(self):
        """A new, empty phone profile (390×844, touch, zh-CN, GPS granted)."""
        return self._context(PHONE)

    def desktop(self):
        """A new, empty desktop profile."""
        return self._context(DESKTOP)

    def _watch(self, page) -> None:
        def on_console(msg) -> None:
            if msg.type in ("error", "warning"):
                self.console_errors.append(f"{msg.type} {page.url}: {msg.text}")

        page.on("pageerror", lambda err: self.page_errors.append(f"{page.url}: {err}"))
        page.on("console", on_console)

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts.clear()


@pytest.fixture
def browsing(browser, live_server) -> Iterator[Browsing]:
    session = Browsing(browser, live_server)
    try:
        yield session
    finally:
        session.close()
    if session.console_errors:  # not a failure by itself; shown with -s
        print("\nbrowser console:\n  " + "\n  ".join(session.console_errors))
    assert not session.page_errors, "uncaught errors in the page:\n" + "\n".join(
        session.page_errors)
