"""Photo upload through the API with real camera and phone files."""
import io
import uuid

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from fieldlog.extensions import db
from fieldlog.models import Photo
from tests.test_sync_api import sync, visit_payload


@pytest.fixture
def phone_with_visit(world, device):
    """A secretary's phone that has synced one visit."""
    phone = device(world.sec1)
    record = visit_payload(world.h1[0])
    sync(phone, record)
    phone.visit_id = record["id"]
    return phone


def upload(phone, path_or_bytes, *, photo_id=None, record_id=None, **fields):
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    photo_id = photo_id or str(uuid.uuid4())
    form = {"file": FileStorage(io.BytesIO(data), "whatever.bin"), "record_type": "visit",
            "record_id": record_id or phone.visit_id, **fields}
    # Encoded in memory: Werkzeug's test client spools large bodies to a file it never closes.
    boundary, body = encode_multipart(form)
    return phone.put(f"/api/v1/photos/{photo_id}", data=body,
                     content_type=f"multipart/form-data; boundary={boundary}")


def test_gps_jpeg_keeps_exif_facts_as_fields(phone_with_visit, photos_dir):
    response = upload(phone_with_visit, photos_dir / "jpg_gps_DSCN0010.jpg")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["facts_source"] == "file"
    assert body["lat"] == pytest.approx(43.467, abs=0.01)
    assert body["lon"] == pytest.approx(11.885, abs=0.01)
    assert body["taken_at"].startswith("2008-")


def test_heic_from_an_iphone_is_accepted(phone_with_visit, photos_dir):
    response = upload(phone_with_visit, photos_dir / "heic_mobile_iphone_13_pro_max.HEIC")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert {body["width"], body["height"]} == {3024, 4032} and body["taken_at"]


def test_replay_is_idempotent_and_other_bytes_conflict(phone_with_visit, photos_dir):
    photo_id = str(uuid.uuid4())
    first = upload(phone_with_visit, photos_dir / "jpg_gps_DSCN0010.jpg", photo_id=photo_id)
    again = upload(phone_with_visit, photos_dir / "jpg_gps_DSCN0010.jpg", photo_id=photo_id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    other = upload(phone_with_visit, photos_dir / "jpg_gps_DSCN0021.jpg", photo_id=photo_id)
    assert other.status_code == 409 and other.get_json()["error"] == "conflict"
    assert db.session.query(Photo).count() == 1


@pytest.mark.parametrize("name", ["jpg_corrupted.jpg"])
def test_broken_files_get_a_clear_error_and_store_nothing(phone_with_visit, photos_dir, name):
    response = upload(phone_with_visit, photos_dir / name)
    assert response.status_code == 422
    body = response.get_json()
    assert body["message"] and body["fields"]["file"]
    assert db.session.query(Photo).count() == 0


def test_not_an_image_is_refused_by_content(phone_with_visit):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    response = upload(phone_with_visit, svg)
    assert response.status_code == 422 and db.session.query(Photo).count() == 0


def test_downscaled_photo_uses_the_facts_the_phone_read(phone_with_visit):
    """The canvas drops EXIF; the phone sends time and GPS as fields."""
    buffer = io.BytesIO()
    Image.new("RGB", (1600, 1200), (90, 140, 60)).save(buffer, "JPEG")
    response = upload(phone_with_visit, buffer.getvalue(), taken_at="2026-11-20T09:15:00",
                      lat="26.5801", lon="106.7103")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["facts_source"] == "device" and body["lat"] == pytest.approx(26.5801)
    assert body["taken_at"].startswith("2026-11-20T09:15")


def test_photo_before_its_record_is_a_retryable_404(world, device, photos_dir):
    phone = device(world.sec1)
    response = upload(phone, photos_dir / "jpg_gps_DSCN0010.jpg", record_id=str(uuid.uuid4()))
    assert response.status_code == 404 and response.get_json()["error"] == "record_not_found"


def test_only_the_author_adds_photos(phone_with_visit, world, device, photos_dir):
    other = device(world.sec2)
    response = upload(other, photos_dir / "jpg_gps_DSCN0010.jpg",
                      record_id=phone_with_visit.visit_id)
    assert response.status_code == 403


def test_bad_fields_are_refused(phone_with_visit, photos_dir):
    response = upload(phone_with_visit, photos_dir / "jpg_gps_DSCN0010.jpg", lat="95")
    assert response.status_code == 422 and "lat" in response.get_json()["fields"]


def test_missing_file_is_refused(phone_with_visit):
    response = phone_with_visit.put(f"/api/v1/photos/{uuid.uuid4()}",
                                    data={"record_id": phone_with_visit.visit_id},
                                    content_type="multipart/form-data")
    assert response.status_code == 422 and "file" in response.get_json()["fields"]


def test_oversized_upload_is_a_clean_413(app, phone_with_visit):
    app.config["MAX_CONTENT_LENGTH"] = 100_000
    response = upload(phone_with_visit, b"\xff\xd8\xff" + b"0" * 200_000)
    assert response.status_code == 413 and response.get_json()["error"] == "too_large"


def test_rotated_photo_is_served_upright_without_exif(app, client, world, login,
                                                      phone_with_visit, photos_dir):
    response = upload(phone_with_visit, photos_dir / "jpg_orientation_portrait_6.jpg")
    photo = response.get_json()
    login("sup_t1")
    served = client.get(f"/review/photos/{photo['id']}/display")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    image = Image.open(io.BytesIO(served.data))
    assert image.height > image.width, "orientation 6 must come out portrait"
    assert not image.getexif() and "exif" not in image.info


def test_photos_are_served_only_within_scope(client, world, login, phone_with_visit, photos_dir):
    photo = upload(phone_with_visit, photos_dir / "jpg_gps_DSCN0010.jpg").get_json()
    login("sup_t2")
    assert client.get(f"/review/photos/{photo['id']}/thumb").status_code == 404
