"""The supervisors' map: GCJ-02 conversion, scoped compact data, filters, tiles and the CSP."""
import base64
import gzip
import json
import re
import uuid
from datetime import UTC, date, timedelta

import pytest
from flask_babel import get_timezone
from werkzeug.datastructures import MultiDict

from fieldlog.extensions import db
from fieldlog.models import Meeting, Visit
from fieldlog.security import CSP
from fieldlog.services.reporting.mapdata import (
    GcjConverter,
    out_of_china,
    parse_filters,
    period_range,
    tile_origins,
    wgs84_to_gcj02,
)
from fieldlog.timefmt import local_midnight_utc, local_today
from tests.test_security_headers import header_problems

AMAP = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&style=8&x={x}&y={y}&z={z}"

# WGS-84 → GCJ-02 reference pairs from two independent published test suites: the
# eviltransform tests (Shanghai, Shenzhen, Beijing) and an R package's test (Tiananmen), plus
# the Beijing pair of the map's brief (39.90872, 116.39748) → about (39.91012, 116.40372).
REFERENCE = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
    ((39.90734, 116.39089), (39.90874107, 116.39713094)),
    ((39.90872, 116.39748), (39.91012, 116.40372)),
]


# --- The conversion (pure) ---------------------------------------------------------------


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE)
def test_wgs84_to_gcj02_matches_published_reference_values(wgs, gcj):
    lat, lon = wgs84_to_gcj02(*wgs)
    places = 5 if wgs == (39.90872, 116.39748) else 8  # the brief's pair is given to 5 places
    assert round(lat, places) == pytest.approx(gcj[0], abs=10 ** -places)
    assert round(lon, places) == pytest.approx(gcj[1], abs=10 ** -places)


@pytest.mark.parametrize("point", [(48.8566, 2.3522), (-33.8688, 151.2093), (0.0, 0.0),
                                   (40.7128, -74.0060), (60.0, 100.0)])
def test_outside_china_points_are_unchanged(point):
    assert out_of_china(*point)
    assert wgs84_to_gcj02(*point) == point
    assert GcjConverter()(*point) == point


def test_the_cached_converter_stays_within_centimetres_of_the_formula():
    convert = GcjConverter()
    for n in range(400):
        lat, lon = 26.4 + n * 0.00073, 106.5 + n * 0.00091
        exact = wgs84_to_gcj02(lat, lon)
        fast = convert(lat, lon)
        assert abs(exact[0] - fast[0]) < 2e-6 and abs(exact[1] - fast[1]) < 2e-6  # < 20 cm


def test_tile_origins_expand_subdomains_and_refuse_odd_urls():
    assert tile_origins(AMAP, "1234") == [f"https://webrd0{n}.is.autonavi.com" for n in "1234"]
    assert tile_origins("https://tile.example.org/{z}/{x}/{y}.png") == [
        "https://tile.example.org"]
    assert tile_origins("") == []
    assert tile_origins("javascript:alert(1)") == []
    assert tile_origins("/tiles/{z}/{x}/{y}.png") == []


def test_periods():
    today = date(2026, 11, 22)
    assert period_range("month", today) == (date(2026, 11, 1), date(2026, 11, 30))
    assert period_range("prev_month", today) == (date(2026, 10, 1), date(2026, 10, 31))
    assert period_range("quarter", today) == (date(2026, 10, 1), date(2026, 12, 31))
    assert period_range("quarter", date(2026, 2, 3)) == (date(2026, 1, 1), date(2026, 3, 31))
    assert period_range("prev_month", date(2026, 1, 9)) == (date(2025, 12, 1), date(2025, 12, 31))
    custom = parse_filters(MultiDict({"period": "custom", "start": "2026-09-30",
                                      "end": "2026-09-01"}), today)
    assert (custom.start, custom.end) == (date(2026, 9, 1), date(2026, 9, 30))  # swapped
    junk = parse_filters(MultiDict({"period": "<x>", "village": "abc", "cadre": "9" * 40,
                                    "kind": "nope", "start": "2026-99-99"}), today)
    assert (junk.period, junk.village_id, junk.author_id, junk.kinds) == (
        "month", None, None, ("visit",))


# --- Data in scope -----------------------------------------------------------------------


def _visit(world, sec, household, when, lat=None, lon=None) -> str:
    visit = Visit(id=str(uuid.uuid4()), author_id=sec.id, village_id=sec.scope_unit_id,
                  household_id=household.id, occurred_at=when, device_created_at=when,
                  lat=lat, lon=lon, accuracy_m=12 if lat else None, content_hash="0" * 64)
    db.session.add(visit)
    return visit.id


