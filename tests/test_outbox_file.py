"""An admin imports a phone's outbox file: preview, apply, the same idempotent rules as sync.

The files are built here the way static/js/outbox-page.js builds them (the browser test
test_outbox_states.py checks that the phone's own export imports the same way).
"""
import base64
import hashlib
import io
import json
import uuid

from sqlalchemy import func, select

from fieldlog.extensions import db
from fieldlog.models import AuditEntry, Meeting, Photo, User, Visit
from tests.test_meetings import meeting_payload
from tests.test_photo_api import upload
from tests.test_sync_api import sync, visit_payload

PHOTO = "jpg_gps_DSCN0010.jpg"


def outbox_file(user, records, photos=(), *, username=None) -> bytes:
    """Return the bytes of an outbox file of `user` holding `records` and `photos`.

    photos: (photo_id, record_id, jpeg bytes).
    """
    payload = json.dumps({
        "user": {"id": user.id, "username": username or user.username, "name": user.display_name},
        "exported_at": "2026-11-20T18:42:00+08:00",
        "records": list(records),
        "photos": [{"id": pid, "record_id": rid, "record_type": "visit", "slot": None,
                    "taken_at": None, "lat": None, "lon": None, "mime": "image/jpeg",
                    "filename": f"{pid}.jpg", "data": base64.b64encode(data).decode()}
                   for pid, rid, data in photos],
    }, ensure_ascii=False)
    return json.dumps({"format": "fieldlog-outbox", "version": 1,
                       "sha256": hashlib.sha256(payload.encode()).hexdigest(),
                       "payload": payload}, ensure_ascii=False).encode()


def post_file(client, csrf, data: bytes, *, confirm: str | None = None):
    form = {"csrf_token": csrf, "file": (io.BytesIO(data), "fieldlog-outbox-sec1.json")}
    if confirm:
        form.update(confirm="1", checksum=confirm)
    return client.post("/admin/outbox-import", data=form, content_type="multipart/form-data")


def checksum(data: bytes) -> str:
    return json.loads(data)["sha256"]


def counts() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(Visit)),
            db.session.scalar(select(func.count()).select_from(Photo)))


def test_preview_shows_whose_records_what_is_new_and_changes_nothing(world, login, client,
                                                                      device, photos_dir):
    on_server = visit_payload(world.h1[0])
    sync(device(world.sec1), on_server)
    fresh = visit_payload(world.h1[1], photo_ids=[str(uuid.uuid4())])
    data = outbox_file(world.sec1, [on_server, fresh],
                       [(fresh["photo_ids"][0], fresh["id"], (photos_dir / PHOTO).read_bytes())])
    csrf = login("admin").csrf
    response = post_file(client, csrf, data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "data-testid=\"import-preview\"" in html and world.sec1.display_name in html
    assert f'data-state="on_server" data-record-id="{on_server["id"]}"' in html
    assert f'data-state="new" data-record-id="{fresh["id"]}"' in html
    assert checksum(data) in html  # carried to the confirmation
    assert counts() == (1, 0)  # a preview stores nothing


def test_import_stores_records_and_photos_as_their_author_once(world, login, client, device,
                                                               photos_dir):
    visit = visit_payload(world.h1[0], photo_ids=[str(uuid.uuid4())])
    meeting = meeting_payload()
    meeting_id = meeting["id"]
    jpeg = (photos_dir / PHOTO).read_bytes()
    data = outbox_file(world.sec1, [visit, meeting], [(visit["photo_ids"][0], visit["id"], jpeg)])
    csrf = login("admin").csrf

    response = post_file(client, csrf, data, confirm=checksum(data))
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    html = response.get_data(as_text=True)
    assert 'data-testid="import-result"' in html
    stored = db.session.get(Visit, visit["id"])
    assert stored is not None and stored.author_id == world.sec1.id
    assert stored.village_id == world.v1.id and stored.device_id is None
    assert db.session.get(Meeting, meeting_id).author_id == world.sec1.id
    photo = db.session.get(Photo, visit["photo_ids"][0])
    assert photo.owner_id == world.sec1.id and photo.sha256 == hashlib.sha256(jpeg).hexdigest()
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "outbox.import")).one()
    details = entry.details if isinstance(entry.details, dict) else json.loads(entry.details)
    assert entry.actor_id == world.admin.id and entry.object_id == str(world.sec1.id)
    assert details["created"] == 2 and details["photos"] == 1 and details["refused"] == 0

    # The same file again: nothing new, nothing refused.
    again = post_file(client, csrf, data, confirm=checksum(data))
    assert again.status_code == 200
    assert counts() == (1, 1)
    assert "已在服务器上：2" in again.get_data(as_text=True) or \
        "Already on the server: 2" in again.get_data(as_text=True)

    # The phone comes back and syncs the same records and photo itself: no duplicates.
    phone = device(world.sec1)
    answers = sync(phone, visit, meeting)
    assert [a["status"] for a in answers] == ["stored", "stored"]
    assert answers[0]["version"] == 1
    replay = upload(phone, jpeg, photo_id=visit["photo_ids"][0], record_id=visit["id"])
    assert replay.status_code == 200, replay.get_json()
    assert counts() == (1, 1)


