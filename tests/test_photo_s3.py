"""Photos end to end with PHOTO_STORE=s3://… on a real S3 server: upload, serve, scope."""
import hashlib
from pathlib import Path

import pytest

from fieldlog.extensions import db
from fieldlog.models import Photo
from fieldlog.services.records.uploads import photo_store
from fieldlog.storage import LocalFolderStore
from fieldlog.storage_s3 import S3Store
from tests.fixtures.seaweed import BUCKET
from tests.test_photo_api import phone_with_visit, upload  # noqa: F401 (a fixture)

# S3 signs each request with the time; SeaweedFS checks it against the real clock
pytestmark = pytest.mark.real_clock

PHOTO = "jpg_gps_DSCN0010.jpg"


@pytest.fixture
def s3_app(app, s3_settings):
    """The test app with its photos on S3 (configuration only, as in production)."""
    app.config.update(s3_settings)
    return app


@pytest.fixture(params=["local", "s3"])
def any_store_app(request, app):
    if request.param == "s3":
        app.config.update(request.getfixturevalue("s3_settings"))
    return app


def test_upload_lands_in_the_bucket_and_is_served_within_scope(
        s3_app, client, world, login, phone_with_visit, photos_dir, s3_server):  # noqa: F811
    response = upload(phone_with_visit, photos_dir / PHOTO)
    assert response.status_code == 201, response.get_json()
    photo = db.session.get(Photo, response.get_json()["id"])

    store = photo_store()
    assert isinstance(store, S3Store)
    # Acknowledged means stored: a separate client reads all three sizes from the bucket now.
    bucket = s3_server.client()
    stored = {size: bucket.get_object(Bucket=BUCKET, Key=store.prefix + key)
              for size, key in (("original", photo.original_key),
                                ("display", photo.display_key), ("thumb", photo.thumb_key))}
    original = stored["original"]["Body"].read()
    assert hashlib.sha256(original).hexdigest() == photo.sha256
    assert stored["display"]["ContentType"] == "image/jpeg"
    assert not list(Path(s3_app.config["PHOTO_DIR"]).glob("**/*")), "nothing on local disk"
    assert photo.dhash is not None, "the integrity hook read the thumbnail back from S3"

    login("sup_t1")
    for size in ("display", "thumb"):
        served = client.get(f"/review/photos/{photo.id}/{size}")
        assert served.status_code == 200 and served.mimetype == "image/jpeg"
        assert served.data == stored[size]["Body"].read()
        assert served.headers["Content-Length"] == str(len(served.data))
        assert served.headers["Cache-Control"].startswith("private")
    served = client.get(f"/review/photos/{photo.id}/original")
    assert served.status_code == 200 and served.data == original
    assert served.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("username", ["sup_t2", "sec2"])
def test_out_of_scope_users_get_404_from_s3_too(s3_app, client, world, login, username,
                                                 phone_with_visit, photos_dir):  # noqa: F811
    photo = upload(phone_with_visit, photos_dir / PHOTO).get_json()
    login(username)
    for size in ("display", "thumb", "original"):
        assert client.get(f"/review/photos/{photo['id']}/{size}").status_code == 404


def test_signed_out_gets_no_photo(s3_app, client, world, phone_with_visit,  # noqa: F811
                                  photos_dir):
    photo = upload(phone_with_visit, photos_dir / PHOTO).get_json()
    response = client.get(f"/review/photos/{photo['id']}/thumb")
    assert response.status_code in (302, 401) and not response.data.startswith(b"\xff\xd8")


def test_a_photo_missing_from_the_store_is_404_not_a_crash(any_store_app, client, world, login,
                                                           phone_with_visit,  # noqa: F811
                                                           photos_dir):
    photo = db.session.get(Photo, upload(phone_with_visit, photos_dir / PHOTO).get_json()["id"])
    photo_store().delete(photo.display_key)
    login("sup_t1")
    assert client.get(f"/review/photos/{photo.id}/display").status_code == 404
    assert client.get(f"/review/photos/{photo.id}/thumb").status_code == 200


def test_without_photo_store_the_local_folder_is_used(app, world, phone_with_visit,  # noqa: F811
                                                      photos_dir):
    assert not app.config["PHOTO_STORE"]
    photo = upload(phone_with_visit, photos_dir / PHOTO).get_json()
    store = photo_store()
    assert isinstance(store, LocalFolderStore)
    assert str(store.root) == str(Path(app.config["PHOTO_DIR"]).resolve())
    assert store.exists(db.session.get(Photo, photo["id"]).thumb_key)


def test_an_unreachable_store_is_a_retryable_503_and_stores_nothing(
        app, s3_settings, world, phone_with_visit, photos_dir):  # noqa: F811
    from tests.fixtures.seaweed import _free_ports

    app.config.update(s3_settings | {"S3_ENDPOINT_URL": f"http://127.0.0.1:{_free_ports(1)[0]}"})
    response = upload(phone_with_visit, photos_dir / PHOTO)
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"] == "store_unavailable"
    assert db.session.query(Photo).count() == 0


def test_viewing_while_the_store_is_unreachable_is_503(s3_app, client, world, login,
                                                       phone_with_visit, photos_dir):  # noqa: F811
    from tests.fixtures.seaweed import _free_ports

    photo = upload(phone_with_visit, photos_dir / PHOTO).get_json()
    s3_app.config["S3_ENDPOINT_URL"] = f"http://127.0.0.1:{_free_ports(1)[0]}"
    login("sup_t1")
    assert client.get(f"/review/photos/{photo['id']}/thumb").status_code == 503
