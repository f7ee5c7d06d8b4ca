"""Schemas of the records other than visits, as the phone sends them to /api/v1/sync."""
from datetime import date, timedelta

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from fieldlog import clock
from fieldlog.models.attendance import DAY_KINDS, LEAVE_TYPES, OFFICIAL_REASONS
from fieldlog.models.ledger import LEDGER_CATEGORIES, LEDGER_HANDLERS, LEDGER_STATES
from fieldlog.models.records import ACTION_STATES, ACTION_TYPES, GOAL_TYPES, MEETING_TYPES
from fieldlog.schemas.fields import Text
from fieldlog.schemas.sync import MAX_TEXT, RecordInSchema, _not_absurd

MAX_LEAVE_DAYS = 60
_title = validate.Length(max=200)
_long = validate.Length(max=MAX_TEXT)
_count = validate.Range(0, 100_000)


def _type(name: str):
    return fields.String(required=True, validate=validate.Equal(name))


def _reasonable_day(value: date) -> None:
    if not date(2015, 1, 1) <= value <= clock.now().date() + timedelta(days=400):
        raise ValidationError("The date is out of range; check the phone's clock.")


class _Goals(Schema):
    goal_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=5))


class MeetingInSchema(RecordInSchema, _Goals):
    """Minutes of a meeting."""

    type = _type("meeting")
    meeting_type = fields.String(required=True, validate=validate.OneOf(MEETING_TYPES))
    title = Text(load_default="", validate=_title)
    place = Text(load_default="", validate=validate.Length(max=120))
    host = Text(load_default="", validate=validate.Length(max=64))
    expected_count = fields.Integer(load_default=None, allow_none=True, validate=_count)
    attended_count = fields.Integer(load_default=None, allow_none=True, validate=_count)
    attendees = Text(load_default="", validate=_long)
    topics = Text(load_default="", validate=_long)
    decisions = Text(load_default="", validate=_long)

    @validates_schema
    def _needs_substance(self, data, **_kwargs):
        if not (data["topics"].strip() or data["decisions"].strip() or data["title"].strip()):
            raise ValidationError("Write the topics or the decisions of the meeting.", "topics")
        if data["meeting_type"] == "other" and not data["title"].strip():
            raise ValidationError("Name a meeting of type 'other'.", "title")


class ActionInSchema(RecordInSchema, _Goals):
    """A six-one action."""

    type = _type("action")
    action_type = fields.String(required=True, validate=validate.OneOf(ACTION_TYPES))
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    description = Text(load_default="", validate=_long)
    state = fields.String(load_default="planned", validate=validate.OneOf(ACTION_STATES))
    due_date = fields.Date(load_default=None, allow_none=True, validate=_reasonable_day)
    done_on = fields.Date(load_default=None, allow_none=True, validate=_reasonable_day)
    evidence = Text(load_default="", validate=_long)

    @validates_schema
    def _title_not_blank(self, data, **_kwargs):
        if not data["title"].strip():
            raise ValidationError("Give the action a title.", "title")


class GoalInSchema(RecordInSchema):
    """A five-one goal of the term."""

    type = _type("goal")
    goal_type = fields.String(required=True, validate=validate.OneOf(GOAL_TYPES))
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    target = Text(load_default="", validate=_long)
    progress = Text(load_default="", validate=_long)
    state = fields.String(load_default="under_way", validate=validate.OneOf(ACTION_STATES))


class SourceSchema(Schema):
    """The record in which a ledger item was raised."""

    type = fields.String(required=True, validate=validate.OneOf(("visit", "meeting")))
    id = fields.UUID(required=True)


class LedgerItemInSchema(RecordInSchema):
    """A villager's request entered into the ledger (from a visit, a meeting, or directly)."""

    type = _type("ledger_item")
    household_id = fields.UUID(load_default=None, allow_none=True)
    raiser_name = Text(load_default="", validate=validate.Length(max=64))
    category = fields.String(load_default="other", validate=validate.OneOf(LEDGER_CATEGORIES))
    content = Text(required=True, validate=validate.Length(min=1, max=MAX_TEXT))
    handler = fields.String(load_default="village_committee",
                            validate=validate.OneOf(LEDGER_HANDLERS))
    handler_note = Text(load_default="", validate=validate.Length(max=200))
    due_date = fields.Date(load_default=None, allow_none=True, validate=_reasonable_day)
    source = fields.Nested(SourceSchema, load_default=None, allow_none=True)

    @validates_schema
    def _content_not_blank(self, data, **_kwargs):
        if not data["content"].strip():
            raise ValidationError("Write what was asked for.", "content")


class LinkSchema(SourceSchema):
    """Another record in which the same request was raised again."""


class LedgerUpdateInSchema(Schema):
    """A change to a ledger item: its state, handler or due date, a note, or one more source."""

    type = _type("ledger_update")
    id = fields.UUID(required=True)
    item_id = fields.UUID(required=True)
    occurred_at = fields.AwareDateTime(required=True, validate=_not_absurd)
    device_created_at = fields.AwareDateTime(required=True, validate=_not_absurd)
    to_state = fields.String(load_default=None, allow_none=True,
                             validate=validate.OneOf(LEDGER_STATES))
    handler = fields.String(load_default=None, allow_none=True,
                            validate=validate.OneOf(LEDGER_HANDLERS))
    handler_note = Text(load_default=None, allow_none=True, validate=validate.Length(max=200))
    due_date = fields.Date(load_default=None, allow_none=True, validate=_reasonable_day)
    note = Text(load_default="", validate=_long)
    link = fields.Nested(LinkSchema, load_default=None, allow_none=True)

    @validates_schema
    def _changes_something(self, data, **_kwargs):
        if not any((data["to_state"], data["handler"], data["handler_note"] is not None,
                    data["due_date"], data["note"].strip(), data["link"])):
            raise ValidationError("The update changes nothing.", "note")


class DayMarkInSchema(RecordInSchema):
    """A day marked as present in the village or away on official business (报备)."""

    type = _type("day_mark")
    day = fields.Date(required=True, validate=_reasonable_day)
    kind = fields.String(required=True, validate=validate.OneOf(DAY_KINDS))
    reason = fields.String(load_default="other", validate=validate.OneOf(OFFICIAL_REASONS))
    note = Text(load_default="", validate=validate.Length(max=MAX_TEXT))

    @validates_schema
    def _reason_given(self, data, **_kwargs):
        if not data["note"].strip():
            raise ValidationError("Say why (where you were, what you did).", "note")


class LeaveInSchema(RecordInSchema):
    """A leave request; `cancel` on an edit withdraws it while nobody has decided yet."""

    type = _type("leave")
    leave_type = fields.String(required=True, validate=validate.OneOf(LEAVE_TYPES))
    start_date = fields.Date(required=True, validate=_reasonable_day)
    end_date = fields.Date(required=True, validate=_reasonable_day)
    reason = Text(load_default="", validate=_long)
    cancel = fields.Boolean(load_default=False)

    @validates_schema
    def _dates_in_order(self, data, **_kwargs):
        if data["end_date"] < data["start_date"]:
            raise ValidationError("The leave ends before it starts.", "end_date")
        if (data["end_date"] - data["start_date"]).days + 1 > MAX_LEAVE_DAYS:
            raise ValidationError(f"A request can cover at most {MAX_LEAVE_DAYS} days.",
                                  "end_date")
