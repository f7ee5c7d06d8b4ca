"""In-process jobs (no JOB_QUEUE, `make run`) that raise are kept as dead letters at /admin/jobs.

The fault is real: a folder sits where the photo job must write the display size, so the
store's write fails (an OSError, as a full or broken disk gives) after the upload has stored
the original and answered. Removing the folder fixes the cause; a retry then runs the job
again in the app's process.
"""
import json
import re
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fieldlog.extensions import db
from fieldlog.models import AuditEntry, JobFailure, Photo
from fieldlog.storage import photo_keys
from tests.conftest import csrf_token
from tests.test_jobs import JPEG
from tests.test_photo_api import phone_with_visit, upload  # noqa: F401 (a fixture)


def _blocked_upload(app, phone, photos_dir) -> tuple[str, Path]:
    """Upload a good photo whose display size cannot be written; return its ID and the block."""
    photo_id = str(uuid.uuid4())
    block = Path(app.config["PHOTO_DIR"]) / photo_keys(photo_id)["display"]
    (block / "in-the-way").mkdir(parents=True)
    answer = upload(phone, photos_dir / JPEG, photo_id=photo_id)
    assert answer.status_code == 201, "the upload stands: the original is stored"
    assert answer.get_json()["state"] == "processing"
    return photo_id, block


def _state(photo_id: str) -> str:
    db.session.expire_all()
    return db.session.get(Photo, photo_id).state


def _letters(client) -> tuple[str, list[str]]:
    page = client.get("/admin/jobs").get_data(as_text=True)
    return page, re.findall(r'data-job-id="([^"]+)"', page)


def test_a_failed_in_process_job_is_kept_and_an_admin_retries_it_once_fixed(
        app, client, login, phone_with_visit, photos_dir):  # noqa: F811
    photo_id, block = _blocked_upload(app, phone_with_visit, photos_dir)
    [kept] = db.session.scalars(select(JobFailure)).all()
    assert (kept.name, json.loads(kept.args), kept.attempts) == ("photo.process", [photo_id], 1)
    assert "IsADirectoryError" in kept.error or "OSError" in kept.error
    job_id = kept.id

    # The phone replays the upload of a photo still processing: the job runs and fails again.
    assert upload(phone_with_visit, photos_dir / JPEG, photo_id=photo_id).status_code == 200
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(JobFailure)) == 1
    assert db.session.scalar(select(JobFailure.attempts)) == 2

    login("admin")
    page, ids = _letters(client)
    assert 'data-testid="jobs-in-process"' in page and ids == [job_id]
    assert 'data-where="in-process"' in page and photo_id in page and 'data-attempts="2"' in page
    token = csrf_token(client)
    # Retried before the cause is fixed: it runs, fails again, and stays (one more attempt).
    still = client.post(f"/admin/jobs/{job_id}/retry", data={"csrf_token": token},
                        follow_redirects=True).get_data(as_text=True)
    assert "任务再次失败" in still and 'data-attempts="3"' in still
    assert _state(photo_id) == "processing"

    shutil.rmtree(block)  # the cause is fixed
    done = client.post(f"/admin/jobs/{job_id}/retry", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "任务已重新运行并成功完成" in done and 'data-testid="no-dead-letters"' in done
    assert _state(photo_id) == "ready"
    assert db.session.scalar(select(func.count()).select_from(JobFailure)) == 0
    retries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "job.retry")).all()
    assert [(e.object_id, json.loads(e.details)) for e in retries] == [
        (job_id, {"kind": "photo.process"})] * 2


def test_an_admin_discards_an_in_process_failure(app, client, login, phone_with_visit,  # noqa: F811
                                                 photos_dir):
    photo_id, _block = _blocked_upload(app, phone_with_visit, photos_dir)
    login("admin")
    _page, [job_id] = _letters(client)
    token = csrf_token(client)
    assert client.post(f"/admin/jobs/{job_id}/discard",
                       data={"csrf_token": token}).status_code == 303
    assert _letters(client)[1] == []
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "job.discard"))
    assert entry.object_id == job_id and json.loads(entry.details) == {"kind": "photo.process"}
    assert _state(photo_id) == "processing"  # until the phone sends it again
    gone = client.post(f"/admin/jobs/{job_id}/retry", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert 'data-testid="no-dead-letters"' in gone
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "job.retry")) is None


def test_a_job_that_later_runs_well_is_no_longer_listed(app, phone_with_visit,  # noqa: F811
                                                        photos_dir):
    photo_id, block = _blocked_upload(app, phone_with_visit, photos_dir)
    shutil.rmtree(block)
    # The phone's replay of the upload queues the job again; now it runs.
    assert upload(phone_with_visit, photos_dir / JPEG, photo_id=photo_id).status_code == 200
    assert _state(photo_id) == "ready"
    assert db.session.scalar(select(func.count()).select_from(JobFailure)) == 0


@pytest.mark.parametrize("username", ["sec1", "sup_t1", "inspector"])
def test_only_admins_see_retry_or_discard_failed_jobs(app, client, login, phone_with_visit,  # noqa: F811
                                                      photos_dir, username):
    _blocked_upload(app, phone_with_visit, photos_dir)
    job_id = db.session.scalar(select(JobFailure.id))
    login(username)
    token = csrf_token(client)
    assert client.get("/admin/jobs").status_code == 403
    for act in ("retry", "discard"):
        assert client.post(f"/admin/jobs/{job_id}/{act}",
                           data={"csrf_token": token}).status_code == 403
    db.session.expire_all()
    assert db.session.get(JobFailure, job_id).attempts == 1
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action.like("job.%"))) is None
