"""Properties of the visit schema and the sync service, checked on generated input (hypothesis).

- Any JSON-like input only ever makes `VisitInSchema().load` raise ValidationError, and
  whatever it accepts can be hashed and stored.
- The content hash sees the instant, not how it was written, and sees every content field.
- Text over the limit and GPS out of range are refused.
- The sync endpoint answers any batch (valid and invalid records mixed) with one result per
  record, in order, and never with a 5xx.
"""
import json
import string
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from fieldlog.schemas.sync import MAX_PHOTOS_PER_RECORD, MAX_TEXT, VisitInSchema
from fieldlog.services.records.content import content_hash
from fieldlog.timefmt import to_utc_naive

SCHEMA = VisitInSchema()
# Reproducible in CI, no example database written into the tree.
FAST = settings(max_examples=100, deadline=None, derandomize=True, database=None)
API = settings(max_examples=30, deadline=None, derandomize=True, database=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

# Any character JSON can carry, lone surrogates and NUL included ("\ud800", "\u0000").
any_text = st.text(st.characters(codec=None, categories=None), max_size=30)
json_scalars = (st.none() | st.booleans() | st.integers(min_value=-(10 ** 30), max_value=10 ** 30)
                | st.floats(allow_nan=True, allow_infinity=True) | any_text)
# Instants of any year with any offset: year 1 or 9999 next to an offset cannot become UTC.
any_times = st.datetimes(timezones=st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes)))).map(datetime.isoformat)
json_values = st.recursive(json_scalars | any_times, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(any_text, inner, max_size=4), max_leaves=12)

# Times a phone may send: any instant since 2015 up to now, with any UTC offset.
EARLIEST = datetime(2015, 1, 2, tzinfo=UTC)
instants = st.datetimes(min_value=datetime(2015, 1, 2), max_value=datetime(2026, 1, 1),
                        timezones=st.just(UTC))
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes)))
good_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=60)


def _iso(instant: datetime, offset: timezone) -> str:
    return instant.astimezone(offset).isoformat()


@st.composite
def visits(draw, located: bool | None = None) -> dict:
    """A visit as a phone would send it: valid by construction (with a GPS fix if `located`)."""
    no_fix = st.nothing() if located else st.none()
    location = draw(no_fix | st.fixed_dictionaries(
        {"lat": st.floats(-90, 90), "lon": st.floats(-180, 180)},
        optional={"accuracy_m": st.none() | st.floats(0, 100_000),
                  "located_at": st.none() | st.builds(_iso, instants, offsets)}))
    return draw(st.fixed_dictionaries({
        "type": st.just("visit"),
        "id": st.uuids().map(str),
        "household_id": st.uuids().map(str),
        "occurred_at": st.builds(_iso, instants, offsets),
        "device_created_at": st.builds(_iso, instants, offsets),
    }, optional={
        "heard": good_text, "requests": good_text, "follow_up": st.booleans(),
        "location": st.just(location),
        "photo_ids": st.lists(st.uuids().map(str), max_size=MAX_PHOTOS_PER_RECORD, unique=True),
    }))


# For each field, values of about the right kind that code trusting its input trips on.
_edge_times = any_times | st.sampled_from(["0001-01-01T00:00:00+05:00",
                                           "9999-12-31T23:59:59-05:00", "2026-01-01T00:00:00"])
_edge_text = any_text | st.sampled_from(["\x00", "走访\ud800", "\udfff", " " * 4001])
_edge_numbers = st.floats() | st.integers() | st.sampled_from([10 ** 400, -0.0, "12.5", True])
_edge_uuids = st.uuids().map(lambda u: str(u).upper()) | st.uuids().map(lambda u: u.urn) \
    | st.integers() | any_text
EDGES = {
    "type": st.sampled_from(["visit", "VISIT", "meeting"]) | any_text,
    "id": _edge_uuids, "household_id": _edge_uuids,
    "occurred_at": _edge_times, "device_created_at": _edge_times,
    "heard": _edge_text, "requests": _edge_text,
    "follow_up": st.sampled_from([0, 1, "true", "no", None]),
    "location": st.none() | st.just({}) | json_values,
    "location.lat": _edge_numbers, "location.lon": _edge_numbers,
    "location.accuracy_m": _edge_numbers | st.none(), "location.located_at": _edge_times,
    "photo_ids": st.lists(_edge_uuids, max_size=14) | st.lists(
        st.sampled_from(["8f0e3b1c-1111-4a4a-9a9a-000000000001"]), min_size=2, max_size=2),
    "extra": json_values,
}


