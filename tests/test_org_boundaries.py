"""Village boundaries from GeoJSON and KML: matched by code or name, checked (the centre
inside, clean geometry, bounded size), GCJ-02 converted, stored all or nothing."""
import io
import json
import math

import pytest
from sqlalchemy import select

from fieldlog.errors import Invalid
from fieldlog.extensions import db
from fieldlog.models import AuditEntry, OrgUnit
from fieldlog.services.common.geo import wgs84_to_gcj02
from fieldlog.services.org.boundaries import import_boundaries, preview_boundaries
from tests.test_org_admin import other, signed_in  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def english(app):
    from flask_babel import force_locale

    with force_locale("en"):
        yield


def square(lat: float, lon: float, half: float = 0.01) -> list:
    return [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
            [lon - half, lat + half], [lon - half, lat - half]]


def geojson(*features) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": geometry}
        for props, geometry in features]}).encode()


def polygon(ring) -> dict:
    return {"type": "Polygon", "coordinates": [ring]}


def kml(name: str, ring: list, *, doctype: str = "") -> bytes:
    coords = " ".join(f"{lon},{lat},0" for lon, lat in ring)
    return f"""<?xml version="1.0" encoding="UTF-8"?>{doctype}
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>{name}</name>
<ExtendedData><Data name="备注"><value>x</value></Data></ExtendedData>
<Polygon><outerBoundaryIs><LinearRing><coordinates>{coords}</coordinates></LinearRing>
</outerBoundaryIs></Polygon></Placemark></Document></kml>""".encode()


def test_geojson_matched_by_code_is_stored_with_its_box_then_unchanged(world):
    data = geojson(({"村代码": "V1"}, polygon(square(26.58, 106.71))),
                   ({"code": "V3"}, {"type": "MultiPolygon", "coordinates": [
                       [square(26.45, 106.60)], [square(26.50, 106.65, 0.002)]]}))
    preview = preview_boundaries(world.admin, data)
    assert not preview.errors and [r.village.name for r in preview.rows] == ["北堡村", "河湾村"]
    assert import_boundaries(world.admin, data, "b.geojson") == 2
    v1 = db.session.get(OrgUnit, world.v1.id)
    assert json.loads(v1.boundary)["type"] == "Polygon"
    assert (v1.bbox_min_lat, v1.bbox_max_lon) == (pytest.approx(26.57), pytest.approx(106.72))
    assert preview_boundaries(world.admin, data).count("unchanged") == 2
    assert "org.boundaries" in set(db.session.scalars(select(AuditEntry.action)))


def test_kml_matched_by_a_name_only_one_village_has(world):
    preview = preview_boundaries(world.admin, kml("南坪村", square(26.62, 106.74)))
    assert [(r.village.name, r.action) for r in preview.rows] == [("南坪村", "new")]
    import_boundaries(world.admin, kml("南坪村", square(26.62, 106.74)))
    assert db.session.get(OrgUnit, world.v2.id).boundary


@pytest.mark.parametrize(("feature", "expected"), [
    (({"code": "V1"}, polygon(square(26.70, 106.71))), "does not contain the village centre"),
    (({"code": "V1"}, {"type": "Point", "coordinates": [106.71, 26.58]}), "not a Polygon"),
    (({"code": "V1"}, polygon([[106.70, 26.57], [106.72, 26.57]])), "fewer than three"),
    (({"code": "V1"}, polygon([[106.70, 26.57], ["x", 26.58], [106.72, 26.59]])),
     "not a [longitude, latitude] pair"),
    (({"code": "V1"}, polygon([[206.70, 26.57], [106.72, 26.57], [106.72, 26.59]])),
     "outside longitude"),
    (({"code": "999999999999"}, polygon(square(26.58, 106.71))), "no village in your scope"),
    (({"name": "无此村"}, polygon(square(26.58, 106.71))), "no village in your scope"),
])
def test_each_bad_feature_says_why_and_nothing_is_stored(world, feature, expected):
    data = geojson(({"code": "V2"}, polygon(square(26.62, 106.74))), feature)
    problems = [r.problem for r in preview_boundaries(world.admin, data).errors]
    assert len(problems) == 1 and expected in problems[0], problems
    with pytest.raises(Invalid) as caught:
        import_boundaries(world.admin, data)
    assert "nothing was stored" in caught.value.message
    db.session.expire_all()
    assert db.session.get(OrgUnit, world.v2.id).boundary is None


def test_too_many_vertices_is_refused(world):
    ring = [[106.71 + 0.01 * math.cos(i / 4000),
             26.58 + 0.01 * math.sin(i / 4000)] for i in range(25_200)]
    problems = [r.problem for r in preview_boundaries(
        world.admin, geojson(({"code": "V1"}, polygon(ring)))).errors]
    assert "more than the 20000" in problems[0]


@pytest.mark.parametrize(("data", "expected"), [
    (b"", "empty"),
    (b"{not json", "not valid GeoJSON"),
    (b'{"type": "FeatureCollection"}', "no FeatureCollection"),
    (b"hello", "neither GeoJSON nor KML"),
    (kml("北堡村", square(26.58, 106.71), doctype='<!DOCTYPE kml [<!ENTITY a "aaaa">]>'),
     "DOCTYPE"),
    (b"<kml><Document>", "not valid KML"),
    (b" " * (10 * 1024 * 1024 + 1) + b"{}", "larger than"),
])
def test_unreadable_or_hostile_files_are_refused_whole(world, data, expected):
    with pytest.raises(Invalid) as caught:
        preview_boundaries(world.admin, data)
    assert expected in caught.value.message


def test_gcj02_coordinates_are_converted(world):
    # The village boundary as a 高德 map would draw it: every corner shifted by GCJ-02 (a few
    # hundred metres here), with a 150 m half-size the shift puts the centre outside.
    ring = [list(reversed(wgs84_to_gcj02(lat, lon)))
            for lon, lat in square(26.58, 106.71, 0.0015)]
    data = geojson(({"code": "V1"}, polygon(ring)))
    assert "does not contain" in preview_boundaries(world.admin, data).errors[0].problem
    preview = preview_boundaries(world.admin, data, gcj02=True)
    assert not preview.errors
    corner = preview.rows[0].feature.geometry["coordinates"][0][0]
    assert corner == [pytest.approx(106.7085, abs=1e-6), pytest.approx(26.5785, abs=1e-6)]


def test_another_countys_village_is_not_matched(world, other):  # noqa: F811
    data = geojson(({"code": other.village.code}, polygon(square(27.0, 107.0))))
    assert "no village in your scope" in preview_boundaries(world.admin, data).errors[0].problem


def test_the_boundary_page_previews_then_stores(world, client):
    token = signed_in(client, "admin")
    client.get("/lang/en")
    data = geojson(({"code": "V1"}, polygon(square(26.58, 106.71))))
    page = client.post("/admin/org/boundaries", data={
        "csrf_token": token, "file": (io.BytesIO(data), "b.geojson")})
    assert page.status_code == 200
    assert "Boundaries: 1 new, 0 to replace" in page.get_data(as_text=True)
    assert db.session.get(OrgUnit, world.v1.id).boundary is None
    done = client.post("/admin/org/boundaries", data={
        "csrf_token": token, "confirm": "1", "file": (io.BytesIO(data), "b.geojson")})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(OrgUnit, world.v1.id).boundary
    client.post(f"/admin/org/{world.v1.id}/state", data={"csrf_token": token,
                                                         "action": "clear_boundary"})
    db.session.expire_all()
    v1 = db.session.get(OrgUnit, world.v1.id)
    assert v1.boundary is None and v1.bbox_min_lat is None
