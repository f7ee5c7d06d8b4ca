"""The supervisors' map: records in scope with village centres and geofences."""
import gzip
import json

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_login import current_user

from fieldlog.permissions import REVIEWER_ROLES, roles_required
from fieldlog.security import csp_with_images
from fieldlog.services.reporting.mapdata import map_data, parse_filters, scope_choices, tile_origins

bp = Blueprint("mapview", __name__, url_prefix="/map")

NIL_UUID = "00000000-0000-0000-0000-000000000000"
# A meeting's page, when the app has one (the first endpoint that exists is linked).
MEETING_ENDPOINTS = ("records.meeting_detail",)


def _crs() -> str:
    return "gcj02" if current_app.config.get("MAP_TILE_CRS") == "gcj02" else "wgs84"


def _tiles() -> dict:
    config = current_app.config
    return {"url": config.get("MAP_TILE_URL", ""), "subdomains": config.get(
        "MAP_TILE_SUBDOMAINS", "abc"), "attribution": config.get("MAP_TILE_ATTRIBUTION", ""),
        "crs": _crs(), "max_zoom": config.get("MAP_TILE_MAX_ZOOM", 18)}


def _record_links() -> dict:
    """URL templates of the record pages a popup links to ({id} is replaced in the page)."""
    links = {"visit": url_for("review.visit", visit_id=NIL_UUID).replace(NIL_UUID, "{id}")}
    for endpoint in MEETING_ENDPOINTS:
        if endpoint in current_app.view_functions:
            links["meeting"] = url_for(endpoint, meeting_id=NIL_UUID).replace(NIL_UUID, "{id}")
            break
    return links


@bp.after_request
def allow_tiles(response: Response) -> Response:
    """Let this page (only) load images from the configured tile server."""
    tiles = _tiles()
    origins = tile_origins(tiles["url"], tiles["subdomains"])
    if origins:
        response.headers["Content-Security-Policy"] = csp_with_images(origins)
    return response


@bp.get("/")
@roles_required(*REVIEWER_ROLES)
def index():
    filters = parse_filters(request.args)
    return render_template("mapview/index.html", filters=filters, tiles=_tiles(),
                           links=_record_links(), **scope_choices(current_user))


@bp.get("/data.json")
@roles_required(*REVIEWER_ROLES)
def data():
    """Return the records in scope as compact columns (gzip when the client accepts it)."""
    payload = map_data(current_user, parse_filters(request.args), crs=_crs())
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    response = Response(body, mimetype="application/json")
    if "gzip" in request.headers.get("Accept-Encoding", "") and len(body) > 2048:
        response.set_data(gzip.compress(body, compresslevel=3))
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = "private, no-store"
    return response
