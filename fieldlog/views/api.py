"""The sync API: JSON over HTTP, a device bearer token or a session with a CSRF header."""
from functools import wraps

from flask import Blueprint, g, jsonify, request
from flask_login import current_user
from marshmallow import ValidationError

from fieldlog.domain import photo_failure_label
from fieldlog.errors import Invalid, error_response
from fieldlog.extensions import csrf
from fieldlog.ratelimit import client_ip, limit_sign_in
from fieldlog.schemas.fastdump import FastDumper
from fieldlog.schemas.resources import (
    DeviceInSchema,
    DeviceTokenOutSchema,
    FailedPhotosOutSchema,
    HouseholdOutSchema,
    LoginInSchema,
    PhotoFormSchema,
    PhotoIdsInSchema,
    PhotoOutSchema,
)
from fieldlog.schemas.sync import BatchInSchema, BatchOutSchema
from fieldlog.services.people.auth import (
    SignInRefused,
    issue_device_token,
    sign_in,
    user_for_device_token,
)
from fieldlog.services.people.terms import village_on_the_day
from fieldlog.services.records import photo_problems
from fieldlog.services.records.home import household_dicts
from fieldlog.services.records.sync import apply_batch
from fieldlog.services.records.uploads import receive_photo
from fieldlog.services.review.decisions import edit_path

bp = Blueprint("api", __name__, url_prefix="/api/v1")
_batch_out = FastDumper(BatchOutSchema())  # up to 500 answers: skip marshmallow's machinery
csrf.exempt(bp)  # cookie-authenticated calls are checked in api_auth; bearer calls need none


def api_auth(view):
    """Authenticate by `Authorization: Bearer <device token>`, else by session plus CSRF header."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            found = user_for_device_token(header[7:].strip())
            if found is None:
                return error_response("unauthorized", "This device is signed out; sign in again. "
                                      "Unsent records stay on the phone.", 401)
            g.api_user, g.device_id = found[0], found[1].id
            village_on_the_day(g.api_user)  # see terms.village_on_the_day
        elif current_user.is_authenticated:
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                csrf.protect()
            if current_user.must_change_password:
                # A temporary password (known to an admin) gets nothing but the change page;
                # the phone's records wait and go once the user has chosen a password.
                return error_response("password_change_required",
                                      "Change the temporary password first.", 403)
            g.api_user, g.device_id = current_user._get_current_object(), None
        else:
            return error_response("unauthorized", "Sign in first.", 401)
        return view(*args, **kwargs)

    return wrapped


def _json_body(schema):
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("The request body must be a JSON object.", code="bad_json")
    try:
        return schema.load(body)
    except ValidationError as exc:
        raise Invalid("The request has errors.", fields=exc.messages_dict) from exc


@bp.post("/auth/login")
@limit_sign_in
def login_device():
    """Exchange a username and password for a device token (for non-browser clients)."""
    data = _json_body(LoginInSchema())
    try:
        user = sign_in(data["username"], data["password"], channel="api", address=client_ip(),
                       device_token=data["device_token"], allow_pending_change=False)
    except SignInRefused as refused:
        status = 403 if refused.code == "password_change_required" else 401
        return error_response(refused.code, refused.message, status)
    token, raw = issue_device_token(user, data["label"], via="password")
    return DeviceTokenOutSchema().dump({"device_id": token.id, "token": raw}), 201


@bp.post("/devices")
@api_auth
def register_device():
    """Give the signed-in browser a device token for offline replay."""
    # An empty body is fine (no label); a body that is not valid JSON is not.
    label = _json_body(DeviceInSchema())["label"] if request.get_data() else ""
    token, raw = issue_device_token(g.api_user, label)
    return DeviceTokenOutSchema().dump({"device_id": token.id, "token": raw}), 201


@bp.get("/me")
@api_auth
def me():
    user = g.api_user
    return jsonify({
        "user": {"id": user.id, "username": user.username, "display_name": user.display_name,
                 "role": user.role, "scope_unit_id": user.scope_unit_id},
        "device_id": g.device_id,
    })


@bp.post("/sync")
@api_auth
def sync():
    """Apply a batch of records; answer each one in order."""
    data = _json_body(BatchInSchema())
    results = apply_batch(g.api_user, g.device_id, data["records"], data["device_now"])
    return _batch_out.dump({"results": results})


@bp.put("/photos/<uuid:photo_id>")
@api_auth
def upload_photo(photo_id):
    """Upload one photo of a record; idempotent by photo UUID."""
    upload = request.files.get("file")
    if upload is None:
        raise Invalid("Attach the photo as the multipart field 'file'.",
                      fields={"file": ["Missing."]})
    try:
        form = PhotoFormSchema().load({k: v for k, v in request.form.items() if v != ""})
    except ValidationError as exc:
        raise Invalid("The photo's fields have errors.", fields=exc.messages_dict) from exc
    photo, created = receive_photo(g.api_user, str(photo_id), form, upload.read())
    return PhotoOutSchema().dump(photo), 201 if created else 200


@bp.get("/photos/failed")
@api_auth
def failed_photos():
    """List the caller's photos that failed processing and were not acknowledged yet."""
    failed, processing = photo_problems.problems(g.api_user)
    return FailedPhotosOutSchema().dump({"processing": processing, "failed": [
        {**vars(p), "reason": photo_failure_label(p.failure),
         "edit_url": edit_path(p.record_type, p.record_id)} for p in failed]})


@bp.post("/photos/failed/seen")
@api_auth
def failed_photos_seen():
    """Acknowledge failed photos the phone has shown: they are not listed again."""
    ids = [str(i) for i in _json_body(PhotoIdsInSchema())["ids"]]
    return jsonify({"acknowledged": photo_problems.acknowledge(g.api_user, ids)})


@bp.get("/households")
@api_auth
def households():
    """List the households of the secretary's village (never with phone numbers)."""
    user = g.api_user
    if user.role != "secretary":
        return jsonify({"households": []})
    return jsonify({"households": HouseholdOutSchema(many=True).dump(
        household_dicts(user.scope_unit_id))})


@bp.get("/openapi.json")
def openapi():
    from fieldlog.views.openapi import build_spec

    return jsonify(build_spec())
