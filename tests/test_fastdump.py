"""The fast dumper gives exactly what marshmallow's dump gives."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldlog.schemas.fastdump import FastDumper
from fieldlog.schemas.sync import BatchOutSchema
from tests.test_schema_properties import FAST, json_values
from tests.test_sync_api import sync, visit_payload

SCHEMA = BatchOutSchema()
DUMPER = FastDumper(SCHEMA)
KEYS = ["id", "status", "type", "version", "review_status", "received_at", "error", "message",
        "fields", "extra"]


def test_the_answer_schema_has_a_fast_path():
    assert DUMPER._steps is not None


def test_real_answers_of_every_status_dump_the_same(world, device):
    phone = device(world.sec1)
    stored = visit_payload(world.h1[0])
    sync(phone, stored)
    answers = sync(phone, stored, {**stored, "heard": "别的内容"},
                   visit_payload(world.h3[0]), {"type": "visit", "id": "x"}, 7,
                   {"type": "nothing"})
    assert {a["status"] for a in answers} == {"stored", "conflict", "forbidden", "invalid"}
    body = {"results": answers}
    assert DUMPER.dump(body) == SCHEMA.dump(body)


@pytest.mark.parametrize("value", [True, 2.0, "7", None, [], {}, {"a": [1]}, b"x"])
@pytest.mark.parametrize("key", KEYS)
def test_each_field_with_an_odd_value_dumps_the_same(key, value):
    body = {"results": [{"id": "a", "status": "stored", "version": 1, key: value}]}
    try:
        expected = SCHEMA.dump(body)
    except (TypeError, ValueError, AttributeError) as refused:
        with pytest.raises(type(refused)):
            DUMPER.dump(body)
        return
    assert DUMPER.dump(body) == expected


@FAST
@given(st.lists(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6), max_size=4))
def test_any_answers_dump_the_same(results):
    body = {"results": results}
    try:
        expected = SCHEMA.dump(body)
    except (TypeError, ValueError, AttributeError) as refused:
        with pytest.raises(type(refused)):
            DUMPER.dump(body)
        return
    assert DUMPER.dump(body) == expected
