"""The supervisors' map: records in scope as compact columns, and WGS-84 → GCJ-02.

Phones give WGS-84 (GPS). Chinese tile servers (AutoNavi/高德, Tencent, Tianditu's GCJ layers)
draw in GCJ-02, the officially obfuscated datum, shifted by a few hundred metres; when such a
tile source is configured every point is converted on the server before it is sent. The
conversion is the widely published one (as in googollee/eviltransform); it is defined only
inside China's bounding box and is the identity outside it.

The data answer is columnar (one array per field, ids packed as base64 of the 16 UUID bytes,
coordinates as integers of 1e-5 degree, times as minutes after `t0`), so 100,000 points come to
a few megabytes that a browser parses in tens of milliseconds.
"""
import base64
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from operator import itemgetter
from urllib.parse import urlsplit

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    case,
    cast,
    extract,
    func,
    literal,
    select,
    type_coerce,
)

from fieldlog.domain import record_title
from fieldlog.extensions import db
from fieldlog.models import Household, Meeting, OrgUnit, User, Visit
from fieldlog.permissions import scope_village_ids
from fieldlog.services.common.geo import (  # noqa: F401  (re-exported)
    gcj_delta,
    out_of_china,
    wgs84_to_gcj02,
)
from fieldlog.timefmt import local_midnight_utc, local_today

KINDS = ("visit", "meeting")
PERIODS = ("month", "prev_month", "quarter", "custom")
COORD_SCALE = 100_000  # coordinates travel as integers of 1e-5 degree (about 1 m)

# --- WGS-84 → GCJ-02 -------------------------------------------------------------------

# The formula lives in common.geo (boundary files use its inverse); the map converts many
# points at once with a cache.
_gcj_delta = gcj_delta


class GcjConverter:
    """Convert many points fast: the offset is computed once per 0.001° cell (about 100 m).

    The offset changes by well under a metre across such a cell, so applying the cell's
    offset to the exact point is as good as the full formula for drawing, at a fraction of
    the cost when points cluster in villages.
    """

    def __init__(self):
        self._cache: dict[tuple[int, int], tuple[float, float]] = {}

    def __call__(self, lat: float, lon: float) -> tuple[float, float]:
        if out_of_china(lat, lon):
            return lat, lon
        key = (round(lat * 1000), round(lon * 1000))
        delta = self._cache.get(key)
        if delta is None:
            delta = self._cache[key] = _gcj_delta(key[0] / 1000, key[1] / 1000)
        return lat + delta[0], lon + delta[1]


def _identity(lat: float, lon: float) -> tuple[float, float]:
    return lat, lon


