"""The first slice, end to end in headless Chromium at a phone viewport (390×844, touch).

A secretary records a visit offline with a photo and a GPS fix, finds it in the outbox after a
reload, comes back online and watches it sync; a supervisor then sees it with its photo upright.
Screenshots go to test-artifacts/e2e/ (look at them).
"""
import hashlib
import re
import time

from playwright.sync_api import expect
from sqlalchemy import select

from fieldlog.models import DeviceToken, Photo, Visit

SYNC_TIMEOUT_MS = 60_000
PORTRAIT = "jpg_orientation_portrait_6.jpg"  # 600×450 stored, EXIF orientation 6: upright 450×600
GALLERY = "jpg_gps_DSCN0010.jpg"  # Nikon, EXIF time 2008-10-22 16:28:39, GPS 43°28'N 11°53'E
TAP_BUDGET = 5


def shot(page, artifacts, name: str, *, full_page: bool = False, show=None) -> None:
    """Screenshot into test-artifacts/e2e/<name>.png.

    Full-page shots start from the top (sticky bars are drawn where the viewport was);
    `show` scrolls an element into view for a viewport shot.
    """
    if full_page:
        page.evaluate("() => window.scrollTo(0, 0)")
    elif show == "bottom":
        page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    elif show is not None:
        show.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=full_page,
                    animations="disabled", caret="initial")


def by_id(page, testid: str):
    return page.get_by_test_id(testid)


def sign_in(page, username: str, password: str, *, artifacts=None, name: str | None = None):
    page.goto("/login")
    by_id(page, "login-username").fill(username)
    by_id(page, "login-password").fill(password)
    if artifacts is not None and name:
        shot(page, artifacts, name)
    by_id(page, "login-submit").click()
    page.wait_for_url(lambda url: "/login" not in url)
    expect(page.locator("body")).not_to_have_attribute("data-user-id", "")


def sign_in_secretary(page, server, *, artifacts=None, name=None) -> None:
    """Sign in as sec1 and wait until the app's pages are cached for offline use."""
    sign_in(page, "sec1", server.password, artifacts=artifacts, name=name)
    page.wait_for_url("**/m/")
    expect(page.locator("html")).to_have_attribute("data-offline-ready", "1", timeout=30_000)
    # A first sign-in on this phone is told when the pages are saved; a later one is not.
    note = by_id(page, "offline-note")
    if note.is_visible():
        expect(note).to_have_attribute("data-state", "offline_ready")
    expect(by_id(page, "outbox-card")).to_have_attribute("data-state", "empty")


def open_visit_form(page) -> None:
    by_id(page, "record-visit").tap()
    page.wait_for_url("**/m/visits/new*")
    expect(page.locator("#visit-form")).to_have_attribute("data-ready", "1")


def choose_household(page, query: str, household) -> None:
    """Type into the search, tap the one match, see it chosen."""
    by_id(page, "household-search").fill(query)
    items = by_id(page, "household-item")
    expect(items).to_have_count(1)
    expect(items.first).to_have_attribute("data-household-id", household.id)
    items.first.tap()
    chosen = by_id(page, "household-chosen")
    expect(chosen).to_be_visible()
    expect(chosen).to_have_attribute("data-household-id", household.id)
    expect(chosen).to_contain_text(household.head_name)


