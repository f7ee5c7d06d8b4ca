"""Screenshots of the pages issue 10 mended, on the demo county, phone 390×844 and desk 1366×900.

    .venv/bin/python -m tests.e2e.mended_screenshots [OUT]   (default docs/screenshots/mended)

Serves a fresh demo county (as `make run` loads it, as of the app clock's today) in a thread,
adds what the demo lacks (a meeting edited once, an untitled meeting, a route that fails for the
500 page), and shoots each page with Debian's Chromium. Not a test: the browser tests assert;
this is for people to look at.
"""
import sys
import tempfile
import threading
from pathlib import Path
from types import SimpleNamespace

from flask_migrate import upgrade
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import select
from werkzeug.serving import make_server

from fieldlog import create_app
from fieldlog.extensions import db
from fieldlog.models import OrgUnit, User
from fieldlog.services.demo.county import build_demo_county
from fieldlog.services.people.auth import issue_device_token
from tests.conftest import ROOT
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.test_history import NEW_DECISIONS, NEW_TOPICS, OLD_DECISIONS, OLD_TOPICS
from tests.test_meetings import _times, meeting_payload
from tests.test_sync_api import sync

PASSWORD = "demo1234"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN", "timezone_id": "Asia/Shanghai",
         "permissions": ["geolocation"]}
DESK = {"viewport": {"width": 1366, "height": 900}, "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai"}
GALLERY = ROOT.parent / "shared" / "testdata" / "photos" / "jpg_gps_DSCN0010.jpg"  # 2008, Tuscany


def serve(tmp: Path) -> SimpleNamespace:
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/demo.db",
                      "PHOTO_DIR": str(tmp / "photos"), "SECRET_KEY": "screenshots",
                      "RATELIMIT_ENABLED": False})

    @app.get("/__fail")  # the 500 page: an unexpected error in a page
    def fail():
        raise RuntimeError("screenshot of the 500 page")

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        print(build_demo_county(seed=20261121))
        facts = _extra_records(app)
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return SimpleNamespace(base=f"http://127.0.0.1:{server.server_port}", **facts)


def _extra_records(app) -> dict:
    """sec01's meeting edited once (history) and an untitled meeting (cadre page)."""
    sec = db.session.scalar(select(User).where(User.username == "sec01"))
    village = db.session.get(OrgUnit, sec.scope_unit_id)
    _token, raw = issue_device_token(sec, "screenshots")
    client = app.test_client()
    phone = SimpleNamespace(post=lambda url, **kw: client.post(
        url, headers={"Authorization": f"Bearer {raw}"}, **kw))
    where = {"location": {"lat": village.lat, "lon": village.lon, "accuracy_m": 12.0}}
    edited = meeting_payload(topics=OLD_TOPICS, decisions=OLD_DECISIONS, **where)
    sync(phone, edited)
    sync(phone, {**edited, "topics": NEW_TOPICS, "decisions": NEW_DECISIONS, "base_version": 1})
    untitled = meeting_payload(meeting_type="branch_committee", title="", **_times(1))
    sync(phone, {**untitled, **where})
    return {"edited": edited["id"], "sec": sec.id, "village": village.id,
            "township": village.parent_id}


def sign_in(page, username: str) -> None:
    page.goto("/login")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(lambda url: "/login" not in url)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    site = serve(Path(tempfile.mkdtemp(prefix="mended-")))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)

        def context(options: dict, username: str | None):
            ctx = browser.new_context(base_url=site.base, **options)
            ctx.set_default_timeout(30_000)
            page = ctx.new_page()
            if username:
                sign_in(page, username)
            return ctx, page

        def shoot(page, name: str, *, full: bool = False) -> None:
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(out / f"{name}.png"), full_page=full, animations="disabled",
                            caret="initial")
            print("shot", name)

        for size, options in (("desk", DESK), ("phone", PHONE)):
            _ctx, page = context(options, "sup_town")
            page.goto(f"/review/records/meeting/{site.edited}/history")
            shoot(page, f"history-diff-{size}", full=True)
            page.goto(f"/progress/cadre/{site.sec}")
            page.get_by_text("支委会 ·").first.scroll_into_view_if_needed()
            shoot(page, f"cadre-untitled-meeting-{size}")
            page.goto("/map/")
            expect(page.locator(".leaflet-control-zoom-in")).to_be_visible()
            shoot(page, f"map-leaflet-zh-{size}")
            page.goto("/no-such-page")
            shoot(page, f"error-404-{size}")
            page.goto(f"/register/?village={site.village}")  # the register is not a supervisor's
            shoot(page, f"error-403-{size}")
            page.goto("/__fail")
            shoot(page, f"error-500-{size}")
            page.goto("/account")
            shoot(page, f"nav-account-{size}")
            _ctx.close()
            _ctx, page = context(options, "admin")
            page.goto(f"/register/?village={site.village}")
            shoot(page, f"nav-register-{size}")
            page.goto("/admin/users")
            shoot(page, f"nav-admin-{size}")
            page.goto("/admin/audit")
            shoot(page, f"audit-labels-{size}")
            _ctx.close()

        ctx, page = context({**PHONE, "geolocation": None}, "sec01")
        expect(page.locator("html")).to_have_attribute("data-offline-ready", "1", timeout=60_000)
        page.goto("/m/month")
        shoot(page, "month-running-phone")
        page.goto("/m/attendance")
        shoot(page, "attendance-running-phone")
        ctx.clear_permissions()  # no fix: the photo's place is compared with the village
        page.goto("/m/visits/new")
        expect(page.locator("#visit-form")).to_have_attribute("data-ready", "1")
        page.get_by_test_id("household-item").first.tap()
        page.get_by_test_id("photo-input").set_input_files(GALLERY)
        check = page.get_by_test_id("photo-check")
        expect(check).to_have_count(1)
        check.scroll_into_view_if_needed()
        shoot(page, "photo-question-phone")
        page.get_by_test_id("photo-check-keep").tap()
        page.get_by_test_id("save-visit").tap()
        page.wait_for_url("**/m/")
        expect(page.get_by_test_id("outbox-card")).to_have_attribute("data-state", "empty")
        shoot(page, "home-after-save-phone")
        ctx.set_offline(True)
        page.reload()
        page.get_by_test_id("register-link").tap()
        page.wait_for_url("**/register/")
        expect(page.get_by_test_id("offline-page")).to_have_count(0)
        shoot(page, "register-offline-phone")
        ctx.close()
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots" / "mended")
