"""Serve a stored photo after the caller's scope check: streamed through the app, never a URL."""
import logging
from collections.abc import Iterator
from typing import BinaryIO

from flask import Response, abort
from flask_babel import gettext as _
from markupsafe import escape

from fieldlog.services.records.uploads import photo_store

log = logging.getLogger(__name__)
CHUNK = 64 * 1024


class _Chunks:
    """The body of a response: the stream in chunks, closed at its end or when the server
    closes the response (a client gone mid-download), whichever comes first."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[bytes]:
        try:
            while chunk := self.stream.read(CHUNK):
                yield chunk
        finally:
            self.stream.close()

    def close(self) -> None:
        self.stream.close()


def stored_photo(key: str, mimetype: str) -> Response:
    """Stream the object under `key` in chunks (an original may be 25 MB); 404 if it is gone,
    503 if the store cannot be reached."""
    try:
        stored = photo_store().open(key)
    except KeyError:
        log.warning("photo object %s is missing from the store", key)
        abort(404)
    except OSError as exc:  # the store is down or refused: try again later, not a crash
        log.error("photo object %s unreadable: %s", key, exc)
        abort(503)
    response = Response(_Chunks(stored.stream), mimetype=mimetype, direct_passthrough=True)
    response.content_length = stored.size
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


_PENDING_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240" \
viewBox="0 0 320 240">\
<rect width="320" height="240" rx="12" fill="#e9f1fc"/>\
<text x="160" y="128" font-family="sans-serif" font-size="22" fill="#1f5fbf" \
text-anchor="middle">{text}</text></svg>"""


def pending_photo() -> Response:
    """Answer for a photo still processing: 202 and a placeholder image, never cached, so the
    browser asks again and gets the real picture once the photo job has made it."""
    body = _PENDING_SVG.format(text=escape(_("Processing")))
    response = Response(body, status=202, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Retry-After"] = "5"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
