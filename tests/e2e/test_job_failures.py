"""An admin of a one-machine install (no JOB_QUEUE) sees a job that failed in the app's process
at /admin/jobs and retries it once the cause is fixed. Screenshots:
test-artifacts/e2e/jobs-in-process-*.png.
"""
import shutil
from types import SimpleNamespace

from playwright.sync_api import expect

from fieldlog.models import Photo, User
from fieldlog.services.people.auth import issue_device_token
from tests.e2e.test_offline_visit import shot, sign_in
from tests.test_job_failures import _blocked_upload
from tests.test_sync_api import sync, visit_payload


def test_an_admin_retries_an_in_process_failure(browsing, live_server, artifacts, photos_dir):
    server, app = live_server, live_server.app
    with app.app_context(), server.db() as session:
        _token, raw = issue_device_token(session.get(User, server.world.sec1_id), "e2e")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {raw}"}
    phone = SimpleNamespace(post=lambda url, **kw: client.post(url, headers=headers, **kw),
                            put=lambda url, **kw: client.put(url, headers=headers, **kw))
    with app.app_context():
        record = visit_payload(SimpleNamespace(id=server.world.households_v1[0].id))
        sync(phone, record)
        phone.visit_id = record["id"]
        photo_id, block = _blocked_upload(app, phone, photos_dir)

    desk = browsing.desktop().new_page()
    sign_in(desk, "admin", server.password)
    desk.goto("/admin/jobs")
    expect(desk.get_by_test_id("jobs-in-process")).to_be_visible()
    row = desk.get_by_test_id("dead-letter")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-where", "in-process")
    expect(row).to_contain_text("照片处理")
    shot(desk, artifacts, "jobs-in-process-listed", full_page=True)

    shutil.rmtree(block)  # the cause is fixed
    desk.get_by_test_id("retry-job").click()
    expect(desk.get_by_test_id("no-dead-letters")).to_be_visible()
    expect(desk.locator(".flash-success")).to_contain_text("任务已重新运行并成功完成")
    shot(desk, artifacts, "jobs-in-process-retried")
    with server.db() as session:
        assert session.get(Photo, photo_id).state == "ready"
