"""Input hygiene applied once for every request, so no view or service has to remember it."""
import json

from flask import Flask, abort, request
from flask.json.provider import DefaultJSONProvider


class SafeJSONProvider(DefaultJSONProvider):
    """Treat JSON nested too deeply to parse as malformed (a 4xx), not a RecursionError (500)."""

    def loads(self, s, **kwargs):
        try:
            return json.loads(s, **kwargs)
        except RecursionError as exc:
            raise ValueError("JSON is nested too deeply.") from exc


def _holds_nul(values) -> bool:
    return any("\x00" in value for value in values)


def register_input_guards(app: Flask) -> None:
    """Refuse NUL characters in query strings and form fields (PostgreSQL cannot store them)."""

    @app.before_request
    def refuse_nul():
        if _holds_nul(request.args.values()) or (
                request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")
                and _holds_nul(request.form.values())):
            abort(400, description="The request contains a NUL character.")