@pytest.fixture
def records(world):
    """Visits this month in V1 (one far outside), V2 and V3, one last month, one unlocated,
    and a meeting in V1."""
    today = local_today()
    this_month = local_midnight_utc(today.replace(day=1)) + timedelta(hours=3)
    last_month = local_midnight_utc(today.replace(day=1)) - timedelta(days=3)
    v1, v2, v3 = world.v1, world.v2, world.v3
    made = {
        "v1_near": _visit(world, world.sec1, world.h1[0], this_month, v1.lat + 0.001, v1.lon),
        "v1_far": _visit(world, world.sec1, world.h1[1], this_month + timedelta(minutes=30),
                         v1.lat + 0.05, v1.lon),
        "v1_unlocated": _visit(world, world.sec1, world.h1[2], this_month),
        "v1_last_month": _visit(world, world.sec1, world.h1[0], last_month, v1.lat, v1.lon),
        "v2": _visit(world, world.sec2, world.h2[0], this_month, v2.lat, v2.lon + 0.002),
        "v3": _visit(world, world.sec3, world.h3[0], this_month, v3.lat - 0.002, v3.lon),
    }
    meeting = Meeting(id=str(uuid.uuid4()), author_id=world.sec1.id, village_id=v1.id,
                      occurred_at=this_month, device_created_at=this_month,
                      lat=v1.lat, lon=v1.lon + 0.001, meeting_type="villagers_say",
                      title="村民说事：修路", content_hash="1" * 64)
    db.session.add(meeting)
    made["meeting"] = meeting.id
    db.session.commit()
    return made


def _ids(payload) -> list[str]:
    raw = base64.b64decode(payload["points"]["ids"])
    return [str(uuid.UUID(bytes=raw[n:n + 16])) for n in range(0, len(raw), 16)]