def tile_origins(url: str, subdomains: str = "abc") -> list[str]:
    """Return the origins a tile URL template loads from ({s} expanded), for the CSP."""
    if not url:
        return []
    parts = urlsplit(url.replace("{s}", "\0"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return []
    hosts = ([parts.netloc.replace("\0", s) for s in subdomains] if "\0" in parts.netloc
             else [parts.netloc])
    return [f"{parts.scheme}://{host}" for host in hosts]


# --- Filters ---------------------------------------------------------------------------


@dataclass
class MapFilters:
    start: date  # local dates, both inclusive
    end: date
    period: str = "month"
    township_id: int | None = None
    village_id: int | None = None
    author_id: int | None = None
    kinds: tuple[str, ...] = ("visit",)


def period_range(period: str, today: date) -> tuple[date, date]:
    """Return the first and last local day of a named period around `today`."""
    if period == "prev_month":
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    if period == "quarter":
        first_month = (today.month - 1) // 3 * 3 + 1
        start = today.replace(month=first_month, day=1)
        next_start = (start.replace(month=first_month + 2, day=28) + timedelta(days=4)).replace(
            day=1)
        return start, next_start - timedelta(days=1)
    month_start = today.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    return month_start, next_month - timedelta(days=1)


def parse_filters(args, today: date | None = None) -> MapFilters:
    """Read the map's filters from query arguments; bad values fall back to the defaults."""
    today = today or local_today()
    period = args.get("period", "month")
    if period not in PERIODS:
        period = "month"
    start, end = period_range("month" if period == "custom" else period, today)
    if period == "custom":
        start = _date(args.get("start")) or start
        end = _date(args.get("end")) or end
        if end < start:
            start, end = end, start
        start = max(start, end - timedelta(days=3 * 366))  # at most about three years
    kinds = tuple(k for k in KINDS if k in args.getlist("kind")) or ("visit",)
    return MapFilters(start, end, period, _int(args.get("township")), _int(args.get("village")),
                      _int(args.get("cadre")), kinds)


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


def scope_choices(user: User) -> dict:
    """Return the townships, villages and cadres in the user's scope, for the filter form."""
    villages = list(db.session.scalars(
        select(OrgUnit).where(OrgUnit.id.in_(scope_village_ids(user))).order_by(OrgUnit.code)))
    townships = list(db.session.scalars(
        select(OrgUnit).where(OrgUnit.id.in_({v.parent_id for v in villages}))
        .order_by(OrgUnit.code)))
    cadres = list(db.session.scalars(
        select(User).where(User.role == "secretary",
                           User.scope_unit_id.in_(scope_village_ids(user)))
        .order_by(User.display_name)))
    return {"townships": townships, "villages": villages, "cadres": cadres}


# --- The data --------------------------------------------------------------------------


def _village_query(user: User, filters: MapFilters):
    query = select(OrgUnit).where(OrgUnit.id.in_(scope_village_ids(user)))
    if filters.township_id:
        query = query.where(OrgUnit.parent_id == filters.township_id)
    if filters.village_id:
        query = query.where(OrgUnit.id == filters.village_id)
    return query.order_by(OrgUnit.code)


def _epoch_seconds(column):
    """Select a naive-UTC datetime column as whole epoch seconds (no per-row parsing)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    return cast(func.floor(extract("epoch", column)), BigInteger)


def _id_text(column):
    """Select a UUID column as plain text without per-row conversion (hex on SQLite, where it
    is stored so; the canonical text on PostgreSQL, cheaper than building uuid.UUID objects)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return type_coerce(column, String)
    return cast(column, String)


def _rows(model, label_column, village_ids: list[int], filters: MapFilters, since, until):
    """Return (id, lat, lon, epoch, author, village, label) of located records; and the rest."""
    query = select(_id_text(model.id), model.lat, model.lon, _epoch_seconds(model.occurred_at),
                   model.author_id, model.village_id, label_column).where(
        model.village_id.in_(village_ids), model.occurred_at >= since,
        model.occurred_at < until)
    if filters.author_id:
        query = query.where(model.author_id == filters.author_id)
    rows = db.session.execute(query).all()
    located = [row for row in rows if row[1] is not None and row[2] is not None]
    located.sort(key=itemgetter(3))  # oldest first, so later records are drawn on top
    return located, len(rows) - len(located)


def _id_bytes(ids: list[str]) -> bytes:
    """Pack UUIDs given as text (with or without dashes) as 16 bytes each."""
    return bytes.fromhex("".join(ids).replace("-", ""))


def map_data(user: User, filters: MapFilters, crs: str = "wgs84") -> dict:
    """Return the records in scope matching `filters` as columns, converted to the tiles' datum.

    Shape: {"crs", "scale", "t0", "start", "end" (the local dates covered), "count",
    "unlocated", "kinds", "villages": {...},
    "cadres": {...}, "labels": [...], "points": {"ids" (base64), "lat", "lon", "t", "k",
    "a", "v", "l"}} where k/a/v/l index kinds, cadres, villages and labels.
    """
    convert = GcjConverter() if crs == "gcj02" else _identity
    villages = list(db.session.scalars(_village_query(user, filters)))
    village_index = {v.id: n for n, v in enumerate(villages)}
    since = local_midnight_utc(filters.start)
    until = local_midnight_utc(filters.end + timedelta(days=1))
    t0 = int(since.replace(tzinfo=UTC).timestamp())
    cols = {name: [] for name in ("lat", "lon", "t", "k", "a", "v", "l")}
    ids = []
    cadre_index: dict[int, int] = {}
    label_index: dict[tuple[int, object], int] = {}
    unlocated = 0
    sources = {"visit": (Visit, _id_text(Visit.household_id)), "meeting": (Meeting, _MEETING_LABEL)}
    scale = COORD_SCALE
    for kind_no, kind in enumerate(KINDS):
        if kind not in filters.kinds or not villages:
            continue
        rows, missing = _rows(*sources[kind], list(village_index), filters, since, until)
        unlocated += missing
        if not rows:
            continue
        rid, lats, lons, epochs, authors, village_ids, labels = zip(*rows, strict=True)
        if crs == "gcj02":
            lats, lons = zip(*map(convert, lats, lons), strict=True)
        ids.extend(rid)
        cols["lat"] += [round(x * scale) for x in lats]
        cols["lon"] += [round(x * scale) for x in lons]
        cols["t"] += [(e - t0) // 60 for e in epochs]
        cols["k"] += [kind_no] * len(rows)
        cols["a"] += [cadre_index.setdefault(a, len(cadre_index)) for a in authors]
        cols["v"] += [village_index[v] for v in village_ids]
        cols["l"] += [label_index.setdefault((kind_no, x), len(label_index)) for x in labels]
    names = dict(db.session.execute(select(User.id, User.display_name).where(
        User.id.in_(list(cadre_index)))).all()) if cadre_index else {}
    return {
        "crs": crs, "scale": COORD_SCALE, "t0": t0, "count": len(cols["k"]),
        "start": filters.start.isoformat(), "end": filters.end.isoformat(),
        "unlocated": unlocated, "kinds": list(KINDS),
        "villages": _village_columns(villages, convert),
        "cadres": {"id": list(cadre_index), "name": [names.get(i, "") for i in cadre_index]},
        "labels": _labels(label_index),
        "points": {"ids": base64.b64encode(_id_bytes(ids)).decode("ascii"), **cols},
    }


def _village_columns(villages: list[OrgUnit], convert) -> dict:
    columns = {"id": [], "name": [], "lat": [], "lon": [], "r": []}
    for village in villages:
        lat, lon = (convert(village.lat, village.lon) if village.lat is not None
                    and village.lon is not None else (None, None))
        columns["id"].append(village.id)
        columns["name"].append(village.name)
        columns["lat"].append(None if lat is None else round(lat, 6))
        columns["lon"].append(None if lon is None else round(lon, 6))
        columns["r"].append(village.geofence_m)
    return columns


# A meeting is labelled by its title, or when it has none by its type (the code after _UNTITLED).
_UNTITLED = "\x1f"
_MEETING_LABEL = case((func.coalesce(func.trim(Meeting.title), "") == "",
                       literal(_UNTITLED, String) + Meeting.meeting_type), else_=Meeting.title)


def _meeting_label(value: str | None) -> str:
    if value and value.startswith(_UNTITLED):
        return record_title("meeting", None, value[len(_UNTITLED):], None)
    return value or ""


def _labels(label_index: dict[tuple[int, object], int]) -> list[str]:
    """Resolve a visit's household to "head name · house label", a meeting to its title or type."""
    visit_no = KINDS.index("visit")
    household_ids = [value for kind, value in label_index if kind == visit_no]
    households = {}
    for chunk in range(0, len(household_ids), 5000):
        rows = db.session.execute(
            select(_id_text(Household.id), Household.head_name, Household.house_label)
            .where(Household.id.in_(household_ids[chunk:chunk + 5000])))
        households.update({h_id: f"{name} · {label}" for h_id, name, label in rows})
    labels = [""] * len(label_index)
    for (kind, value), n in label_index.items():
        labels[n] = households.get(value, "") if kind == visit_no else _meeting_label(value)
    return labels
