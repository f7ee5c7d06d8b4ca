"""The installable-app plumbing: service worker at the root scope, manifest, offline page."""
from flask import Blueprint, current_app, render_template, send_from_directory

from fieldlog.assets import service_worker_source

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
