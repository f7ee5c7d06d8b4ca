"""A phone learns that a photo it delivered could not be processed (queue on, a real worker).

The secretary records a visit with a damaged photo (a real camera JPEG with a garbled Huffman
table: whole markers, so the upload takes it with 201 and the outbox says delivered). A real
`flask jobs worker` then fails to decode it; the phone, asking after its sync round and while
photos process, shows "照片无法处理" on home and the outbox with what to do, and stops once
the cadre taps 知道了. Screenshots: test-artifacts/e2e/photo-problem-*.png.
"""
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from fieldlog.models import Photo, Visit
from tests.e2e.test_offline_visit import (
    SYNC_TIMEOUT_MS,
    by_id,
    choose_household,
    key_household,
    open_visit_form,
    shot,
    sign_in_secretary,
    wait_for_db,
)
from tests.e2e.test_photo_queue import queued_server  # noqa: F401 (a fixture)
from tests.test_jobs import run_worker
from tests.test_photo_problems import damaged_jpeg

pytestmark = pytest.mark.real_clock  # Redis keeps the jobs' expiry by its own clock


def test_the_phone_shows_a_photo_the_worker_could_not_process(
        browsing, queued_server, artifacts, photos_dir, tmp_path):  # noqa: F811
    server = queued_server
    household = key_household(server, "hardship")
    picked = tmp_path / "IMG_20261203_101500.jpg"
    picked.write_bytes(damaged_jpeg(photos_dir))

    page = browsing.phone().new_page()
    sign_in_secretary(page, server)
    open_visit_form(page)
    choose_household(page, household.head_name[-3:], household)
    by_id(page, "heard").fill("厕所改造已完工，想要一张完工照片。")
    by_id(page, "photo-input").set_input_files(picked)
    expect(by_id(page, "photo-thumb")).to_have_attribute("data-state", "ready")
    by_id(page, "save-visit").tap()
    page.wait_for_url("**/m/")
    # Delivered: the server took the photo (201) before decoding it.
    expect(by_id(page, "outbox-card")).to_have_attribute("data-state", "empty",
                                                         timeout=SYNC_TIMEOUT_MS)

    def stored(session):
        visit = session.scalars(select(Visit).where(Visit.household_id == household.id)).first()
        return visit and session.scalars(select(Photo).where(Photo.record_id == visit.id)).first()

    photo = wait_for_db(server, stored)
    assert photo is not None and photo.state == "processing"
    problems = by_id(page, "photo-problems")
    expect(problems).to_be_hidden()

    with server.app.app_context():
        run_worker(server.app)  # decodes it: the file is damaged
    with server.db() as session:
        assert session.get(Photo, photo.id).failure == "corrupt_image"

    # The phone asks again while its photo processes; no reload needed.
    expect(problems).to_be_visible(timeout=90_000)
    item = by_id(page, "photo-problem")
    expect(item).to_have_count(1)
    expect(item).to_have_attribute("data-photo-id", photo.id)
    expect(item).to_contain_text(household.head_name)
    expect(by_id(page, "photo-problem-why")).to_have_text("照片无法处理：文件已损坏或不完整。")
    expect(item).to_contain_text("请重新拍摄或另选一张照片")
    edit = by_id(page, "photo-problem-edit")
    expect(edit).to_have_attribute("href", f"/m/visits/{photo.record_id}/edit")
    expect(problems).to_contain_text("1 张照片无法处理")
    shot(page, artifacts, "photo-problem-home", show=problems)

    by_id(page, "tab-outbox").tap()
    page.wait_for_url("**/m/outbox")
    expect(by_id(page, "photo-problem")).to_have_count(1)
    expect(by_id(page, "outbox-empty")).to_be_visible()
    shot(page, artifacts, "photo-problem-outbox")

    by_id(page, "photo-problem-ok").tap()
    expect(by_id(page, "photo-problems")).to_be_hidden()
    with server.db() as session:
        assert session.get(Photo, photo.id).failure_seen_at is not None
    page.goto("/m/")
    expect(by_id(page, "outbox-card")).to_have_attribute("data-state", "empty")
    page.wait_for_timeout(1500)  # the page has asked the server again by now
    expect(by_id(page, "photo-problems")).to_be_hidden()
    shot(page, artifacts, "photo-problem-acknowledged")
