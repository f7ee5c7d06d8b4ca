"""The OpenAPI document of the sync API, built from the marshmallow schemas."""
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from fieldlog.schemas.records import (
    ActionInSchema,
    DayMarkInSchema,
    GoalInSchema,
    LeaveInSchema,
    LedgerItemInSchema,
    LedgerUpdateInSchema,
    MeetingInSchema,
)
from fieldlog.schemas.resources import (
    DeviceInSchema,
    DeviceTokenOutSchema,
    FailedPhotosOutSchema,
    HouseholdOutSchema,
    LoginInSchema,
    PhotoIdsInSchema,
    PhotoOutSchema,
)
from fieldlog.schemas.sync import BatchInSchema, BatchOutSchema, ErrorSchema, VisitInSchema

# The record types a batch carries, by their `type` value, and their component names.
RECORD_SCHEMAS = {
    "visit": ("Visit", VisitInSchema), "meeting": ("Meeting", MeetingInSchema),
    "action": ("Action", ActionInSchema), "goal": ("Goal", GoalInSchema),
    "ledger_item": ("LedgerItem", LedgerItemInSchema),
    "ledger_update": ("LedgerUpdate", LedgerUpdateInSchema),
    "day_mark": ("DayMark", DayMarkInSchema), "leave": ("Leave", LeaveInSchema),
}

