"""The per-user daily photo quota: a clean 429 in the one error shape, replays still answered."""
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from fieldlog.extensions import db
from fieldlog.models import AuditEntry, Photo
from tests.test_photo_api import upload
from tests.test_sync_api import sync, visit_payload

NIKON = "jpg_gps_DSCN0010.jpg"
OTHER = "jpg_gps_DSCN0021.jpg"


@pytest.fixture
def phone(world, device):
    phone = device(world.sec1)
    record = visit_payload(world.h1[0])
    sync(phone, record)
    phone.visit_id = record["id"]
    return phone


@pytest.fixture
def quota_of_one_photo(app, photos_dir):
    """Room for the first test photo today, not for a second one."""
    size = (photos_dir / NIKON).stat().st_size
    app.config["PHOTO_QUOTA_BYTES_PER_DAY"] = size + 1000
    return size


def test_default_quota_is_500_mb(app):
    assert app.config["PHOTO_QUOTA_BYTES_PER_DAY"] == 500 * 1024 * 1024


def test_over_the_daily_quota_is_a_clean_429_and_stores_nothing(app, phone, photos_dir,
                                                               quota_of_one_photo):
    stored = upload(phone, photos_dir / NIKON).get_json()["id"]
    photo_id = str(uuid.uuid4())
    refused = upload(phone, photos_dir / OTHER, photo_id=photo_id)
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["error"] == "quota_exceeded" and set(body) == {"error", "message", "fields"}
    assert "Nothing was lost" in body["message"] and body["fields"]["file"]
    assert db.session.get(Photo, photo_id) is None
    store = Path(app.config["PHOTO_DIR"])
    assert list(store.rglob(uuid.UUID(stored).hex))
    assert not list(store.rglob(uuid.UUID(photo_id).hex))
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "photo.create")) == 1


def test_a_replay_of_a_stored_photo_is_answered_even_over_quota(phone, photos_dir,
                                                                quota_of_one_photo):
    photo_id = str(uuid.uuid4())
    assert upload(phone, photos_dir / NIKON, photo_id=photo_id).status_code == 201
    assert upload(phone, photos_dir / OTHER).status_code == 429
    assert upload(phone, photos_dir / NIKON, photo_id=photo_id).status_code == 200


def test_the_quota_is_per_user(world, device, phone, photos_dir, quota_of_one_photo):
    assert upload(phone, photos_dir / NIKON).status_code == 201
    other = device(world.sec2)
    record = visit_payload(world.h2[0])
    sync(other, record)
    assert upload(other, photos_dir / OTHER, record_id=record["id"]).status_code == 201


def test_photos_of_earlier_days_do_not_count(phone, photos_dir, quota_of_one_photo):
    assert upload(phone, photos_dir / NIKON).status_code == 201
    db.session.execute(update(Photo).values(received_at=Photo.received_at - timedelta(days=1)))
    db.session.commit()
    assert upload(phone, photos_dir / OTHER).status_code == 201