@st.composite
def mangled_visits(draw) -> dict:
    """A valid visit with one or two fields given an edge value of about the right kind."""
    visit = draw(visits())
    for key in draw(st.lists(st.sampled_from(sorted(EDGES)), min_size=1, max_size=2,
                             unique=True)):
        value = draw(EDGES[key] | json_values) if draw(st.booleans()) else draw(EDGES[key])
        if key.startswith("location."):
            location = visit.get("location")
            location = dict(location) if isinstance(location, dict) else {"lat": 1.0, "lon": 2.0}
            location[key.split(".")[1]] = value
            visit["location"] = location
        else:
            visit[key] = value
    return visit


def _loads_or_refuses(raw) -> dict | None:
    """Load raw input; return the data, or None when it was refused with ValidationError."""
    try:
        return SCHEMA.load(raw)
    except ValidationError:
        return None


def _storable(data: dict) -> None:
    """What sync does with accepted data: hash it, move times to UTC, encode text."""
    content_hash(data)
    for when in (data["occurred_at"], data["device_created_at"],
                 (data["location"] or {}).get("located_at")):
        to_utc_naive(when)
    for text in (data["heard"], data["requests"]):
        assert "\x00" not in text
        text.encode("utf-8")


@FAST
@given(st.one_of(json_values, mangled_visits()))
def test_load_only_ever_raises_validation_error_and_what_it_accepts_can_be_stored(raw):
    data = _loads_or_refuses(raw)
    if data is not None:
        _storable(data)


@FAST
@given(visits(), st.data())
def test_same_instant_with_another_utc_offset_hashes_the_same(visit, data):
    digest = content_hash(SCHEMA.load(visit))
    moved = dict(visit)
    for key in ("occurred_at", "device_created_at"):
        moved[key] = datetime.fromisoformat(visit[key]).astimezone(data.draw(offsets)).isoformat()
    if isinstance(visit.get("location"), dict) and visit["location"].get("located_at"):
        located = datetime.fromisoformat(visit["location"]["located_at"])
        moved["location"] = {**visit["location"],
                             "located_at": located.astimezone(data.draw(offsets)).isoformat()}
    assert content_hash(SCHEMA.load(moved)) == digest


def _changed(visit: dict, field: str, data) -> dict:
    """Return the visit with one content field given another valid value."""
    changed = json.loads(json.dumps(visit))
    if field in ("id", "household_id"):
        changed[field] = str(data.draw(st.uuids().filter(lambda u: str(u) != visit[field])))
    elif field in ("occurred_at", "device_created_at"):
        before = datetime.fromisoformat(visit[field])
        shift = data.draw(st.integers(1, 3600 * 24 * 300))
        sign = 1 if before - timedelta(seconds=shift) < EARLIEST else -1
        changed[field] = (before + sign * timedelta(seconds=shift)).isoformat()
    elif field in ("heard", "requests"):
        changed[field] = visit.get(field, "") + data.draw(st.sampled_from(string.ascii_letters))
    elif field == "follow_up":
        changed[field] = not visit.get(field, False)
    elif field == "location":
        was = visit.get("location")
        changed[field] = {"lat": 10.0, "lon": 20.0} if was is None else None
    elif field == "photo_ids":
        changed[field] = [str(uuid.uuid4())] if not visit.get(field) else visit[field][1:]
    return changed


@FAST
@given(visits(), st.sampled_from(["id", "household_id", "occurred_at", "device_created_at",
                                  "heard", "requests", "follow_up", "location", "photo_ids"]),
       st.data())
def test_any_change_of_a_content_field_changes_the_hash(visit, field, data):
    other = _changed(visit, field, data)
    assert content_hash(SCHEMA.load(other)) != content_hash(SCHEMA.load(visit)), field


@FAST
@given(visits(located=True), st.sampled_from(["lat", "lon"]), st.data())
def test_moving_the_gps_fix_changes_the_hash(visit, axis, data):
    visit["location"] = visit.get("location") or {"lat": 26.58, "lon": 106.71}
    moved = json.loads(json.dumps(visit))
    moved["location"][axis] = data.draw(
        st.floats(-90 if axis == "lat" else -180, 90 if axis == "lat" else 180)
        .filter(lambda v: v != visit["location"][axis]))
    assert content_hash(SCHEMA.load(moved)) != content_hash(SCHEMA.load(visit))


@FAST
@given(visits(), st.sampled_from(["heard", "requests"]),
       st.integers(MAX_TEXT + 1, MAX_TEXT + 5000))
def test_text_over_the_limit_is_refused(visit, field, length):
    with pytest.raises(ValidationError) as refused:
        SCHEMA.load({**visit, field: "民" * length})
    assert field in refused.value.messages_dict


