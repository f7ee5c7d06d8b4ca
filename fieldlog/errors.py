"""Domain errors and the one JSON error shape: {"error": code, "message": text, "fields": {...}}."""
from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException


class FieldlogError(Exception):
    """A domain error a view turns into a message or a status code."""

    status = 400
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.fields = fields or {}

    def to_dict(self) -> dict:
        return {"error": self.code, "message": self.message, "fields": self.fields}


class Invalid(FieldlogError):
    status = 422
    code = "invalid"


class Forbidden(FieldlogError):
    status = 403
    code = "forbidden"


class NotFound(FieldlogError):
    status = 404
    code = "not_found"


class Conflict(FieldlogError):
    status = 409
    code = "conflict"


class QuotaExceeded(FieldlogError):
    status = 429
    code = "quota_exceeded"


class Unavailable(FieldlogError):
    status = 503
    code = "unavailable"


def error_response(code: str, message: str, status: int, fields: dict | None = None):
    """Build the API's one error shape."""
    response = jsonify({"error": code, "message": message, "fields": fields or {}})
    response.status_code = status
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register_error_handlers(app: Flask) -> None:
    """Answer API errors as JSON; pages keep Flask's HTML errors."""

    @app.errorhandler(FieldlogError)
    def handle_domain_error(exc: FieldlogError):
        return error_response(exc.code, exc.message, exc.status, exc.fields)

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        if not _wants_json():
            return exc
        if exc.code == 413:
            return error_response("too_large", "The upload is larger than the server accepts.", 413)
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(code, exc.description or exc.name, exc.code or 500)
