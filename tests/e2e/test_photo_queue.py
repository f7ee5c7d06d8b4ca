"""Photos processed off the request (JOB_QUEUE on a real Redis, a real `flask jobs worker`).

The secretary's phone shows 处理中 placeholders until the worker has made the photos; a worker
that cannot read the store leaves dead letters an admin retries from /admin/jobs.
Screenshots: test-artifacts/e2e/photo-queue-*.png.
"""
import os
import uuid
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from fieldlog.models import User
from fieldlog.services.people.auth import issue_device_token
from tests.e2e.test_offline_visit import PORTRAIT, shot, sign_in
from tests.test_jobs import HEIC, REDIS_URL, run_worker
from tests.test_photo_api import upload
from tests.test_sync_api import sync, visit_payload

pytestmark = pytest.mark.real_clock  # Redis keeps the jobs' expiry by its own clock


@pytest.fixture
def queued_server(live_server):
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.RedisError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    name = f"fieldlog-e2e-{uuid.uuid4().hex[:12]}"
    live_server.app.config.update(JOB_QUEUE=REDIS_URL, JOB_QUEUE_NAME=name, JOB_RETRIES=0,
                                  JOB_RETRY_INTERVALS="0")
    yield live_server
    for key in client.scan_iter(match="rq:job:*"):
        if client.type(key) == b"hash" and client.hget(key, "origin") == name.encode():
            client.delete(key, key + b":results")
    for key in client.scan_iter(match=f"rq:*{name}*"):
        client.delete(key)
    client.close()


def test_processing_placeholders_dead_letters_and_a_retry(browsing, queued_server, artifacts,
                                                          photos_dir, tmp_path):
    server = queued_server
    app = server.app
    with app.app_context(), server.db() as session:
        _token, raw = issue_device_token(session.get(User, server.world.sec1_id), "e2e")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {raw}"}
    phone_api = SimpleNamespace(post=lambda url, **kw: client.post(url, headers=headers, **kw),
                                put=lambda url, **kw: client.put(url, headers=headers, **kw))
    household = SimpleNamespace(id=server.world.households_v1[0].id)
    with app.app_context():
        record = visit_payload(household, heard="路灯坏了三盏，晚上孩子放学不安全。")
        sync(phone_api, record)
        for name in (PORTRAIT, HEIC):
            answer = upload(phone_api, photos_dir / name, record_id=record["id"])
            assert answer.status_code == 201 and answer.get_json()["state"] == "processing"

    phone = browsing.phone().new_page()
    sign_in(phone, "sec1", server.password)
    phone.goto(f"/review/visits/{record['id']}")
    expect(phone.get_by_test_id("photo-processing")).to_have_count(2)
    expect(phone.get_by_test_id("photo-processing").first).to_contain_text("处理中")
    shot(phone, artifacts, "photo-queue-processing-phone",
         show=phone.get_by_test_id("photo-processing").first)

    with app.app_context():  # the worker cannot read the originals: both jobs fail
        run_worker(app, PHOTO_DIR=str(tmp_path / "elsewhere"), JOB_RETRIES="0")
    desk = browsing.desktop().new_page()
    sign_in(desk, "admin", server.password)
    desk.goto("/admin/jobs")
    rows = desk.get_by_test_id("dead-letter")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("照片处理")
    shot(desk, artifacts, "photo-queue-dead-letters-desktop", full_page=True)
    for _ in range(2):
        desk.get_by_test_id("retry-job").first.click()
        desk.wait_for_load_state()
    expect(desk.get_by_test_id("no-dead-letters")).to_be_visible()
    shot(desk, artifacts, "photo-queue-retried-desktop")

    with app.app_context():
        run_worker(app)
    phone.reload()
    expect(phone.get_by_test_id("photo-processing")).to_have_count(0)
    photos = phone.get_by_test_id("photo").locator("img")
    expect(photos).to_have_count(2)
    for i in range(2):
        img = photos.nth(i)
        img.scroll_into_view_if_needed()
        phone.wait_for_function("img => img.complete && img.naturalWidth > 0",
                                arg=img.element_handle())
    shot(phone, artifacts, "photo-queue-ready-phone", show=photos.first)
    assert os.path.exists(artifacts / "photo-queue-ready-phone.png")