def test_a_record_the_phone_synced_first_is_not_duplicated_by_the_import(world, login, client,
                                                                         device):
    visit = visit_payload(world.h1[2])
    sync(device(world.sec1), visit)
    data = outbox_file(world.sec1, [visit])
    csrf = login("admin").csrf
    response = post_file(client, csrf, data)
    assert 'data-state="on_server"' in response.get_data(as_text=True)
    post_file(client, csrf, data, confirm=checksum(data))
    assert counts() == (1, 0)


def test_refused_records_are_reported_and_the_rest_stored(world, login, client):
    good = visit_payload(world.h1[0])
    foreign = visit_payload(world.h3[0])  # a household of another village
    broken = visit_payload(world.h1[1], location={"lat": 123, "lon": 0})
    data = outbox_file(world.sec1, [good, foreign, broken])
    csrf = login("admin").csrf
    preview = post_file(client, csrf, data).get_data(as_text=True)
    assert f'data-state="invalid" data-record-id="{broken["id"]}"' in preview
    html = post_file(client, csrf, data, confirm=checksum(data)).get_data(as_text=True)
    assert 'data-testid="result-refused"' in html
    assert db.session.get(Visit, good["id"]) is not None
    assert db.session.get(Visit, foreign["id"]) is None
    assert db.session.get(Visit, broken["id"]) is None


def test_records_of_a_user_outside_the_admins_area_are_refused(world, login, client,
                                                              password_hash):
    township_admin = User(username="admin_t1", display_name="东岭镇管理员", role="admin",
                          scope_unit_id=world.t1.id, password_hash=password_hash)
    db.session.add(township_admin)
    db.session.commit()
    data = outbox_file(world.sec3, [visit_payload(world.h3[0])])
    csrf = login("admin_t1").csrf
    for confirm in (None, checksum(data)):
        response = post_file(client, csrf, data, confirm=confirm)
        assert response.status_code == 403
        assert "import-error" in response.get_data(as_text=True)
    assert counts() == (0, 0)


def test_an_edited_or_damaged_file_is_refused_whole(world, login, client):
    visit = visit_payload(world.h1[0])
    data = outbox_file(world.sec1, [visit])
    envelope = json.loads(data)
    envelope["payload"] = envelope["payload"].replace("排水沟", "排水渠")  # edited by hand
    edited = json.dumps(envelope, ensure_ascii=False).encode()
    csrf = login("admin").csrf
    cases = {
        "edited": edited,
        "truncated": data[: len(data) // 2],
        "not json": b"\x89PNG\r\n\x1a\n",
        "other json": b'{"records": []}',
        "empty": b"",
        "unknown user": outbox_file(world.sec1, [visit], username="someone_else"),
        "future version": data.replace(b'"version": 1', b'"version": 9'),
    }
    for name, body in cases.items():
        response = post_file(client, csrf, body, confirm=checksum(data))
        assert response.status_code == 422, name
        assert 'data-testid="import-error"' in response.get_data(as_text=True), name
    assert "校验" in post_file(client, csrf, edited).get_data(as_text=True)
    assert counts() == (0, 0)


def test_confirming_a_different_file_than_the_one_checked_imports_nothing(world, login, client):
    first = outbox_file(world.sec1, [visit_payload(world.h1[0])])
    second = outbox_file(world.sec1, [visit_payload(world.h1[1])])
    csrf = login("admin").csrf
    response = post_file(client, csrf, second, confirm=checksum(first))
    assert response.status_code == 422
    assert counts() == (0, 0)


def test_only_admins_import(world, login, client):
    data = outbox_file(world.sec1, [visit_payload(world.h1[0])])
    for username in ("sup_county", "sec1", "inspector"):
        client.post("/logout", data={"csrf_token": login(username).csrf})
        csrf = login(username).csrf
        assert client.get("/admin/outbox-import").status_code == 403
        assert post_file(client, csrf, data, confirm=checksum(data)).status_code == 403
    assert counts() == (0, 0)
