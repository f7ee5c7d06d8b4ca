"""The job queue: photo processing and integrity flags off the request.

In-process (the default, no JOB_QUEUE) a job runs right after the commit; with JOB_QUEUE on a
real Redis, the upload answers before anything is decoded and a real `flask jobs worker`
(a subprocess on the same database and photo store) does the work, retries a failing job and
leaves it in the dead letters, where an admin retries or discards it.
"""
import io
import json
import os
import re
import subprocess
import sys
import uuid
import zlib

import pytest
from PIL import Image
from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import AuditEntry, Flag, Photo
from fieldlog.services.integrity.hooks import compute_flags
from fieldlog.services.jobs.dead_letters import summarise
from fieldlog.services.records.processing import process_stored_photo
from fieldlog.services.records.store import photo_store
from tests.conftest import ROOT, csrf_token
from tests.test_photo_api import phone_with_visit, upload  # noqa: F401 (a fixture)

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
JPEG = "jpg_gps_DSCN0010.jpg"
HEIC = "heic_mobile_iphone_13_pro_max.HEIC"


def _png_with_a_bad_crc() -> bytes:
    """A PNG whose header opens (the upload's check passes) but whose data is damaged."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 120, 200)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    at = data.index(b"IDAT") + 6
    data[at] ^= 0xFF
    return bytes(data)


def _flags() -> list:
    return db.session.execute(select(Flag.id, Flag.record_type, Flag.record_id, Flag.kind,
                                     Flag.params, Flag.created_at).order_by(Flag.id)).all()


def _state(photo_id: str) -> Photo:
    db.session.expire_all()
    return db.session.get(Photo, photo_id)


# --- in-process (the default) ---------------------------------------------------------------


def test_in_process_the_photo_is_ready_when_the_upload_answers(app, phone_with_visit,  # noqa: F811
                                                               photos_dir):
    response = upload(phone_with_visit, photos_dir / JPEG)
    assert response.status_code == 201
    body = response.get_json()
    assert body["state"] == "ready" and body["failure"] is None
    photo = _state(body["id"])
    assert photo_store().get(photo.thumb_key)[:3] == b"\xff\xd8\xff"
    assert photo.dhash is not None, "the flags job ran after the photo job"


def test_a_photo_that_cannot_be_decoded_is_marked_failed_and_shown_so(
        app, client, login, phone_with_visit, photos_dir):  # noqa: F811
    response = upload(phone_with_visit, _png_with_a_bad_crc())
    assert response.status_code == 201  # the header was fine: the original is kept
    body = response.get_json()
    assert (body["state"], body["failure"]) == ("failed", "corrupt_image")
    login("sup_t1")
    page = client.get(f"/review/visits/{phone_with_visit.visit_id}").get_data(as_text=True)
    assert 'data-testid="photo-failed"' in page
    assert f"/review/photos/{body['id']}/display" not in page  # no broken image
    assert client.get(f"/review/photos/{body['id']}/thumb").status_code == 404
    assert client.get(f"/review/photos/{body['id']}/original").status_code == 200


def test_running_a_job_twice_changes_nothing(app, phone_with_visit, photos_dir):  # noqa: F811
    photo_id = upload(phone_with_visit, photos_dir / JPEG).get_json()["id"]
    photo = _state(photo_id)
    photo.state = "processing"  # as if the job had not run yet
    db.session.commit()

    def snapshot():
        p = _state(photo_id)
        flags = _flags()
        return ((p.state, p.width, p.height, p.dhash, p.taken_at, p.lat, p.lon),
                photo_store().get(p.display_key), photo_store().get(p.thumb_key), flags)

    assert process_stored_photo(photo_id) == "ready"
    first = snapshot()
    assert process_stored_photo(photo_id) == "ready"
    compute_flags("photo", [photo_id])
    compute_flags("visit", [phone_with_visit.visit_id])
    compute_flags("visit", [phone_with_visit.visit_id])
    assert snapshot() == first


def test_the_dead_letter_page_says_when_jobs_run_in_process(app, client, login, world):
    login("admin")
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert 'data-testid="jobs-in-process"' in page


def test_arguments_are_summarised_for_a_person():
    ids = [str(uuid.UUID(int=n)) for n in range(5)]
    text = summarise(["visit", ids])
    assert text.startswith("visit · [") and text.endswith("(5)") and "…" in text


# --- a real Redis queue and a real worker ----------------------------------------------------


@pytest.fixture
def redis_queue(app):
    """Point the app at a queue of its own on the real Redis; delete its keys afterwards."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.RedisError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    name = f"fieldlog-test-{uuid.uuid4().hex[:12]}"
    app.config.update(JOB_QUEUE=REDIS_URL, JOB_QUEUE_NAME=name, JOB_RETRIES=2,
                      JOB_RETRY_INTERVALS="0")
    yield name
    for key in client.scan_iter(match="rq:job:*"):
        if client.type(key) == b"hash" and client.hget(key, "origin") == name.encode():
            client.delete(key, key + b":results", key + b":dependents")
    for key in client.scan_iter(match=f"rq:*{name}*"):
        client.delete(key)
    client.close()


