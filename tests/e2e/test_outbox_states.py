"""The outbox tells the cadre the truth at a glance (phone viewport, real server, real photo).

待发送 while offline; the file export (a download whose content is the outbox, checksummed, the
records still kept); 需处理 with the reason in words after tries that do not get through, and
one tap on 发送 that tries again at once; a refusal by the server says why and what to do; once
sent: 已送达 and "上次同步：今天 …" on the outbox page and on home. The exported file then
imports on the admin page as "already on the server" and stores nothing twice.
Screenshots: test-artifacts/e2e/outbox-*.png.
"""
import hashlib
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import func, select

from fieldlog.models import Photo, Visit
from tests.e2e.test_offline_visit import (
    PORTRAIT,
    SYNC_TIMEOUT_MS,
    by_id,
    choose_household,
    key_household,
    open_visit_form,
    shot,
    sign_in,
    sign_in_secretary,
)

QUEUE_REFUSED = """async ([record, userId]) => {
  const outbox = await import("/static/js/outbox.js");
  await outbox.queueRecord({ record, label: null, userId, userName: "" });
}"""


def _refused_record(household_id: str) -> dict:
    """A visit the server refuses for good: its location is out of range."""
    when = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return {"type": "visit", "id": str(uuid.uuid4()), "household_id": household_id,
            "occurred_at": when, "device_created_at": when, "heard": "测试", "requests": "",
            "follow_up": False, "photo_ids": [],
            "location": {"lat": 123.0, "lon": 0.0, "accuracy_m": 5, "located_at": when}}


def _tap_send_until(page, item, state: str, tries: int = 6) -> None:
    """Tap 发送 (each tap is one round at once, backoff or not) until `item` is in `state`."""
    send = by_id(page, "outbox-send")
    for _ in range(tries):
        expect(send).to_be_enabled(timeout=SYNC_TIMEOUT_MS)
        if item.get_attribute("data-state") == state:
            return
        send.tap()
        expect(send).to_be_enabled(timeout=SYNC_TIMEOUT_MS)
    expect(item).to_have_attribute("data-state", state)


