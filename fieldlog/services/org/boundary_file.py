"""Reading village boundaries from GeoJSON or KML, within bounds, into features: a label, the
properties that may name the village (村代码/code, name) and a clean Polygon or MultiPolygon
geometry of [lon, lat] pairs. Malformed geometry is a per-feature problem; an unreadable,
oversized or hostile file (XML entities, a DOCTYPE) is refused whole.
"""
import json
import math
import xml.parsers.expat
from dataclasses import dataclass, field

from flask_babel import gettext as _

from fieldlog.errors import Invalid
from fieldlog.services.common.geo import gcj02_to_wgs84

MAX_BYTES = 10 * 1024 * 1024
MAX_FEATURES = 5000
MAX_VERTICES = 20_000  # one village's boundary
MAX_TOTAL_VERTICES = 500_000  # the whole file
CODE_KEYS = ("村代码", "统计用区划代码", "区划代码", "code", "village_code", "adcode", "xzqhdm")
NAME_KEYS = ("村", "村名", "行政村", "name", "village", "名称")


@dataclass
class Feature:
    number: int  # 1-based, in file order
    code: str = ""
    name: str = ""
    geometry: dict | None = None
    problem: str = ""
    vertices: int = 0
    props: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return " ".join(p for p in (self.code, self.name) if p) or f"#{self.number}"


def _pick(props: dict, keys: tuple[str, ...]) -> str:
    lowered = {str(k).strip().lower(): v for k, v in props.items()}
    for key in keys:
        value = lowered.get(key.lower())
        if value not in (None, ""):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            return str(value).strip()[:80]
    return ""


class _Counter:
    def __init__(self):
        self.total = 0

    def add(self, n: int) -> None:
        self.total += n
        if self.total > MAX_TOTAL_VERTICES:
            raise Invalid(_("The file has more than %(n)s vertices in all; split it into "
                            "several files.", n=MAX_TOTAL_VERTICES), code="too_many_vertices")


def _ring(points, gcj02: bool) -> list[list[float]]:
    """Check and clean one ring: numbers in range, at least three corners, closed."""
    if not isinstance(points, list):
        raise ValueError(_("a ring is not a list of points"))
    ring = []
    for point in points:
        if not isinstance(point, list | tuple) or len(point) < 2 or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in point[:2]):
            raise ValueError(_("a point is not a [longitude, latitude] pair"))
        lon, lat = float(point[0]), float(point[1])
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(_("a point lies outside longitude −180…180, latitude −90…90"))
        if gcj02:
            lat, lon = gcj02_to_wgs84(lat, lon)
        ring.append([round(lon, 7), round(lat, 7)])
    if ring and ring[0] != ring[-1]:
        ring.append(list(ring[0]))
    if len({tuple(p) for p in ring}) < 3:
        raise ValueError(_("a ring has fewer than three corners"))
    return ring


def clean_geometry(geometry, gcj02: bool = False) -> tuple[dict, int]:
    """Return a clean Polygon/MultiPolygon geometry and its vertex count; ValueError says
    what is wrong."""
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        raise ValueError(_("the geometry is %(kind)s, not a Polygon or MultiPolygon",
                           kind=kind or _("missing")))
    coordinates = geometry.get("coordinates")
    polygons = [coordinates] if geometry["type"] == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        raise ValueError(_("the geometry has no coordinates"))
    clean = []
    for rings in polygons:
        if not isinstance(rings, list) or not rings:
            raise ValueError(_("a polygon has no rings"))
        clean.append([_ring(r, gcj02) for r in rings])
    vertices = sum(len(r) for rings in clean for r in rings)
    if vertices > MAX_VERTICES:
        raise ValueError(_("%(n)s vertices, more than the %(max)s a village's boundary may "
                           "have", n=vertices, max=MAX_VERTICES))
    if len(clean) == 1:
        return {"type": "Polygon", "coordinates": clean[0]}, vertices
    return {"type": "MultiPolygon", "coordinates": clean}, vertices


def _feature(number: int, props: dict, geometry, gcj02: bool, counter: _Counter) -> Feature:
    feature = Feature(number, _pick(props, CODE_KEYS), _pick(props, NAME_KEYS), props=props)
    try:
        feature.geometry, feature.vertices = clean_geometry(geometry, gcj02)
        counter.add(feature.vertices)
    except ValueError as exc:
        feature.problem = str(exc)
    return feature


