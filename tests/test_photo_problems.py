"""The phone hears of its photos that failed processing after the upload was acknowledged.

With the queue on, a photo is answered 201 once its original is stored; a real `flask jobs
worker` decodes it later and marks a damaged file failed. GET /api/v1/photos/failed then
lists it for its owner (reason in the user's language) until the phone acknowledges it or the
record gets a photo in its place.

The damaged file: a real camera JPEG (jpg_gps_DSCN0010.jpg) whose Huffman table was garbled,
as a failing memory card does. Its markers are whole, so the upload's checks pass; only the
decoder finds the damage. The truncated camera file of the test data (jpg_corrupted.jpg) is
refused at once instead: its restart markers show the hole (422, the phone's outbox says so).
"""
import json
import re
import uuid

import pytest
from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import AuditEntry, Photo, User
from tests.test_jobs import JPEG, redis_queue, run_worker  # noqa: F401 (a fixture)
from tests.test_photo_api import phone_with_visit, upload  # noqa: F401 (a fixture)

TRUNCATED = "jpg_corrupted.jpg"


def damaged_jpeg(photos_dir) -> bytes:
    """Return a real camera JPEG with its main image's Huffman table garbled."""
    data = bytearray((photos_dir / JPEG).read_bytes())
    table = [m.start() for m in re.finditer(rb"\xff\xc4", data)][-1]  # the main image's DHT
    data[table + 5:table + 21] = bytes([16] * 16)  # code counts no Huffman table can have
    return bytes(data)


def _failed(client, **kw) -> dict:
    response = client.get("/api/v1/photos/failed", **kw)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _state(photo_id: str) -> Photo:
    db.session.expire_all()
    return db.session.get(Photo, photo_id)


@pytest.mark.real_clock  # Redis keeps the jobs' expiry by its own clock
def test_a_photo_that_fails_in_the_worker_is_told_to_its_phone_until_acknowledged(
        app, redis_queue, phone_with_visit, photos_dir, world, device):  # noqa: F811
    phone = phone_with_visit
    answer = upload(phone, damaged_jpeg(photos_dir))
    assert answer.status_code == 201 and answer.get_json()["state"] == "processing"
    photo_id = answer.get_json()["id"]
    assert _failed(phone) == {"failed": [], "processing": 1}, "not decoded yet: nothing failed"

    run_worker(app)
    photo = _state(photo_id)
    assert (photo.state, photo.failure) == ("failed", "corrupt_image")
    told = _failed(phone)
    assert told["processing"] == 0
    [item] = told["failed"]
    assert item["id"] == photo_id and item["record_id"] == phone.visit_id
    assert item["record_type"] == "visit" and item["failure"] == "corrupt_image"
    assert item["reason"] == "文件已损坏或不完整。"  # the secretary's language (Chinese first)
    assert item["edit_url"] == f"/m/visits/{phone.visit_id}/edit"
    assert item["title"].startswith(world.h1[0].head_name)
    assert _failed(phone)["failed"] == [item], "asking again changes nothing"
    # Only the owner hears of it.
    assert _failed(device(world.sec3))["failed"] == []
    other = device(world.sec3).post("/api/v1/photos/failed/seen", json={"ids": [photo_id]})
    assert other.status_code == 200 and other.get_json() == {"acknowledged": 0}
    assert _state(photo_id).failure_seen_at is None

    seen = phone.post("/api/v1/photos/failed/seen", json={"ids": [photo_id]})
    assert seen.status_code == 200 and seen.get_json() == {"acknowledged": 1}
    assert _failed(phone)["failed"] == []
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "photo.failure_seen"))
    assert entry.object_id == photo_id
    assert json.loads(entry.details) == {"record_id": phone.visit_id, "failure": "corrupt_image"}
    again = phone.post("/api/v1/photos/failed/seen", json={"ids": [photo_id]})
    assert again.get_json() == {"acknowledged": 0}, "a second phone acknowledging: no change"


def test_the_reason_is_in_the_users_language(app, client, login, phone_with_visit,  # noqa: F811
                                             photos_dir, world):
    photo_id = upload(phone_with_visit, damaged_jpeg(photos_dir)).get_json()["id"]
    db.session.get(User, world.sec1.id).locale = "en"
    db.session.commit()
    login("sec1")
    [item] = _failed(client)["failed"]
    assert item["id"] == photo_id and item["reason"] == "The file is damaged or incomplete."


def test_in_process_the_failure_is_listed_right_after_the_upload(phone_with_visit,  # noqa: F811
                                                                 photos_dir):
    answer = upload(phone_with_visit, damaged_jpeg(photos_dir))
    assert answer.status_code == 201
    assert (answer.get_json()["state"], answer.get_json()["failure"]) == ("failed",
                                                                          "corrupt_image")
    assert [p["id"] for p in _failed(phone_with_visit)["failed"]] == [answer.get_json()["id"]]


def test_a_photo_sent_in_its_place_ends_the_report(phone_with_visit, photos_dir):  # noqa: F811
    broken = upload(phone_with_visit, damaged_jpeg(photos_dir)).get_json()["id"]
    assert [p["id"] for p in _failed(phone_with_visit)["failed"]] == [broken]
    # The cadre took the photo again and edited the record: a good photo reached the record.
    assert upload(phone_with_visit, photos_dir / JPEG).status_code == 201
    assert _failed(phone_with_visit)["failed"] == []
    assert _state(broken).failure_seen_at is None  # not acknowledged, just replaced


def test_the_truncated_camera_file_is_refused_at_once(phone_with_visit, photos_dir):  # noqa: F811
    answer = upload(phone_with_visit, photos_dir / TRUNCATED)
    assert answer.status_code == 422 and answer.get_json()["error"] == "corrupt_image"
    assert db.session.scalar(select(Photo)) is None
    assert _failed(phone_with_visit) == {"failed": [], "processing": 0}


@pytest.mark.parametrize("body", [{"ids": ["not-a-uuid"]}, {"ids": "x"}, {},
                                  {"ids": [str(uuid.uuid4())] * 201}])
def test_a_bad_acknowledgement_is_refused_and_changes_nothing(phone_with_visit, photos_dir,  # noqa: F811
                                                              body):
    photo_id = upload(phone_with_visit, damaged_jpeg(photos_dir)).get_json()["id"]
    refused = phone_with_visit.post("/api/v1/photos/failed/seen", json=body)
    assert refused.status_code == 422 and refused.get_json()["error"] == "invalid"
    assert _state(photo_id).failure_seen_at is None
    assert [p["id"] for p in _failed(phone_with_visit)["failed"]] == [photo_id]
