"""Load the common, well-formed record faster than marshmallow, with marshmallow's result.

A sync batch validates up to 500 records, and marshmallow's machinery per field (a closure, an
error store, an `And` of the validators) costs more than the checks themselves. `FastLoader`
compiles a schema's fields once into plain steps that take only the exact JSON types a phone
sends (a string for a UUID, a time or a date; a number for a float; true or false for a
boolean) and run the field's own validators and the schema's `validates_schema` hooks. A record
that does not fit — a wrong type, a value a validator refuses, an unknown or missing field — is
loaded by the schema itself, so every error message and every lenient coercion (a number sent
as a string) stays marshmallow's. `load` returns what `schema.load` returns for the same input
(tests/test_fastload.py compares the two on valid, odd and broken records).

A schema using something the compiler does not know (another field class, a pre/post-load hook,
a field-level `validates`) gets no fast path: `load` is then `schema.load`.
"""
import math
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, missing
from marshmallow.validate import Validator

from fieldlog.schemas.fields import Text

_MISSING = missing
_ISO = (None, "iso", "iso8601")


class _Slow(Exception):
    """The record needs marshmallow: its error message or a coercion the fast path skips."""


def _uuid(value: Any) -> uuid.UUID:
    if type(value) is not str:
        raise _Slow
    return uuid.UUID(value)


def _aware(value: Any) -> datetime:
    if type(value) is not str:
        raise _Slow
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None or parsed.tzinfo.utcoffset(parsed) is None:
        raise _Slow  # naive: marshmallow's "Not a valid aware datetime."
    return parsed


def _date(value: Any) -> date:
    if type(value) is not str:
        raise _Slow
    return date.fromisoformat(value)


def _float(value: Any) -> float:
    if type(value) is not float and type(value) is not int:
        raise _Slow  # a bool, a string, anything else
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        raise _Slow
    return number


def _int(value: Any) -> int:
    if type(value) is not int:
        raise _Slow
    return value


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise _Slow
    return value


def _str(value: Any) -> str:
    if type(value) is not str:
        raise _Slow
    return value


def _text(field: Text) -> Callable[[Any], str]:
    check = field._deserialize  # the storability check (NUL, lone surrogates)

    def convert(value: Any) -> str:
        if type(value) is not str:
            raise _Slow
        return check(value, None, None)

    return convert


def _validated(convert: Callable[[Any], Any], validators: list) -> Callable[[Any], Any]:
    """Wrap a converter with a field's validators, as marshmallow's `And` runs them."""
    if not validators:
        return convert
    plain = [(v, not isinstance(v, Validator)) for v in validators]

    def run(value: Any) -> Any:
        out = convert(value)
        for validator, is_function in plain:
            if validator(out) is False and is_function:
                raise _Slow  # a plain function refusing by returning False
        return out

    return run


def _list(field: fields.List) -> Callable[[Any], list] | None:
    inner = field.inner
    if inner.allow_none or inner.pre_load or inner.post_load:
        return None
    item = _converter(inner)
    if item is None:
        return None

    def convert(value: Any) -> list:
        if type(value) is not list:
            raise _Slow
        return [item(each) for each in value]  # a None item: its converter raises _Slow

    return convert


def _nested(field: fields.Nested) -> Callable[[Any], dict] | None:
    if field.many or field.only is not None or field.exclude or field.unknown is not None \
            or field.schema.many:
        return None
    loader = FastLoader(field.schema)
    if loader._steps is None:
        return None

    def convert(value: Any) -> dict:
        if type(value) is not dict:
            raise _Slow
        return loader._fast(value)

    return convert


def _converter(field: fields.Field) -> Callable[[Any], Any] | None:
    """Return a field's fast converter (validators included), or None if it has none."""
    cls = type(field)
    if field.pre_load or field.post_load:
        return None
    if cls is fields.UUID:
        convert = _uuid
    elif cls is fields.AwareDateTime and field.format in _ISO \
            and field.default_timezone is None:
        convert = _aware
    elif cls is fields.Date and field.format in _ISO:
        convert = _date
    elif cls is fields.Float and not field.allow_nan and not field.as_string:
        convert = _float
    elif cls is fields.Integer and not field.as_string:
        convert = _int
    elif cls is fields.Boolean and True in field.truthy and False in field.falsy:
        convert = _bool
    elif cls is fields.String:
        convert = _str
    elif cls is Text:
        convert = _text(field)
    elif cls is fields.List:
        convert = _list(field)
    elif cls is fields.Nested:
        convert = _nested(field)
    else:
        return None
    return None if convert is None else _validated(convert, field.validators)


class FastLoader:
    """`schema.load` for one record, with a fast path for the common well-formed one."""

    def __init__(self, schema: Schema):
        self.schema = schema
        self._steps = self._compile(schema)
        self._keys = frozenset(key for key, *_ in self._steps or ())

    @staticmethod
    def _compile(schema: Schema) -> list[tuple] | None:
        hooks = schema._hooks
        if schema.many or schema.partial or schema.unknown != RAISE \
                or hooks["pre_load"] or hooks["post_load"] or hooks["validates"] \
                or any(many or options.get("pass_original")
                       for _name, many, options in hooks["validates_schema"]):
            return None
        steps = []
        for name, field in schema.load_fields.items():
            convert = _converter(field)
            attribute = field.attribute or name
            if convert is None or "." in attribute:
                return None
            key = field.data_key if field.data_key is not None else name
            steps.append((key, attribute, convert, field.required, field.load_default,
                          field.allow_none))
        return steps

    def load(self, raw: Any) -> dict:
        """Return `self.schema.load(raw)`; raise its ValidationError for an invalid record."""
        if self._steps is not None and type(raw) is dict:
            try:
                return self._fast(raw)
            except (_Slow, ValidationError, ValueError, TypeError, OverflowError):
                pass  # marshmallow decides, and words the error
        return self.schema.load(raw)

    def _fast(self, raw: dict) -> dict:
        if not self._keys.issuperset(raw):
            raise _Slow  # an unknown field
        out = {}
        for key, attribute, convert, required, default, allow_none in self._steps:
            value = raw.get(key, _MISSING)
            if value is _MISSING:
                if required:
                    raise _Slow
                if default is _MISSING:
                    continue
                out[attribute] = default() if callable(default) else default
            elif value is None:
                if not allow_none:
                    raise _Slow
                out[attribute] = None
            else:
                out[attribute] = convert(value)
        schema = self.schema
        for attr_name, _many, _options in schema._hooks["validates_schema"]:
            getattr(schema, attr_name)(out, partial=schema.partial, many=False,
                                       unknown=schema.unknown)
        return out
