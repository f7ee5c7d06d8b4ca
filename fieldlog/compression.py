"""Compressed answers (brotli, gzip) for text: pages, JSON, CSS, JS, SVG, the web manifest.

Not compressed: images and photos (already compressed), answers streamed from a generator
(the CSV/XLSX exports stream 100,000 rows and must not be held back), and answers marked
`Cache-Control: no-store` by their view (a phone number revealed once, a one-time password:
see docs/security.md, BREACH). The `no-store` every signed-in answer gets by default
(`fieldlog/security.py`) does not stop compression: it keeps pages out of shared caches, it does
not mark a secret.
"""
from flask import Flask, Response

from fieldlog.extensions import compress

MIMETYPES = [
    "text/html",
    "text/css",
    "text/plain",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/problem+json",
    "application/manifest+json",
    "image/svg+xml",
]


def register_compression(app: Flask) -> None:
    """Compress what is worth it; register before every other after-request hook so it runs last."""
    app.config.setdefault("COMPRESS_MIMETYPES", MIMETYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "gzip"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    app.config["COMPRESS_REGISTER"] = False  # our hook below decides, then calls it
    compress.init_app(app)

    @app.after_request
    def compress_response(response: Response) -> Response:
        if response.status_code != 200:
            return response  # nothing to gain on redirects and errors; never on a byte range
        if response.is_streamed:
            text = response.mimetype in app.config["COMPRESS_MIMETYPES"]
            if not (response.direct_passthrough and text):
                return response  # a generator (the exports) or a photo: sent as it comes
            # A text file from disk (static/, at most a few hundred KB): read it whole, so it
            # is compressed in one go and the file is closed with the response.
            response.direct_passthrough = False
            response.make_sequence()
        if response.cache_control.no_store and not getattr(response, "no_store_by_default",
                                                               False):
            return response  # the view marked a secret shown once
        return compress.after_request(response)