@FAST
@given(visits(), st.sampled_from(["\x00", "\ud800", "\udfff"]), st.sampled_from(["heard",
                                                                                 "requests"]))
def test_text_a_database_cannot_store_is_refused(visit, bad, field):
    with pytest.raises(ValidationError) as refused:
        SCHEMA.load({**visit, field: f"走访{bad}记录"})
    assert field in refused.value.messages_dict


out_of_range = st.one_of(
    st.tuples(st.just("lat"), st.floats(min_value=90, exclude_min=True)),
    st.tuples(st.just("lat"), st.floats(max_value=-90, exclude_max=True)),
    st.tuples(st.just("lon"), st.floats(min_value=180, exclude_min=True)),
    st.tuples(st.just("lon"), st.floats(max_value=-180, exclude_max=True)),
    st.tuples(st.just("accuracy_m"), st.floats(max_value=0, exclude_max=True)),
    st.tuples(st.just("accuracy_m"), st.floats(min_value=100_000, exclude_min=True)),
    st.tuples(st.sampled_from(["lat", "lon", "accuracy_m"]),
              st.sampled_from([float("nan"), float("inf"), float("-inf")])),
)


@FAST
@given(visits(), out_of_range)
def test_gps_outside_its_ranges_is_refused(visit, bad):
    key, value = bad
    location = {"lat": 26.58, "lon": 106.71, **(visit.get("location") or {}), key: value}
    with pytest.raises(ValidationError) as refused:
        SCHEMA.load({**visit, "location": location})
    assert key in refused.value.messages_dict["location"]


@FAST
@given(visits(), st.sampled_from(["occurred_at", "device_created_at", "located_at"]),
       st.sampled_from(["0001-01-01T00:00:00+05:00", "1969-12-31T23:00:00+00:00",
                        "9999-12-31T23:59:59-05:00", "2100-01-01T08:00:00+08:00"]))
def test_absurd_times_are_refused_even_where_they_cannot_become_utc(visit, field, when):
    """Times no phone clock shows. A clock days ahead or back in 2014 is taken, and sync reads
    it through the phone's offset (tests/test_device_clock.py)."""
    if field == "located_at":
        record = {**visit, "location": {"lat": 26.58, "lon": 106.71, "located_at": when}}
    else:
        record = {**visit, field: when}
    with pytest.raises(ValidationError):
        SCHEMA.load(record)


# Through the API ------------------------------------------------------------------------


@st.composite
def batches(draw, households: list[str]) -> list:
    """A batch mixing valid visits to the secretary's households, replays and broken records."""
    records = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["valid", "valid", "replay", "mangled", "foreign", "junk"]))
        if kind == "replay" and records and isinstance(records[-1], dict):
            records.append(dict(records[-1]))
            continue
        visit = draw(visits())
        # Times within the last years, so they pass the "not in the future" rule today.
        if kind in ("valid", "replay"):
            visit["household_id"] = draw(st.sampled_from(households))
            records.append(visit)
        elif kind == "mangled":
            records.append(draw(mangled_visits()))
        elif kind == "foreign":
            records.append(visit)  # a household the register does not have
        else:
            records.append(draw(json_values))
    return records


def _expected_id(raw) -> set[str] | None:
    """The ids an answer may carry for a raw record: as sent, or its canonical UUID."""
    if not isinstance(raw, dict):
        return {""}
    sent = raw.get("id", "")
    if not isinstance(sent, str):
        return None  # echoed as the server's str() of it; nothing to compare
    try:
        return {sent, str(uuid.UUID(sent))}
    except ValueError:
        return {sent}


@API
@given(data=st.data())
def test_sync_answers_every_batch_one_result_per_record_in_order(world, device, data):
    phone = device(world.sec1)
    records = data.draw(batches([h.id for h in world.h1]))
    response = phone.post("/api/v1/sync", json={"records": records})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    results = response.get_json()["results"]
    assert len(results) == len(records)
    for raw, result in zip(records, results, strict=True):
        expected = _expected_id(raw)
        assert expected is None or result["id"] in expected, (raw, result)
        assert result["status"] in ("stored", "conflict", "invalid", "forbidden")
        if result["status"] != "stored":
            assert result["message"]


@API
@given(body=json_values)
def test_sync_never_fails_on_any_json_body(world, device, body):
    response = device(world.sec1).post("/api/v1/sync", json=body)
    assert response.status_code in (200, 422), response.get_data(as_text=True)[:500]
    if response.status_code == 200:
        assert len(response.get_json()["results"]) == len(body["records"])
