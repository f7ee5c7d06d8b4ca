"""Custom marshmallow fields."""
from datetime import datetime

from marshmallow import fields

from fieldlog.timefmt import iso_utc


class UtcDateTime(fields.DateTime):
    """Dump a stored naive-UTC datetime (or an already formatted string) as ISO 8601 with a Z."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, datetime):
            return iso_utc(value)
        return value


class Text(fields.String):
    """A string every database can store: no NUL character and no lone UTF-16 surrogate.

    JSON may carry both ("\\u0000", "\\ud800"); PostgreSQL refuses NUL in text and no
    database driver can encode a lone surrogate, so without this they end as a 500.
    """

    default_error_messages = {
        "unstorable": "The text holds a character that cannot be stored (NUL or a broken one).",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise self.make_error("unstorable")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise self.make_error("unstorable") from exc
        return text
