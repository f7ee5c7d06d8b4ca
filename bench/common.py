"""Set-up shared by the benchmark scripts."""
import tempfile
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from fieldlog import create_app

ROOT = Path(__file__).resolve().parent.parent


def migrated_app(url: str, prefix: str, **config) -> Flask:
    """Return an app on an empty, migrated database at `url`, with photos in a temp folder."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PHOTO_DIR": str(tmp / "photos"),
                      "SECRET_KEY": "bench", **config})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    return app