_ERRORS = {str(code): {"description": text, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/Error"}}}}
    for code, text in ((400, "Malformed request, or a cookie session without its X-CSRFToken"),
                       (401, "Not signed in or device token revoked"), (403, "Outside scope"),
                       (404, "Not found"), (409, "Conflict"), (413, "Too large"),
                       (422, "Invalid input"),
                       (429, "Too many sign-in attempts, or the day's photo quota is used up"))}
# A phone replays with its device token; the signed-in browser may use its session cookie
# instead, and must then send the page's CSRF token in X-CSRFToken on every POST and PUT.
_SECURED = [{"device": []}, {"session": []}]
_ME = {"type": "object", "required": ["user", "device_id"], "properties": {
    "user": {"type": "object", "required": ["id", "username", "role"], "properties": {
        "id": {"type": "integer"}, "username": {"type": "string"},
        "display_name": {"type": "string"},
        "role": {"type": "string", "enum": ["secretary", "supervisor", "inspector", "admin"]},
        "scope_unit_id": {"type": "integer"}}},
    "device_id": {"type": "string", "format": "uuid", "nullable": True,
                  "description": "The device token's id; null for a cookie session"}}}


def _json(ref: str, description: str = "OK") -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _inline(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _photo_upload() -> dict:
    return {"content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file", "record_id"],
        "properties": {
            "file": {"type": "string", "format": "binary"},
            "record_type": {"type": "string", "enum": ["visit"]},
            "record_id": {"type": "string", "format": "uuid"},
            "taken_at": {"type": "string",
                         "description": "EXIF time read on the phone: local, no zone "
                                        "(YYYY-MM-DDTHH:MM:SS)"},
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lon": {"type": "number", "minimum": -180, "maximum": 180}}}}},
        "required": True}


def _describe_as_sent(doc: dict) -> None:
    """Correct what the schemas alone would misdescribe."""
    schemas = doc["components"]["schemas"]
    # The batch accepts anything per item (each is answered on its own), but what a client
    # should send is one of the record types, told apart by `type`.
    refs = {kind: f"#/components/schemas/{name}" for kind, (name, _) in RECORD_SCHEMAS.items()}
    schemas["BatchIn"]["properties"]["records"]["items"] = {
        "oneOf": [{"$ref": ref} for ref in refs.values()],
        "discriminator": {"propertyName": "type", "mapping": refs}}
    # "None" is null, not any object (what apispec writes for a nullable Nested).
    for schema in schemas.values():
        for prop in schema.get("properties", {}).values():
            if len(prop.get("anyOf", [])) == 2 and prop["anyOf"][1].get("nullable"):
                prop["anyOf"][1] = {"type": "object", "nullable": True, "enum": [None]}
    # A camera's clock has no zone: the value is an ISO local time, not an RFC 3339 date-time.
    schemas["Photo"]["properties"]["taken_at"] = {
        "type": "string", "nullable": True,
        "description": "Camera local time, no zone (YYYY-MM-DDTHH:MM:SS)"}


def build_spec() -> dict:
    """Return the OpenAPI 3 document as a dict."""
    about = ("Offline-first sync for field-visit records. Records and photos are keyed by "
             "client UUIDs; replays are idempotent.")
    spec = APISpec("fieldlog sync API", "1.0.0", "3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": about})
    spec.components.security_scheme("device", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("session", {
        "type": "apiKey", "in": "cookie", "name": "session",
        "description": "The browser's session; POST and PUT also need the X-CSRFToken header"})
    for name, schema in (("Error", ErrorSchema), *RECORD_SCHEMAS.values(),
                         ("BatchIn", BatchInSchema), ("BatchOut", BatchOutSchema),
                         ("Household", HouseholdOutSchema), ("Photo", PhotoOutSchema),
                         ("DeviceToken", DeviceTokenOutSchema), ("LoginIn", LoginInSchema),
                         ("DeviceIn", DeviceInSchema), ("FailedPhotos", FailedPhotosOutSchema),
                         ("PhotoIds", PhotoIdsInSchema)):
        spec.components.schema(name, schema=schema)
    spec.path("/api/v1/auth/login", operations={"post": {
        "summary": "Exchange credentials for a device token", "security": [],
        "requestBody": {**_json("LoginIn"), "required": True},
        "responses": {"201": _json("DeviceToken"), **_ERRORS, "429": {
            **_ERRORS["401"], "description": "Too many sign-in attempts; see Retry-After"}}}})
    spec.path("/api/v1/devices", operations={"post": {
        "summary": "Issue a device token to the signed-in browser (session + X-CSRFToken)",
        "security": _SECURED, "requestBody": {**_json("DeviceIn"), "required": False},
        "responses": {"201": _json("DeviceToken"), **_ERRORS}}})
    spec.path("/api/v1/me", operations={"get": {
        "summary": "Who this token belongs to", "security": _SECURED,
        "responses": {"200": _inline(_ME, "The user"), **_ERRORS}}})
    spec.path("/api/v1/sync", operations={"post": {
        "summary": "Apply a batch of records of any type; answered per record, in order. "
                   "An edit resends a record's id with base_version",
        "security": _SECURED, "requestBody": {**_json("BatchIn"), "required": True},
        "responses": {"200": _json("BatchOut"), **_ERRORS}}})
    spec.path("/api/v1/photos/{photo_id}", operations={"put": {
        "summary": "Upload one photo of a record; idempotent by photo UUID",
        "security": _SECURED,
        "parameters": [{"in": "path", "name": "photo_id", "required": True,
                        "schema": {"type": "string", "format": "uuid"}}],
        "requestBody": _photo_upload(),
        "responses": {"200": _json("Photo", "A replay of the same upload"),
                      "201": _json("Photo", "Stored"), **_ERRORS}}})
    spec.path("/api/v1/photos/failed", operations={"get": {
        "summary": "The caller's photos that failed processing, not yet acknowledged",
        "security": _SECURED, "responses": {"200": _json("FailedPhotos"), **_ERRORS}}})
    spec.path("/api/v1/photos/failed/seen", operations={"post": {
        "summary": "Acknowledge failed photos the phone has shown",
        "security": _SECURED, "requestBody": {**_json("PhotoIds"), "required": True},
        "responses": {"200": _inline({
            "type": "object", "required": ["acknowledged"],
            "properties": {"acknowledged": {"type": "integer"}}}), **_ERRORS}}})
    spec.path("/api/v1/households", operations={"get": {
        "summary": "Households of the secretary's village (empty for other roles)",
        "security": _SECURED,
        "responses": {"200": _inline({
            "type": "object", "required": ["households"], "properties": {
                "households": {"type": "array",
                               "items": {"$ref": "#/components/schemas/Household"}}}}),
            **_ERRORS}}})
    spec.path("/api/v1/openapi.json", operations={"get": {
        "summary": "This document", "security": [],
        "responses": {"200": _inline({"type": "object"}, "The OpenAPI document")}}})
    doc = spec.to_dict()
    _describe_as_sent(doc)
    return doc
