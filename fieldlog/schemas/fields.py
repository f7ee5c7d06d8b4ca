"""Custom marshmallow fields."""
from datetime import datetime

from marshmallow import fields

from fieldlog.services.timefmt import iso_utc


class UtcDateTime(fields.DateTime):
    """Dump a stored naive-UTC datetime (or an already formatted string) as ISO 8601 with a Z."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, datetime):
            return iso_utc(value)
        return value
