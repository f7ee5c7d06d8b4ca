"""The OpenAPI document of the sync API, built from the marshmallow schemas."""
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from fieldlog.schemas.resources import (
    DeviceTokenOutSchema,
    HouseholdOutSchema,
    LoginInSchema,
    PhotoOutSchema,
)
from fieldlog.schemas.sync import BatchInSchema, BatchOutSchema, ErrorSchema, VisitInSchema

_ERRORS = {str(code): {"description": text, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/Error"}}}}
    for code, text in ((401, "Not signed in or device token revoked"), (403, "Outside scope"),
                       (404, "Not found"), (409, "Conflict"), (413, "Too large"),
                       (422, "Invalid input"))}


def _json(ref: str, description: str = "OK") -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def build_spec() -> dict:
    """Return the OpenAPI 3 document as a dict."""
    about = ("Offline-first sync for field-visit records. Records and photos are keyed by "
             "client UUIDs; replays are idempotent.")
    spec = APISpec("fieldlog sync API", "1.0.0", "3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": about})
    spec.components.security_scheme("device", {"type": "http", "scheme": "bearer"})
    for name, schema in (("Error", ErrorSchema), ("Visit", VisitInSchema),
                         ("BatchIn", BatchInSchema), ("BatchOut", BatchOutSchema),
                         ("Household", HouseholdOutSchema), ("Photo", PhotoOutSchema),
                         ("DeviceToken", DeviceTokenOutSchema), ("LoginIn", LoginInSchema)):
        spec.components.schema(name, schema=schema)
    secured = [{"device": []}]
    spec.path("/api/v1/auth/login", operations={"post": {
        "summary": "Exchange credentials for a device token", "requestBody": _json("LoginIn"),
        "responses": {"201": _json("DeviceToken"), **_ERRORS}}})
    spec.path("/api/v1/devices", operations={"post": {
        "summary": "Issue a device token to the signed-in browser (session + X-CSRFToken)",
        "responses": {"201": _json("DeviceToken"), **_ERRORS}}})
    spec.path("/api/v1/me", operations={"get": {
        "summary": "Who this token belongs to", "security": secured,
        "responses": {"200": {"description": "The user"}, **_ERRORS}}})
    spec.path("/api/v1/sync", operations={"post": {
        "summary": "Apply a batch of records (each is a Visit); answered per record, in order",
        "security": secured, "requestBody": _json("BatchIn"),
        "responses": {"200": _json("BatchOut"), **_ERRORS}}})
    spec.path("/api/v1/photos/{photo_id}", operations={"put": {
        "summary": "Upload one photo of a record; idempotent by photo UUID",
        "security": secured,
        "parameters": [{"in": "path", "name": "photo_id", "required": True,
                        "schema": {"type": "string", "format": "uuid"}}],
        "requestBody": {"content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file", "record_id"],
            "properties": {
                "file": {"type": "string", "format": "binary"},
                "record_type": {"type": "string", "enum": ["visit"]},
                "record_id": {"type": "string", "format": "uuid"},
                "taken_at": {"type": "string", "description": "EXIF time read on the phone"},
                "lat": {"type": "number", "minimum": -90, "maximum": 90},
                "lon": {"type": "number", "minimum": -180, "maximum": 180}}}}}},
        "responses": {"200": _json("Photo"), "201": _json("Photo"), **_ERRORS}}})
    spec.path("/api/v1/households", operations={"get": {
        "summary": "Households of the secretary's village", "security": secured,
        "responses": {"200": {"description": "{households: [Household]}"}, **_ERRORS}}})
    return spec.to_dict()
