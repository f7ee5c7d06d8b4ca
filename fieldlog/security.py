"""Security headers on every response; the CSP allows no inline script."""
from flask import Flask, Response, request

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


def register_security_headers(app: Flask) -> None:
    """Add the security headers to every response that lacks them."""

    @app.after_request
    def add_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:  # over HTTPS (directly, or via a trusted proxy's X-Forwarded-Proto)
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