def wait_for_db(server, query, *, timeout: float = 10.0):
    """Poll the database until `query(session)` returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        with server.db() as session:
            found = query(session)
            if found or time.monotonic() > deadline:
                return found
        time.sleep(0.2)


def key_household(server, tag: str):
    return next(h for h in server.world.households_v1 if tag in h.tags)


# --- 1. the scenario ---------------------------------------------------------------

def test_offline_visit_reaches_the_supervisor(browsing, live_server, artifacts, photos_dir):
    server = live_server
    household = key_household(server, "hardship")  # 三户: 困难户
    context = browsing.phone()
    page = context.new_page()

    sign_in_secretary(page, server, artifacts=artifacts, name="01-login")
    # The first sign-in on this phone says when it is safe to walk out of signal; later page
    # loads, the pages already saved, say nothing.
    note = by_id(page, "offline-note")
    expect(note).to_have_text("已可离线工作：应用页面都已存到本机。")
    shot(page, artifacts, "02-home")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-offline-ready", "1")
    expect(note).to_be_hidden()

    # No signal from here on.
    context.set_offline(True)
    served_before_offline = len(server.hits)
    expect(page.locator("[data-net-pill]")).to_be_visible()
    open_visit_form(page)
    choose_household(page, household.head_name[-3:], household)  # "户主2"
    by_id(page, "heard").fill("老两口身体尚可，冬季取暖用煤有困难。")
    by_id(page, "requests").fill("希望帮助申请临时救助。")
    by_id(page, "ledger-add").uncheck()  # the ledger has its own test (test_ledger_offline.py)
    by_id(page, "follow-up").check()
    by_id(page, "photo-input").set_input_files(photos_dir / PORTRAIT)
    thumb = by_id(page, "photo-thumb")
    expect(thumb).to_have_count(1)
    expect(thumb).to_have_attribute("data-state", "ready")
    expect(thumb).to_have_attribute("data-mode", "original")  # small JPEG: sent as is, EXIF kept
    gps = by_id(page, "gps-status")
    expect(gps).to_have_attribute("data-state", "ok")
    expect(gps).to_have_attribute("data-accuracy", "15")
    page.evaluate("() => window.scrollTo(0, 0)")
    shot(page, artifacts, "03-visit-form-offline-top")
    shot(page, artifacts, "04-visit-form-offline-photo", show="bottom")

    by_id(page, "save-visit").tap()
    page.wait_for_url("**/m/")
    expect(by_id(page, "toast")).to_be_visible()
    card = by_id(page, "outbox-card")
    expect(card).to_have_attribute("data-state", "waiting")
    expect(card).to_have_attribute("data-count", "1")
    expect(page.locator(f'[data-testid=unvisited-item][data-household-id="{household.id}"]')
           ).to_have_class(re.compile(r"\bis-queued\b"))
    expect(by_id(page, "outbox-badge")).to_have_attribute("data-count", "1")
    shot(page, artifacts, "05-saved-offline")

    # Reload while still offline: the pages come from the service worker, the visit from
    # IndexedDB.
    response = page.reload()
    assert response is not None and response.from_service_worker
    expect(by_id(page, "outbox-card")).to_have_attribute("data-state", "waiting")
    by_id(page, "tab-outbox").tap()
    page.wait_for_url("**/m/outbox")
    page.reload()
    item = by_id(page, "outbox-item")
    expect(item).to_have_count(1)
    expect(item).to_have_attribute("data-state", "waiting")
    record_id = item.get_attribute("data-record-id")
    expect(item).to_contain_text(household.head_name)
    expect(by_id(page, "outbox-photo")).to_have_count(1)
    expect(page.locator("body")).to_have_attribute("data-outbox-count", "1")
    # Chromium's own service-worker update check (GET /sw.js) is not always held back by
    # Playwright's offline emulation; it is the browser's traffic, not the app's.
    leaked = [hit for hit in server.hits[served_before_offline:] if hit != "GET /sw.js"]
    assert leaked == [], "a request got through while offline"
    with server.db() as session:
        assert session.get(Visit, record_id) is None
    shot(page, artifacts, "06-outbox-offline-after-reload")

    # Signal is back: the `online` event starts a sync round.
    context.set_offline(False)
    expect(by_id(page, "outbox-empty")).to_be_visible(timeout=SYNC_TIMEOUT_MS)
    expect(page.locator("body")).to_have_attribute("data-outbox-count", "0")
    sent = by_id(page, "sent-item")
    expect(sent).to_have_count(1)
    expect(sent).to_have_attribute("href", f"/review/visits/{record_id}")
    expect(sent).to_contain_text(re.compile(r"1\s*/\s*1"))  # "照片已发送 1/1": the photo went too
    expect(by_id(page, "outbox-item")).to_have_count(0)
    shot(page, artifacts, "07-outbox-synced")

    with server.db() as session:
        visit = session.get(Visit, record_id)
        assert visit is not None
        assert visit.household_id == household.id
        assert visit.author_id == server.world.sec1_id
        assert visit.heard.startswith("老两口") and visit.requests and visit.follow_up
        assert abs(visit.lat - 26.5806) < 1e-6 and abs(visit.lon - 106.7104) < 1e-6
        assert visit.accuracy_m == 15
        assert visit.located_at is not None
        assert visit.photo_count == 1
        photos = session.scalars(select(Photo).where(Photo.record_id == record_id)).all()
        assert len(photos) == 1
        photo = photos[0]
        original = (photos_dir / PORTRAIT).read_bytes()
        assert photo.sha256 == hashlib.sha256(original).hexdigest()  # sent as taken
        assert photo.content_type == "image/jpeg" and photo.byte_size == len(original)
        assert (photo.width, photo.height) == (450, 600)  # upright size, orientation applied
        assert photo.owner_id == server.world.sec1_id

    # The township supervisor, on another machine.
    review = browsing.desktop().new_page()
    sign_in(review, "sup_t1", server.password)
    review.wait_for_url("**/review/")
    rows = review.get_by_test_id("visit-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(household.head_name)
    shot(review, artifacts, "08-review-list")
    rows.first.locator("td").first.locator("a").click()
    review.wait_for_url(f"**/review/visits/{record_id}")
    figure = review.get_by_test_id("photo")
    expect(figure).to_have_count(1)
    img = figure.locator("img")
    expect(img).to_have_attribute("src", f"/review/photos/{photo.id}/display")
    img.scroll_into_view_if_needed()  # loading="lazy"
    # Polled from Python: the app's CSP blocks wait_for_function's string predicates.
    deadline = time.monotonic() + 10
    while not img.evaluate("img => img.complete && img.naturalWidth > 0"):
        assert time.monotonic() < deadline, "the photo did not load"
        time.sleep(0.1)
    width, height = img.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert height > width, f"photo is not upright: {width}×{height}"
    distance = review.get_by_test_id("distance-village")
    expect(distance).to_be_visible()
    expect(distance).to_contain_text("m")
    shot(review, artifacts, "09-review-visit", full_page=True)
    shot(review, artifacts, "10-review-photo", show=figure)
    # The list crops photos to 4:3; the display image itself shows the whole upright photo.
    review.goto(f"/review/photos/{photo.id}/display")
    shot(review, artifacts, "11-review-photo-display")


# --- 2. sign-out guard ------------------------------------------------------------------------

def test_sign_out_is_refused_while_records_are_unsent(browsing, live_server, artifacts):
    server = live_server
    household = key_household(server, "old_party_member")  # 三老: 老党员
    context = browsing.phone()
    page = context.new_page()
    sign_in_secretary(page, server)

    context.set_offline(True)
    open_visit_form(page)
    choose_household(page, household.head_name[-3:], household)
    by_id(page, "heard").fill("老党员谈村里修路的事。")
    by_id(page, "save-visit").tap()
    page.wait_for_url("**/m/")
    expect(by_id(page, "outbox-card")).to_have_attribute("data-state", "waiting")

    by_id(page, "user-menu").tap()
    by_id(page, "logout").tap()
    dialog = page.locator("#signout-blocked[open]")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("1")
    shot(page, artifacts, "signout-01-refused-offline")
    expect(page).to_have_url(server.url("/m/"))
    expect(page.locator("body")).to_have_attribute("data-user-id", str(server.world.sec1_id))
    dialog.locator("[data-close]").tap()
    expect(page.locator("#signout-blocked[open]")).to_have_count(0)

    # Still refused online until the sync has run: here we let it run.
    context.set_offline(False)
    expect(by_id(page, "outbox-card")).to_have_attribute("data-state", "empty",
                                                         timeout=SYNC_TIMEOUT_MS)
    with server.db() as session:
        assert session.scalars(select(Visit).where(Visit.household_id == household.id)).one()

    by_id(page, "user-menu").tap()
    by_id(page, "logout").tap()
    page.wait_for_url("**/login")
    expect(by_id(page, "login-username")).to_be_visible()
    shot(page, artifacts, "signout-02-signed-out")
    with server.db() as session:
        tokens = session.scalars(select(DeviceToken).where(
            DeviceToken.user_id == server.world.sec1_id)).all()
        assert tokens and all(t.revoked_at is not None for t in tokens), "device token kept"
    # The session is gone: the app pages send us to the sign-in page.
    page.goto("/m/")
    page.wait_for_url("**/login*")


# --- 3. EXIF from the gallery ----------------------------------------------------------------

def test_photo_from_gallery_keeps_exif_gps(browsing, live_server, artifacts, photos_dir):
    server = live_server
    household = key_household(server, "petitioner")  # 三户: 上访户
    page = browsing.phone().new_page()
    sign_in_secretary(page, server)
    open_visit_form(page)
    choose_household(page, household.head_name[-3:], household)
    by_id(page, "photo-input").set_input_files(photos_dir / GALLERY)
    thumb = by_id(page, "photo-thumb")
    expect(thumb).to_have_attribute("data-state", "ready")
    gps = thumb.get_attribute("data-exif-gps")
    assert gps, "the phone read no EXIF GPS from the gallery photo"
    lat, lon = (float(x) for x in gps.split(","))
    assert abs(lat - 43.4674) < 0.01 and abs(lon - 11.8851) < 0.01, gps
    taken_at = thumb.get_attribute("data-taken-at")
    assert taken_at and taken_at.startswith("2008-10-22T16:28"), taken_at
    shot(page, artifacts, "gallery-01-exif-thumb", show="bottom")

    by_id(page, "save-visit").tap()
    page.wait_for_url("**/m/")
    expect(by_id(page, "outbox-card")).to_have_attribute("data-state", "empty",
                                                         timeout=SYNC_TIMEOUT_MS)
    shot(page, artifacts, "gallery-02-home-sent")

    def stored_photo(session):
        visit = session.scalars(select(Visit).where(Visit.household_id == household.id)).first()
        if visit is None:
            return None
        return session.scalars(select(Photo).where(Photo.record_id == visit.id)).first()

    photo = wait_for_db(server, stored_photo)
    assert photo is not None, "the photo did not reach the server"
    assert photo.facts_source in ("device", "file")
    assert abs(photo.lat - 43.4674) < 0.01 and abs(photo.lon - 11.8851) < 0.01
    assert photo.taken_at is not None and photo.taken_at.isoformat().startswith("2008-10-22T16:28")
    assert photo.camera_make and "NIKON" in photo.camera_make.upper()


# --- 4. taps ---------------------------------------------------------------------------------

COUNT_TAPS = """
document.addEventListener("click", (ev) => {
  if (!ev.isTrusted) return;
  const n = Number(sessionStorage.getItem("e2e:taps") || 0) + 1;
  sessionStorage.setItem("e2e:taps", String(n));
}, true);
"""


def test_tap_count_to_log_a_visit(browsing, live_server, artifacts, record_property):
    server = live_server
    context = browsing.phone()
    context.add_init_script(COUNT_TAPS)
    page = context.new_page()
    sign_in_secretary(page, server)
    page.evaluate("() => sessionStorage.setItem('e2e:taps', '0')")
    taps = 0

    def tap(locator) -> None:
        nonlocal taps
        taps += 1
        locator.tap()

    first = by_id(page, "unvisited-item").first
    household_id = first.get_attribute("data-household-id")
    shot(page, artifacts, "taps-01-home")
    tap(first)
    page.wait_for_url(f"**/m/visits/new?household={household_id}")
    expect(page.locator("#visit-form")).to_have_attribute("data-ready", "1")
    expect(by_id(page, "household-chosen")).to_have_attribute("data-household-id", household_id)
    expect(by_id(page, "household-chosen")).to_be_visible()
    shot(page, artifacts, "taps-02-form-preselected")
    tap(by_id(page, "save-visit"))
    page.wait_for_url("**/m/")
    expect(by_id(page, "toast")).to_be_visible()
    shot(page, artifacts, "taps-03-saved")

    counted_in_page = int(page.evaluate("() => sessionStorage.getItem('e2e:taps')"))
    assert counted_in_page == taps, (counted_in_page, taps)
    print(f"\ntaps to log a visit from the home screen: {taps} (budget {TAP_BUDGET})")
    (artifacts / "tap-count.txt").write_text(f"{taps}\n")
    record_property("taps_to_log_a_visit", taps)
    assert taps <= TAP_BUDGET

    expect(by_id(page, "outbox-card")).to_have_attribute("data-state", "empty",
                                                         timeout=SYNC_TIMEOUT_MS)
    visit = wait_for_db(server, lambda s: s.scalars(
        select(Visit).where(Visit.household_id == household_id)).first())
    assert visit is not None and visit.author_id == server.world.sec1_id
    page.reload()
    expect(page.locator(f'[data-testid=unvisited-item][data-household-id="{household_id}"]')
           ).to_have_count(0)
    expect(by_id(page, "recent-item")).to_have_count(1)
