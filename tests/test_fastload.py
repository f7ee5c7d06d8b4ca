"""The fast record loader returns exactly what marshmallow returns, and refuses the same way.

Compared on generated input (hypothesis): well-formed records of every type, records with one
or two fields given an edge value (a number as a string, a bool for a number, a naive time, an
unknown field, NUL in a text, null where none is allowed …), and any JSON at all.
"""
import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields, pre_load

from fieldlog.schemas.fastload import FastLoader
from fieldlog.services.records.content import LOADERS
from tests.sync_samples import RECORDS
from tests.test_schema_properties import FAST, json_values, mangled_visits, visits

EDGES = [
    None, True, False, 0, 1, -1, 2.5, 10 ** 400, float("nan"), "", " ", "12.5", "true", "no",
    "\x00", "走访\ud800", "x" * 4001, "2026-01-01T00:00:00", "2026-01-01", "2026-02-30",
    "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2026-03-02T09:15:30+08:00",
    "6F1C3A52-5C0E-4D6B-9A53-0D2F8E1B7C11", "not-a-uuid", [], {}, ["x"], {"type": "visit"},
    {"lat": 1, "lon": 2}, {"type": "meeting", "id": "6f1c3a52-5c0e-4d6b-9a53-0d2f8e1b7c11"},
]
_EDGE_VALUES = st.sampled_from(EDGES) | json_values


def _outcome(load, raw):
    """Return ("ok", data) or ("refused", messages)."""
    try:
        return "ok", load(copy.deepcopy(raw))
    except ValidationError as exc:
        return "refused", exc.messages


def _same_as_marshmallow(raw) -> None:
    """Every type's loader, fast or not, agrees with its schema on `raw`."""
    for name, loader in LOADERS.items():
        assert _outcome(loader.load, raw) == _outcome(loader.schema.load, raw), name


@st.composite
def mangled_records(draw) -> dict:
    """A valid record of any type with one to three fields dropped, added or given an edge value."""
    record = copy.deepcopy(draw(st.sampled_from(RECORDS)))
    keys = sorted(record) + ["extra", "location", "photo_ids", "goal_ids", "base_version"]
    for key in draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True)):
        if draw(st.integers(0, 5)) == 0:
            record.pop(key, None)
        else:
            record[key] = draw(_EDGE_VALUES)
    nested = record.get("location") or record.get("source") or record.get("link")
    if isinstance(nested, dict) and draw(st.booleans()):
        nested[draw(st.sampled_from(["lat", "lon", "accuracy_m", "located_at", "id", "type",
                                     "x"]))] = draw(_EDGE_VALUES)
    return record


def _every_edge(record: dict):
    """Yield the record with each field (nested ones too) dropped or given each edge value."""
    nested = [key for key, value in record.items() if isinstance(value, dict)]
    for key in [*record, "extra", "base_version", "photo_ids", "goal_ids", "location"]:
        for value in EDGES:
            yield {**record, key: value}
        yield {k: v for k, v in record.items() if k != key}
    for key in nested:
        for inner in [*record[key], "x"]:
            for value in EDGES:
                yield {**record, key: {**record[key], inner: value}}
            yield {**record, key: {k: v for k, v in record[key].items() if k != inner}}


@pytest.mark.parametrize("record", RECORDS, ids=[r["type"] for r in RECORDS])
def test_each_field_given_each_edge_value_loads_or_is_refused_the_same(record):
    loader = LOADERS[record["type"]]
    for raw in _every_edge(record):
        assert _outcome(loader.load, raw) == _outcome(loader.schema.load, raw), raw


def test_every_record_type_has_a_fast_path():
    assert all(loader._steps is not None for loader in LOADERS.values())


@pytest.mark.parametrize("raw", RECORDS, ids=[r["type"] for r in RECORDS])
def test_well_formed_records_never_reach_marshmallow(raw, monkeypatch):
    loader = LOADERS[raw["type"]]
    expected = loader.schema.load(copy.deepcopy(raw))

    def refuse(*_args, **_kwargs):
        raise AssertionError("the fast path fell back to marshmallow")

    monkeypatch.setattr(loader.schema, "load", refuse)
    assert loader.load(copy.deepcopy(raw)) == expected


@FAST
@given(visits())
def test_generated_visits_load_the_same(raw):
    _same_as_marshmallow(raw)


@FAST
@given(st.one_of(mangled_visits(), mangled_records()))
def test_mangled_records_load_or_are_refused_the_same(raw):
    _same_as_marshmallow(raw)


@FAST
@given(json_values)
def test_any_json_is_loaded_or_refused_the_same(raw):
    _same_as_marshmallow(raw)


def test_a_schema_the_compiler_does_not_know_is_loaded_by_marshmallow():
    class Odd(Schema):
        when = fields.TimeDelta()
        name = fields.String()

        @pre_load
        def _trim(self, data, **_kwargs):
            return {**data, "name": str(data.get("name", "")).strip()}

    loader = FastLoader(Odd())
    assert loader._steps is None
    assert loader.load({"name": " a ", "when": 5})["name"] == "a"
    with pytest.raises(ValidationError) as refused:
        loader.load({"name": "a", "when": "soon"})
    assert list(refused.value.messages) == ["when"]