def _data(client, **params):
    response = client.get("/map/data.json", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    return response.get_json()


def test_a_township_supervisor_sees_only_its_villages(client, login, world, records):
    login("sup_t2")
    payload = _data(client)
    assert _ids(payload) == [records["v3"]]
    assert payload["villages"]["name"] == ["河湾村"]
    assert payload["cadres"]["name"] == ["SEC3"]
    assert payload["labels"] == ["河湾村户主1 · 1组1号"]
    assert payload["count"] == 1 and payload["unlocated"] == 0
    # Asking for another township's village or cadre gives nothing of it.
    assert _data(client, village=world.v1.id)["count"] == 0
    assert _data(client, cadre=world.sec1.id)["count"] == 0
    assert _data(client, township=world.t1.id)["villages"]["id"] == []


def test_columns_are_compact_and_consistent(client, login, world, records):
    login("sup_t1")
    payload = _data(client)
    points = payload["points"]
    n = payload["count"]
    assert sorted(_ids(payload)) == sorted([records["v1_near"], records["v1_far"], records["v2"]])
    assert all(len(points[key]) == n for key in ("lat", "lon", "t", "k", "a", "v", "l"))
    assert payload["unlocated"] == 1  # counted, not drawn
    assert payload["crs"] == "wgs84" and payload["scale"] == 100_000
    assert payload["start"] == local_today().replace(day=1).isoformat()
    first = _ids(payload).index(records["v2"])
    assert points["lat"][first] == round(world.v2.lat * 100_000)
    assert points["lon"][first] == round((world.v2.lon + 0.002) * 100_000)
    assert payload["villages"]["name"][points["v"][first]] == "南坪村"
    assert payload["cadres"]["name"][points["a"][first]] == "SEC2"
    assert payload["villages"]["r"] == [1500, 1000]
    # t is minutes after t0 (epoch seconds of the period's local start).
    visit = db.session.get(Visit, records["v2"])
    t0 = payload["t0"]
    assert t0 == int(local_midnight_utc(local_today().replace(day=1)).replace(
        tzinfo=UTC).timestamp())
    assert t0 + points["t"][first] * 60 == int(visit.occurred_at.replace(
        tzinfo=UTC).timestamp())
    assert str(get_timezone())  # the county zone decides where a month starts


def test_filters_narrow_the_points(client, login, world, records):
    login("sup_county")
    everything = _data(client)
    assert everything["count"] == 4
    assert set(_ids(_data(client, village=world.v1.id))) == {records["v1_near"], records["v1_far"]}
    assert _ids(_data(client, cadre=world.sec2.id)) == [records["v2"]]
    assert set(_ids(_data(client, township=world.t1.id))) == {
        records["v1_near"], records["v1_far"], records["v2"]}
    assert _ids(_data(client, period="prev_month")) == [records["v1_last_month"]]
    first = local_today().replace(day=1)
    custom = _data(client, period="custom", start=(first - timedelta(days=40)).isoformat(),
                   end=local_today().isoformat())
    assert custom["count"] == 5
    both = _data(client, kind=["visit", "meeting"], village=world.v1.id)
    kinds = {i: both["kinds"][k] for i, k in zip(_ids(both), both["points"]["k"], strict=True)}
    assert kinds[records["meeting"]] == "meeting"
    label = both["points"]["l"][_ids(both).index(records["meeting"])]
    assert both["labels"][label] == "村民说事：修路"
    assert _ids(_data(client, kind="meeting")) == [records["meeting"]]


def test_secretaries_and_anonymous_users_are_kept_out(client, login, world, records):
    assert client.get("/map/data.json").status_code == 302  # to sign-in
    assert client.get("/map/").status_code == 302
    login("sec1")
    assert client.get("/map/data.json").status_code == 403
    assert client.get("/map/").status_code == 403


@pytest.mark.parametrize("role", ["sup_t1", "inspector", "admin"])
def test_reviewers_open_the_page(client, login, world, records, role):
    login(role)
    response = client.get("/map/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-testid="map"' in page
    assert re.search(r"vendor/leaflet/leaflet\.[0-9a-f]{10}\.js", page)  # fingerprinted
    assert re.search(r"/static/js/map-page\.[0-9a-f]{10}\.js", page)
    assert 'data-link-visit="/review/visits/{id}"' in page  # the popup's link to the visit
    if "records.meeting_detail" in client.application.view_functions:
        assert 'data-link-meeting="/review/meetings/{id}"' in page


def test_no_tiles_by_default_and_the_csp_stays_strict(client, login, world, records):
    login("sup_t1")
    response = client.get("/map/")
    page = response.get_data(as_text=True)
    assert 'data-tile-url=""' in page and 'data-tile-crs="wgs84"' in page
    assert 'data-testid="map-no-tiles"' in page
    assert response.headers["Content-Security-Policy"] == CSP
    assert not header_problems(response)
    assert 'style="' not in page  # the CSP forbids inline style attributes
    assert not re.search(r"<script(?![^>]*(src=|type=\"application/json\"))", page)


def test_a_configured_tile_server_is_on_the_page_and_in_the_maps_csp_only(
        app, client, login, world, records):
    app.config.update(MAP_TILE_URL=AMAP, MAP_TILE_SUBDOMAINS="1234", MAP_TILE_CRS="gcj02",
                      MAP_TILE_ATTRIBUTION="© 高德地图")
    login("sup_t1")
    response = client.get("/map/")
    page = response.get_data(as_text=True)
    assert 'data-tile-crs="gcj02"' in page and 'data-tile-subdomains="1234"' in page
    assert "webrd0{s}.is.autonavi.com" in page and "© 高德地图" in page
    assert 'data-testid="map-no-tiles"' not in page
    csp = response.headers["Content-Security-Policy"]
    img_src = next(d for d in csp.split("; ") if d.startswith("img-src"))
    assert img_src == ("img-src 'self' blob: data: https://webrd01.is.autonavi.com "
                       "https://webrd02.is.autonavi.com https://webrd03.is.autonavi.com "
                       "https://webrd04.is.autonavi.com")
    assert "connect-src 'self';" in csp and "script-src 'self';" in csp
    assert not header_problems(response)
    # Every other page keeps the strict policy.
    assert client.get("/review/").headers["Content-Security-Policy"] == CSP


def test_gcj02_tiles_get_converted_points_and_centres(app, client, login, world, records):
    login("sup_t2")
    plain = _data(client)
    app.config["MAP_TILE_CRS"] = "gcj02"
    shifted = _data(client)
    assert shifted["crs"] == "gcj02"
    lat, lon = wgs84_to_gcj02(world.v3.lat - 0.002, world.v3.lon)
    assert shifted["points"]["lat"][0] == round(lat * 100_000)
    assert shifted["points"]["lon"][0] == round(lon * 100_000)
    assert shifted["points"]["lat"][0] != plain["points"]["lat"][0]
    centre = wgs84_to_gcj02(world.v3.lat, world.v3.lon)
    assert shifted["villages"]["lat"][0] == pytest.approx(centre[0], abs=1e-6)
    assert shifted["villages"]["lon"][0] == pytest.approx(centre[1], abs=1e-6)


def test_large_answers_are_gzipped_when_the_browser_accepts_it(client, login, world, records):
    when = local_midnight_utc(local_today().replace(day=1)) + timedelta(hours=5)
    for n in range(80):
        _visit(world, world.sec3, world.h3[n % 3], when + timedelta(minutes=n),
               world.v3.lat + n * 1e-4, world.v3.lon)
    db.session.commit()
    login("sup_county")
    response = client.get("/map/data.json", headers={"Accept-Encoding": "gzip, deflate"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    payload = json.loads(gzip.decompress(response.get_data()))
    assert payload["count"] == 84
    assert len(response.get_data()) < len(json.dumps(payload)) / 2
    plain = client.get("/map/data.json")
    assert "Content-Encoding" not in plain.headers and plain.get_json() == payload
    assert response.headers["Cache-Control"] == "private, no-store"


def test_an_untitled_meeting_is_labelled_by_its_type(client, login, world, records):
    meeting = db.session.get(Meeting, records["meeting"])
    meeting.title, meeting.meeting_type = "", "branch_committee"
    db.session.commit()
    login("sup_county")
    data = _data(client, kind="meeting")
    assert data["labels"][data["points"]["l"][0]] == "支委会"
