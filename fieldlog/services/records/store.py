"""The app's photo store, built once per process from its configuration."""
from flask import current_app

from fieldlog.storage import STORE_SETTINGS, PhotoStore, store_from_config


def photo_store() -> PhotoStore:
    """Return the configured photo store (a local folder unless PHOTO_STORE names another)."""
    # Kept per app: an S3 client is costly to build and safe to share between threads. Built
    # on first use, so each gunicorn worker makes its own after the fork.
    settings = tuple(current_app.config.get(name) for name in STORE_SETTINGS)
    cached = current_app.extensions.get("fieldlog.photo_store")
    if cached is None or cached[0] != settings:
        cached = (settings, store_from_config(current_app.config))
        current_app.extensions["fieldlog.photo_store"] = cached
    return cached[1]
