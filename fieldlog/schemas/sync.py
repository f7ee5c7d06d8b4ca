"""Schemas of the sync API: batches of records in, per-record answers out."""
from datetime import UTC, datetime

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from fieldlog.schemas.fields import Text, UtcDateTime

MAX_TEXT = 4000
MAX_PHOTOS_PER_RECORD = 12
# What a phone's clock can say at all: a dead clock starts in 1970. Times inside these bounds
# are taken even when they cannot be true (days ahead, before 2015): sync reads them through the
# phone's clock offset (services/records/device_clock.py) instead of stranding the record.
DEVICE_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
DEVICE_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
# Every type the sync endpoint takes; schemas of the types other than visits live in
# fieldlog.schemas.records.
RECORD_TYPES = ("visit", "meeting", "action", "goal", "ledger_item", "ledger_update",
                "day_mark", "leave")


def _not_absurd(value: datetime) -> None:
    """Refuse a device time no phone clock can show (the bounds also keep it convertible)."""
    if not DEVICE_EARLIEST <= value < DEVICE_LATEST:
        raise ValidationError("Time is out of range; check the phone's clock.")


class LocationSchema(Schema):
    """A GPS fix as the browser gives it (WGS-84)."""

    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))
    accuracy_m = fields.Float(load_default=None, allow_none=True,
                              validate=validate.Range(0, 100_000))
    # Bounded like the record's times: year 1 or 9999 with an offset cannot even become UTC.
    located_at = fields.AwareDateTime(load_default=None, allow_none=True, validate=_not_absurd)


class RecordInSchema(Schema):
    """What every record carries. `base_version`, present only on an edit, is the version the
    author changed; it is not part of the content (a replayed edit is the same content)."""

    id = fields.UUID(required=True)
    occurred_at = fields.AwareDateTime(required=True, validate=_not_absurd)
    device_created_at = fields.AwareDateTime(required=True, validate=_not_absurd)
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True)
    photo_ids = fields.List(fields.UUID(), load_default=list,
                            validate=validate.Length(max=MAX_PHOTOS_PER_RECORD))
    base_version = fields.Integer(validate=validate.Range(1, 100_000))

    @validates_schema
    def _distinct_photos(self, data, **_kwargs):
        if len(set(data.get("photo_ids", []))) != len(data.get("photo_ids", [])):
            raise ValidationError("A photo is listed twice.", "photo_ids")


class VisitInSchema(RecordInSchema):
    """A household visit as the phone sends it."""

    type = fields.String(required=True, validate=validate.Equal("visit"))
    household_id = fields.UUID(required=True)
    heard = Text(load_default="", validate=validate.Length(max=MAX_TEXT))
    requests = Text(load_default="", validate=validate.Length(max=MAX_TEXT))
    follow_up = fields.Boolean(load_default=False)


class BatchInSchema(Schema):
    """A batch of records; each one is validated on its own so one bad record cannot sink others."""

    # Raw, not Dict: a record that is not even an object is answered "invalid" in its place.
    records = fields.List(fields.Raw(allow_none=True), required=True,
                          validate=validate.Length(min=1, max=500))
    # The phone's clock as it sends the batch: the server corrects the records' device times
    # by the difference to its own. Older clients leave it out.
    device_now = fields.AwareDateTime(load_default=None, allow_none=True, validate=_not_absurd,
                                      metadata={"description": "The phone's clock when sending."})


class RecordResultSchema(Schema):
    """The answer for one record of a batch."""

    id = fields.String(required=True)
    status = fields.String(required=True, metadata={
        "enum": ["stored", "conflict", "invalid", "forbidden"],
        "description": "stored: applied now or before (a replay is answered the same); "
                       "conflict: the UUID exists with other content and the record is not an "
                       "edit the server can take (error: conflict, stale or locked), nothing "
                       "was overwritten; "
                       "invalid / forbidden: nothing was stored, see message and fields.",
    })
    type = fields.String()
    version = fields.Integer()
    review_status = fields.String()
    received_at = UtcDateTime()
    error = fields.String()
    message = fields.String()
    fields_ = fields.Dict(data_key="fields", attribute="fields")


class BatchOutSchema(Schema):
    results = fields.List(fields.Nested(RecordResultSchema), required=True)


class ErrorSchema(Schema):
    """The one error shape of the API."""

    error = fields.String(required=True)
    message = fields.String(required=True)
    fields_ = fields.Dict(data_key="fields", attribute="fields")
