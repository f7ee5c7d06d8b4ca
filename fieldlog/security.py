"""Security headers on every response; the CSP allows no inline script.

Whatever a signed-in user (a session, or a phone's device token) is answered is `no-store`
unless the view chose otherwise: pages and JSON show villagers' names, phones and requests,
and a shared phone or a proxy must not keep them. The service worker keeps its own offline
copies of the phone's pages in its own cache (the Cache API does not read Cache-Control).
"""
from flask import Flask, Response, g, request
from flask_login import current_user

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    "connect-src 'self'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def csp_with_images(origins: list[str]) -> str:
    """Return the CSP with extra image origins (the map page's tile server, nothing else)."""
    return CSP.replace("img-src 'self' blob: data:",
                       " ".join(["img-src 'self' blob: data:", *origins]), 1)


HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "geolocation=(self), camera=(self), microphone=()",
}
# The app's own scripts, styles and icons are not documents: CSP, framing, referrer and
# permissions policies apply to a page (and to the service worker, served by a view), so a
# static file carries nosniff alone (~500 bytes less on each of a phone's ~40 precached files).
# An SVG or HTML file could be opened as a document, so it keeps them all.
DOCUMENT_TYPES = {"text/html", "image/svg+xml"}
FILE_HEADERS = {"X-Content-Type-Options": "nosniff"}
UNCACHED_EXEMPT = {"static"}  # the app's own files; they carry no personal data


def _signed_in() -> bool:
    """Whether the request came with a user: a session, or a device token the API accepted."""
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return True
    # Every view that shows personal data has loaded the user (login_required, roles_required);
    # loading it here for others could fail after an error or query for nothing.
    return "_login_user" in g and current_user.is_authenticated


def register_security_headers(app: Flask) -> None:
    """Add the security headers to every response that lacks them."""

    @app.after_request
    def add_headers(response: Response) -> Response:
        document = request.endpoint != "static" or response.mimetype in DOCUMENT_TYPES
        for name, value in (HEADERS if document else FILE_HEADERS).items():
            response.headers.setdefault(name, value)
        if request.endpoint not in UNCACHED_EXEMPT and "Cache-Control" not in response.headers \
                and _signed_in():
            response.headers["Cache-Control"] = "no-store"
            response.no_store_by_default = True  # not a view's own choice: compression may go on
        if request.is_secure:  # over HTTPS (directly, or via a trusted proxy's X-Forwarded-Proto)
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