def _geojson(data: bytes, gcj02: bool) -> list[Feature]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Invalid(_("The file is not valid GeoJSON."), code="not_geojson") from exc
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = {"type": "FeatureCollection", "features": [doc]}
    if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
        raise Invalid(_("The GeoJSON has no FeatureCollection of village features."),
                      code="not_geojson")
    crs = json.dumps(doc.get("crs") or {})
    if doc.get("crs") and "4326" not in crs and "CRS84" not in crs:
        raise Invalid(_("The GeoJSON is not in WGS-84 longitude/latitude (its crs is %(crs)s)."
                        , crs=crs[:80]), code="bad_crs")
    counter = _Counter()
    features = doc["features"]
    if len(features) > MAX_FEATURES:
        raise Invalid(_("The file has more than %(n)s features.", n=MAX_FEATURES),
                      code="too_many_features")
    out = []
    for number, item in enumerate(features, start=1):
        item = item if isinstance(item, dict) else {}
        props = item.get("properties") if isinstance(item.get("properties"), dict) else {}
        out.append(_feature(number, props, item.get("geometry"), gcj02, counter))
    return out


class _Kml:
    """A streaming KML reader (expat): Placemarks with their name, data and polygons."""

    def __init__(self, gcj02: bool):
        self.gcj02, self.counter = gcj02, _Counter()
        self.features: list[Feature] = []
        self.stack: list[str] = []
        self.text: list[str] = []
        self.placemark: dict | None = None
        self.data_name = ""

    def start(self, tag: str, attrs: dict) -> None:
        tag = tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]
        self.stack.append(tag)
        self.text = []
        if tag == "Placemark":
            if len(self.features) >= MAX_FEATURES:
                raise Invalid(_("The file has more than %(n)s features.", n=MAX_FEATURES),
                              code="too_many_features")
            self.placemark = {"props": {}, "polygons": [], "rings": None, "problem": ""}
        elif self.placemark is not None:
            if tag in ("Data", "SimpleData"):
                self.data_name = attrs.get("name", "")
            elif tag == "Polygon":
                self.placemark["rings"] = []

    def end(self, tag: str) -> None:
        tag = tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]
        text = "".join(self.text).strip()
        self.text = []
        self.stack.pop()
        p = self.placemark
        if p is None:
            return
        if tag == "name" and self.stack and self.stack[-1] == "Placemark":
            p["props"]["name"] = text
        elif tag == "SimpleData" or (tag == "value" and "Data" in self.stack[-1:]):
            p["props"][self.data_name] = text
        elif tag == "coordinates" and p["rings"] is not None:
            ring = []
            for chunk in text.split():
                try:
                    ring.append([float(v) for v in chunk.split(",")[:2]])
                except ValueError:
                    p["problem"] = _("a coordinate is not a number")
            self.counter.add(len(ring))
            p["rings"].append(ring)
        elif tag == "Polygon" and p["rings"] is not None:
            p["polygons"].append(p["rings"])
            p["rings"] = None
        elif tag == "Placemark":
            polygons = p["polygons"]
            geometry = {"type": "Polygon", "coordinates": polygons[0]} if len(polygons) == 1 \
                else {"type": "MultiPolygon", "coordinates": polygons} if polygons else None
            feature = _feature(len(self.features) + 1, p["props"], geometry, self.gcj02,
                               _Counter())
            if p["problem"]:
                feature.problem, feature.geometry = p["problem"], None
            self.features.append(feature)
            self.placemark = None

    def chars(self, data: str) -> None:
        if sum(len(t) for t in self.text) < 4 * 1024 * 1024:
            self.text.append(data)


def _refuse(*_args) -> None:
    raise Invalid(_("The KML declares a DOCTYPE or entities; such files are not read."),
                  code="kml_entities")


def _kml(data: bytes, gcj02: bool) -> list[Feature]:
    reader = _Kml(gcj02)
    parser = xml.parsers.expat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.chars
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise Invalid(_("The file is not valid KML (%(error)s).", error=str(exc)[:80]),
                      code="not_kml") from exc
    if not reader.features:
        raise Invalid(_("The KML has no Placemarks."), code="not_kml")
    return reader.features


def parse_boundaries(data: bytes, filename: str = "", gcj02: bool = False) -> list[Feature]:
    """Read a GeoJSON or KML file (by content) into features; Invalid for the whole file."""
    if not data or not data.strip():
        raise Invalid(_("The file is empty."), code="empty")
    if len(data) > MAX_BYTES:
        raise Invalid(_("The file is larger than %(mb)s MB; split it into several files.",
                        mb=MAX_BYTES // (1024 * 1024)), code="too_large")
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return _kml(data, gcj02)
    if head.startswith(b"{"):
        return _geojson(data, gcj02)
    raise Invalid(_("The file is neither GeoJSON nor KML."), code="not_boundaries")
