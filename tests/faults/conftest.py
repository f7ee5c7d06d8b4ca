"""Fixtures of the fault harness: a killable server process behind a fault proxy, one browser."""
import os
import shutil
from types import SimpleNamespace

import pytest

from tests.conftest import PASSWORD, travelled_now
from tests.e2e.conftest import _clock_offset_ms, _plain_world
from tests.faults.proxy import FaultProxy
from tests.faults.server import RestartableServer, free_port
from tests.faults.world import ServerView


@pytest.fixture
def fault_rig(sqlite_template, password_hash, tmp_path):
    """A fresh world on a file SQLite DB, served by a separate process, reached through a proxy."""
    from fieldlog import create_app
    from fieldlog.extensions import db
    from tests.fixtures.world import build_world

    path = tmp_path / "faults.db"
    shutil.copy(sqlite_template, path)
    photos = tmp_path / "photos"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "PHOTO_DIR": str(photos), "SECRET_KEY": "faults-secret",
                      "SERVER_NAME": None})
    with app.app_context():
        world = _plain_world(build_world(password_hash))
        db.session.remove()
        db.engine.dispose()
    server = RestartableServer(path, photos, tmp_path)
    server.start()
    proxy = FaultProxy(free_port(), server.port)
    proxy.start()
    try:
        yield SimpleNamespace(server=server, proxy=proxy, view=ServerView(path, photos),
                              world=world, password=PASSWORD,
                              offset_ms=_clock_offset_ms() if travelled_now() else 0)
    finally:
        proxy.stop()
        server.stop()
        if os.environ.get("FAULT_KEEP_LOG"):
            print((tmp_path / "server.log").read_text()[-5000:])
