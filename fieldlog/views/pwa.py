"""The installable-app plumbing: service worker at the root scope, manifest, offline page."""
from flask import Blueprint, current_app, jsonify, render_template, send_from_directory

from fieldlog.assets import service_worker_source
from fieldlog.services.common.health import database_answers

bp = Blueprint("pwa", __name__)


@bp.get("/sw.js")
def service_worker():
    """The worker at a stable URL, never cached, with today's fingerprinted names filled in."""
    response = current_app.response_class(service_worker_source(), mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    return send_from_directory(current_app.static_folder, "manifest.webmanifest",
                               mimetype="application/manifest+json", max_age=3600)


@bp.get("/offline")
def offline():
    return render_template("pwa/offline.html")


@bp.get("/healthz")
def health():
    """Answer 200 when this process and its database can serve, else 503 (no personal data)."""
    ok = database_answers()
    response = jsonify({"status": "ok" if ok else "database_unavailable"})
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if ok else 503
