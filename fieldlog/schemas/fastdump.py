"""Dump plain answers faster than marshmallow, with marshmallow's result.

The answer to a sync batch is up to 500 small dicts the service already built with JSON types;
marshmallow spends more on its per-field machinery than on the values. `FastDumper` compiles a
schema's dump fields once and copies values whose type is exactly what the field would give
back unchanged (a str for a string or a formatted time, an int for an integer, a plain dict,
lists and nested schemas of those); anything else goes to `schema.dump`, so the output is always
marshmallow's (tests/test_fastdump.py compares them).
"""
from collections.abc import Callable
from typing import Any

from marshmallow import Schema, fields, missing

from fieldlog.schemas.fields import UtcDateTime


class _Slow(Exception):
    """The object needs marshmallow's formatting."""


def _same(kind: type) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if value is None or type(value) is kind:
            return value
        raise _Slow

    return convert


def _mapping(value: Any) -> dict | None:
    if value is None:
        return None
    if type(value) is not dict:
        raise _Slow
    return dict(value)


def _converter(field: fields.Field) -> Callable[[Any], Any] | None:
    cls = type(field)
    if field.dump_default is not missing:
        return None
    if cls is fields.String or cls is UtcDateTime:
        return _same(str)  # a formatted time is passed through as it is
    if cls is fields.Integer and not field.as_string:
        return _same(int)
    if cls is fields.Dict and field.key_field is None and field.value_field is None:
        return _mapping
    if cls is fields.List:
        inner = _converter(field.inner)
        if inner is None:
            return None
        return lambda value: None if value is None else [inner(v) for v in _list(value)]
    if cls is fields.Nested and not field.many and not field.only and not field.exclude \
            and not field.schema.many:
        nested = FastDumper(field.schema)
        if nested._steps is None:
            return None
        return lambda value: None if value is None else nested._fast(value)
    return None


def _list(value: Any) -> list:
    if type(value) is not list:
        raise _Slow
    return value


class FastDumper:
    """`schema.dump` for plain dicts, with a fast path for values already in JSON types."""

    def __init__(self, schema: Schema):
        self.schema = schema
        self._steps = self._compile(schema)

    @staticmethod
    def _compile(schema: Schema) -> list[tuple] | None:
        if schema.many or schema._hooks["pre_dump"] or schema._hooks["post_dump"]:
            return None
        steps = []
        for name, field in schema.dump_fields.items():
            attribute = field.attribute or name
            convert = _converter(field)
            if convert is None or "." in attribute:
                return None
            steps.append((attribute, field.data_key if field.data_key is not None else name,
                          convert))
        return steps

    def dump(self, obj: Any) -> dict:
        """Return `self.schema.dump(obj)`."""
        if self._steps is not None:
            try:
                return self._fast(obj)
            except _Slow:
                pass
        return self.schema.dump(obj)

    def _fast(self, obj: Any) -> dict:
        if type(obj) is not dict:
            raise _Slow
        out = {}
        for attribute, key, convert in self._steps:
            value = obj.get(attribute, missing)
            if value is not missing:
                out[key] = convert(value)
        return out