def run_worker(app, **overrides) -> subprocess.CompletedProcess:
    """Run `flask jobs worker --burst` in a subprocess on the test's database and store."""
    db.session.rollback()  # end this side's transaction: the worker writes the same database
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "PHOTO_DIR": app.config["PHOTO_DIR"], "SECRET_KEY": "test-secret",
           "JOB_QUEUE": app.config["JOB_QUEUE"], "JOB_QUEUE_NAME": app.config["JOB_QUEUE_NAME"],
           "JOB_RETRIES": str(app.config["JOB_RETRIES"]), "JOB_RETRY_INTERVALS": "0",
           "FLASK_APP": "app", **overrides}
    env.pop("FIELDLOG_TODAY", None)
    done = subprocess.run([sys.executable, "-m", "flask", "jobs", "worker", "--burst"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.mark.real_clock  # Redis keeps the jobs' expiry by its own clock
def test_upload_answers_before_processing_then_a_worker_makes_it_ready(
        app, client, login, redis_queue, phone_with_visit, photos_dir):  # noqa: F811
    response = upload(phone_with_visit, photos_dir / HEIC)
    assert response.status_code == 201
    body = response.get_json()
    assert body["state"] == "processing"
    assert {body["width"], body["height"]} == {3024, 4032} and body["taken_at"]  # from the header
    photo = _state(body["id"])
    store = photo_store()
    assert store.get(photo.original_key) == (photos_dir / HEIC).read_bytes()  # durably stored
    with pytest.raises(KeyError):
        store.get(photo.thumb_key)  # not decoded in the request

    login("sup_t1")
    page = client.get(f"/review/visits/{phone_with_visit.visit_id}").get_data(as_text=True)
    assert 'data-testid="photo-processing"' in page
    pending = client.get(f"/review/photos/{photo.id}/thumb")
    assert pending.status_code == 202 and pending.mimetype == "image/svg+xml"
    assert pending.headers["Cache-Control"] == "no-store"

    run_worker(app)
    photo = _state(body["id"])
    assert photo.state == "ready"
    assert photo.dhash is not None, "the worker ran the flags job the photo job queued"
    served = client.get(f"/review/photos/{photo.id}/thumb")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    page = client.get(f"/review/visits/{phone_with_visit.visit_id}").get_data(as_text=True)
    assert 'data-testid="photo-processing"' not in page
    # A replay of the upload now answers the finished photo and queues nothing.
    again = upload(phone_with_visit, photos_dir / HEIC, photo_id=body["id"])
    assert again.status_code == 200 and again.get_json()["state"] == "ready"


@pytest.mark.real_clock
def test_a_failing_job_is_retried_then_kept_for_an_admin_who_retries_it(
        app, client, login, redis_queue, phone_with_visit, photos_dir, tmp_path):  # noqa: F811
    photo_id = upload(phone_with_visit, photos_dir / JPEG).get_json()["id"]
    # The worker's photo store lacks the original (a store that is down or misconfigured).
    run_worker(app, PHOTO_DIR=str(tmp_path / "elsewhere"))
    assert _state(photo_id).state == "processing"

    login("admin")
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert page.count('data-testid="dead-letter"') == 1
    assert 'data-job="photo.process"' in page and photo_id in page
    assert "is not in the photo store" in page
    assert 'data-attempts="3"' in page, "one attempt and two retries"
    job_id = re.search(r'data-job-id="([^"]+)"', page).group(1)
    response = client.post(f"/admin/jobs/{job_id}/retry", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 303
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "job.retry"))
    assert entry.object_id == job_id and json.loads(entry.details) == {"kind": "photo.process"}
    assert 'data-testid="no-dead-letters"' in client.get("/admin/jobs").get_data(as_text=True)

    run_worker(app)  # the store is back
    assert _state(photo_id).state == "ready"


@pytest.mark.real_clock
def test_an_admin_discards_a_dead_letter(
        app, client, login, redis_queue, phone_with_visit, photos_dir, tmp_path):  # noqa: F811
    upload(phone_with_visit, photos_dir / JPEG)
    run_worker(app, PHOTO_DIR=str(tmp_path / "elsewhere"), JOB_RETRIES="0")
    login("admin")
    page = client.get("/admin/jobs").get_data(as_text=True)
    job_id = re.search(r'data-job-id="([^"]+)"', page).group(1)
    token = csrf_token(client)
    assert client.post(f"/admin/jobs/{job_id}/discard",
                       data={"csrf_token": token}).status_code == 303
    assert 'data-testid="no-dead-letters"' in client.get("/admin/jobs").get_data(as_text=True)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "job.discard"))
    # Gone for good: retrying it now only says so.
    again = client.post(f"/admin/jobs/{job_id}/retry", data={"csrf_token": token},
                        follow_redirects=True)
    assert again.status_code == 200 and 'data-testid="no-dead-letters"' in again.get_data(
        as_text=True)


@pytest.mark.real_clock
def test_the_same_job_queued_twice_changes_nothing(app, redis_queue, phone_with_visit,  # noqa: F811
                                                   photos_dir):
    from fieldlog.services.records.processing import queue_processing

    photo_id = upload(phone_with_visit, photos_dir / JPEG).get_json()["id"]
    queue_processing(photo_id)  # a duplicate delivery
    run_worker(app)
    photo = _state(photo_id)
    first = (photo.state, photo.dhash, photo_store().get(photo.thumb_key),
             _flags())
    queue_processing(photo_id)
    run_worker(app)
    photo = _state(photo_id)
    assert (photo.state, photo.dhash, photo_store().get(photo.thumb_key),
            _flags()) == first
    assert zlib.crc32(first[2])  # a real thumbnail