def test_outbox_states_export_and_retry(browsing, live_server, artifacts, photos_dir, tmp_path):
    server = live_server
    household = key_household(server, "hardship")
    context = browsing.phone()
    page = context.new_page()
    sign_in_secretary(page, server)

    # The server will refuse this one for good (queued as the phone would, while sync is held).
    context.route("**/api/v1/sync", lambda route: route.abort())
    refused = _refused_record(household.id)
    page.evaluate(QUEUE_REFUSED, [refused, str(server.world.sec1_id)])

    # No signal: a visit with a photo waits (待发送).
    context.set_offline(True)
    open_visit_form(page)
    choose_household(page, household.head_name[-3:], household)
    by_id(page, "heard").fill("冬季取暖用煤有困难。")
    by_id(page, "photo-input").set_input_files(photos_dir / PORTRAIT)
    expect(by_id(page, "photo-thumb")).to_have_attribute("data-state", "ready")
    by_id(page, "save-visit").tap()
    page.wait_for_url("**/m/")
    by_id(page, "tab-outbox").tap()
    page.wait_for_url("**/m/outbox")
    items = by_id(page, "outbox-item")
    expect(items).to_have_count(2)
    visit = page.locator(f'[data-testid=outbox-item]:not([data-record-id="{refused["id"]}"])')
    visit_id = visit.get_attribute("data-record-id")
    expect(visit).to_have_attribute("data-state", "waiting")
    expect(visit.get_by_test_id("outbox-state")).to_have_text("待发送")
    expect(by_id(page, "last-synced")).to_have_text("这部手机还没有同步过")
    shot(page, artifacts, "outbox-01-waiting-offline", full_page=True)

    # Export, still offline: one file, the outbox's content, checksummed; nothing leaves.
    with page.expect_download() as info:
        by_id(page, "outbox-export").tap()
    download = info.value
    assert re.fullmatch(r"fieldlog-outbox-sec1-\d{8}-\d{4}\.json", download.suggested_filename)
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    envelope = json.loads(path.read_text())
    assert envelope["format"] == "fieldlog-outbox" and envelope["version"] == 1
    assert hashlib.sha256(envelope["payload"].encode()).hexdigest() == envelope["sha256"]
    payload = json.loads(envelope["payload"])
    assert payload["user"] == {"id": server.world.sec1_id, "username": "sec1",
                               "name": payload["user"]["name"]}
    assert {r["id"] for r in payload["records"]} == {visit_id, refused["id"]}
    [photo] = payload["photos"]
    assert photo["record_id"] == visit_id
    assert photo["data"]  # the photo's bytes, base64
    expect(items).to_have_count(2)  # export is not delivery
    expect(by_id(page, "outbox-exported")).to_contain_text(download.suggested_filename)
    shot(page, artifacts, "outbox-02-exported", full_page=True)

    # Signal, but the server cannot be reached: after 3 tries 需处理, with the reason in words.
    context.set_offline(False)
    _tap_send_until(page, visit, "stuck")
    expect(visit.get_by_test_id("outbox-state")).to_have_text("需处理")
    expect(visit.get_by_test_id("outbox-reason")).to_contain_text("连不上服务器")
    expect(visit.get_by_test_id("outbox-reason")).to_contain_text("导出待发送记录")
    shot(page, artifacts, "outbox-03-stuck", full_page=True)

    # The server is back: one tap sends now. The visit is delivered, the refusal says why.
    context.unroute("**/api/v1/sync")
    by_id(page, "outbox-send").tap()
    failed = page.locator(f'[data-testid=outbox-item][data-record-id="{refused["id"]}"]')
    expect(failed).to_have_attribute("data-state", "failed", timeout=SYNC_TIMEOUT_MS)
    expect(items).to_have_count(1, timeout=SYNC_TIMEOUT_MS)
    expect(failed.get_by_test_id("outbox-state")).to_have_text("需处理")
    reason = failed.get_by_test_id("outbox-reason")
    expect(reason).to_have_attribute("data-error", "invalid")
    expect(reason).to_contain_text("服务器拒收")
    expect(reason).to_contain_text("lat")  # the server's own words, below ours
    expect(by_id(failed, "outbox-retry")).to_be_visible()
    expect(by_id(failed, "outbox-discard")).to_be_visible()
    sent = by_id(page, "sent-item")
    expect(sent).to_have_count(1)
    expect(sent).to_contain_text("已送达")
    expect(sent).to_contain_text(re.compile(r"1\s*/\s*1"), timeout=SYNC_TIMEOUT_MS)
    expect(by_id(page, "last-synced")).to_contain_text(re.compile(r"上次同步：今天 \d\d:\d\d"))
    shot(page, artifacts, "outbox-04-delivered-and-refused", full_page=True)

    # Discarding needs an explicit confirmation; dismissed, nothing goes.
    page.once("dialog", lambda dialog: dialog.dismiss())
    by_id(failed, "outbox-discard").tap()
    expect(items).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    by_id(failed, "outbox-discard").tap()
    expect(by_id(page, "outbox-empty")).to_be_visible()
    expect(by_id(page, "last-synced-empty")).to_contain_text("上次同步：今天")
    shot(page, artifacts, "outbox-05-all-sent", full_page=True)

    by_id(page, "tab-home").tap()
    page.wait_for_url("**/m/")
    card = by_id(page, "outbox-card")
    expect(card).to_have_attribute("data-state", "empty")
    expect(card).to_contain_text(re.compile(r"上次同步：今天 \d\d:\d\d"))
    shot(page, artifacts, "outbox-06-home-synced")

    # The file the phone saved, imported by the admin: already on the server, nothing twice.
    admin = browsing.desktop().new_page()
    sign_in(admin, "admin", server.password)
    admin.goto("/admin/outbox-import")
    admin.get_by_test_id("outbox-file").set_input_files(path)
    admin.get_by_test_id("upload").click()
    preview = admin.get_by_test_id("preview-record")
    expect(preview).to_have_count(2)
    expect(admin.locator(f'[data-testid=preview-record][data-record-id="{visit_id}"]')
           ).to_have_attribute("data-state", "on_server")
    expect(admin.locator(f'[data-testid=preview-record][data-record-id="{refused["id"]}"]')
           ).to_have_attribute("data-state", "invalid")
    shot(admin, artifacts, "outbox-07-admin-preview", full_page=True)
    admin.get_by_test_id("outbox-file").set_input_files(path)
    admin.get_by_test_id("confirm").check()
    admin.get_by_test_id("upload").click()
    expect(admin.get_by_test_id("import-result")).to_be_visible()
    expect(admin.get_by_test_id("result-new")).to_contain_text("0")
    shot(admin, artifacts, "outbox-08-admin-imported", full_page=True)
    with server.db() as session:
        assert session.scalar(select(func.count()).select_from(Visit)) == 1
        assert session.scalar(select(func.count()).select_from(Photo)) == 1
        assert session.get(Visit, refused["id"]) is None
