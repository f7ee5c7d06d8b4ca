"""Domain errors and the one JSON error shape: {"error": code, "message": text, "fields": {...}}."""
from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
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


# What an error page says, by status; any other status reads like a 400.
_PAGES = {
    400: (_l("The request could not be understood"),
          _l("Something in the form or the address was not right. Go back and try again.")),
    403: (_l("You have no permission for this page"),
          _l("Your role or your area does not include this page or record.")),
    404: (_l("Page not found"),
          _l("The address may be mistyped, or the record is not in your area.")),
    405: (_l("The request could not be understood"),
          _l("Something in the form or the address was not right. Go back and try again.")),
    413: (_l("The file is too large"),
          _l("The server does not accept an upload this large. Choose a smaller file.")),
    500: (_l("Something went wrong"),
          _l("The server could not finish this request. Try again in a moment; if it "
             "happens again, tell your administrator.")),
}


_CSRF_PAGE = (_l("The form has expired"),
              _l("For your safety the form must be loaded again: go back, reload the page and "
                 "send it again."))


def _error_page(status: int, page: tuple | None = None, detail: str = ""):
    """Render an error in the app's layout and the reader's language, with a way home."""
    if status >= 500:
        from fieldlog.extensions import db

        db.session.rollback()  # the failed request may have left the session unusable
    title, text = page or _PAGES.get(status, _PAGES[500 if status >= 500 else 400])
    return render_template("errors/error.html", status=status, title=title, text=text,
                           detail=detail), status


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register_error_handlers(app: Flask) -> None:
    """Answer API errors as JSON, and page errors with the app's own page."""

    @app.errorhandler(FieldlogError)
    def handle_domain_error(exc: FieldlogError):
        return error_response(exc.code, exc.message, exc.status, exc.fields)

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        if not _wants_json():
            if exc.code is None or exc.code < 400 or exc.response is not None:
                return exc
            if isinstance(exc, CSRFError):  # the technical reason, for whoever helps them
                return _error_page(exc.code, _CSRF_PAGE, exc.description or "")
            return _error_page(exc.code)
        if exc.code == 413:
            return error_response("too_large", "The upload is larger than the server accepts.", 413)
        code = (exc.name or "error").lower().replace(" ", "_")
        response = error_response(code, exc.description or exc.name, exc.code or 500)
        # Keep what the exception says about itself (Allow on a 405, Retry-After, WWW-Authenticate).
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response
