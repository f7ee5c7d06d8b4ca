"""A supervisor's desktop shows a visit's photos kept on S3 (a real SeaweedFS server).

Screenshot: test-artifacts/e2e/photos-s3-visit.png.
"""
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from fieldlog.models import User
from fieldlog.services.people.auth import issue_device_token
from fieldlog.storage_s3 import S3Store
from tests.e2e.test_offline_visit import PORTRAIT, shot, sign_in
from tests.test_photo_api import upload
from tests.test_sync_api import sync, visit_payload

# S3 signs each request with the time; SeaweedFS checks it against the real clock
pytestmark = pytest.mark.real_clock


def test_visit_photos_from_s3_show_on_the_review_page(browsing, live_server, artifacts,
                                                      photos_dir, s3_settings):
    server = live_server
    server.app.config.update(s3_settings)
    with server.app.app_context(), server.db() as session:
        _token, raw = issue_device_token(session.get(User, server.world.sec1_id), "e2e")
    client = server.app.test_client()
    headers = {"Authorization": f"Bearer {raw}"}
    phone = SimpleNamespace(post=lambda url, **kw: client.post(url, headers=headers, **kw),
                            put=lambda url, **kw: client.put(url, headers=headers, **kw))
    household = SimpleNamespace(id=server.world.households_v1[0].id)
    with server.app.app_context():
        record = visit_payload(household, heard="屋顶漏雨，想申请危房改造。")
        sync(phone, record)
        for name in (PORTRAIT, "jpg_gps_DSCN0010.jpg"):
            assert upload(phone, photos_dir / name, record_id=record["id"]).status_code == 201
        from fieldlog.services.records.uploads import photo_store

        assert isinstance(photo_store(), S3Store)

    desk = browsing.desktop().new_page()
    sign_in(desk, "sup_t1", server.password)
    desk.goto(f"/review/visits/{record['id']}")
    photos = desk.get_by_test_id("photo").locator("img")
    expect(photos).to_have_count(2)
    for i in range(2):
        img = photos.nth(i)
        img.scroll_into_view_if_needed()
        desk.wait_for_function("img => img.complete && img.naturalWidth > 0",
                               arg=img.element_handle())
    shot(desk, artifacts, "photos-s3-visit", full_page=True)
