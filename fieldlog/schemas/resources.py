"""Schemas of resources the API returns: households, photos, device tokens."""
from marshmallow import Schema, ValidationError, fields, pre_load, validate

from fieldlog.schemas.fields import Text, UtcDateTime


class HouseholdOutSchema(Schema):
    """A household as the phone caches it; no phone number, ever."""

    id = fields.String()
    village_id = fields.Integer()
    head_name = fields.String()
    house_label = fields.String()
    member_count = fields.Integer()
    tags = fields.List(fields.String())
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)


PHOTO_RECORD_TYPES = ("visit", "meeting", "action", "goal", "ledger_item")
# "before"/"after": a practical deed's evidence; "sign_in": a meeting's sign-in sheet.
PHOTO_SLOTS = ("before", "after", "sign_in")


class PhotoFormSchema(Schema):
    """Form fields that travel with a photo upload (EXIF read on the phone before downscaling)."""

    record_type = fields.String(load_default="visit", validate=validate.OneOf(PHOTO_RECORD_TYPES))
    record_id = fields.UUID(required=True)
    slot = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(PHOTO_SLOTS))
    taken_at = fields.NaiveDateTime(load_default=None, allow_none=True)
    lat = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-90, 90))
    lon = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-180, 180))

    @pre_load
    def _named_parts_only(self, data, **_kwargs):
        """Refuse a multipart part without a name: Werkzeug files it under the key None, which
        would otherwise reach the error answer as a key JSON cannot sort (a 500)."""
        if any(not isinstance(key, str) for key in data):
            raise ValidationError("Every part of the form needs a name.", "_schema")
        return data


class PhotoOutSchema(Schema):
    id = fields.String()
    record_type = fields.String()
    record_id = fields.String()
    slot = fields.String(allow_none=True)
    received_at = UtcDateTime()
    width = fields.Integer()
    height = fields.Integer()
    byte_size = fields.Integer()
    sha256 = fields.String()
    taken_at = fields.NaiveDateTime(allow_none=True)  # camera clock, no zone
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    facts_source = fields.String(allow_none=True)
    # "processing" until the photo job made its served sizes, then "ready" (or "failed", with
    # `failure` the reason's code: corrupt_image …). The phone needs neither: 201 means kept.
    state = fields.String()
    failure = fields.String(allow_none=True)


class FailedPhotoOutSchema(Schema):
    """A photo of the caller that could not be processed after it was acknowledged."""

    id = fields.String()
    record_type = fields.String()
    record_id = fields.String()
    slot = fields.String(allow_none=True)
    failure = fields.String(metadata={"description": "The reason's code: corrupt_image …"})
    reason = fields.String(metadata={"description": "The reason in the caller's language"})
    received_at = UtcDateTime()
    title = fields.String(allow_none=True, metadata={"description": "A visit's household"})
    edit_url = fields.String(metadata={"description": "The phone page that edits the record"})


class FailedPhotosOutSchema(Schema):
    failed = fields.List(fields.Nested(FailedPhotoOutSchema), required=True)
    processing = fields.Integer(required=True, metadata={
        "description": "The caller's photos still being processed: ask again in a moment"})


class PhotoIdsInSchema(Schema):
    """Failed photos the phone has shown to its user (acknowledged)."""

    ids = fields.List(fields.UUID(), required=True, validate=validate.Length(max=200))


class DeviceTokenOutSchema(Schema):
    device_id = fields.String()
    token = fields.String()


class LoginInSchema(Schema):
    username = Text(required=True, validate=validate.Length(min=1, max=64))
    password = Text(required=True, validate=validate.Length(min=1, max=256))
    label = Text(load_default="", validate=validate.Length(max=200))
    # A token this phone was given before (even one revoked at sign-out): it proves a known
    # device, which a lockout of the address does not keep out.
    device_token = Text(load_default="", validate=validate.Length(max=200))


class DeviceInSchema(Schema):
    """What a signed-in browser may say when it asks for a device token."""

    label = Text(load_default="", validate=validate.Length(max=200))
