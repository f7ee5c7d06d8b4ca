"""The fault harness's server process: the real app on a file SQLite DB, killable at will.

`python -m tests.faults.serve` reads FAULT_DB, FAULT_PHOTOS, FAULT_PORT and FAULT_SW_BUILD from
the environment (tests/faults/server.py sets them). FAULT_SW_BUILD > 0 stands for a new deploy:
the worker script gets a new CACHE_VERSION, so the browser installs it and swaps its caches.
FIELDLOG_FAULT_POINTS (fieldlog/faultpoints.py) lets the harness make it die at a chosen point.
"""
import os
import sys

from werkzeug.serving import make_server


def _travel() -> None:
    """Follow the suite's travelled clock (FIELDLOG_TODAY), as the in-process servers do."""
    from tests.conftest import travelled_now

    if start := travelled_now():
        import time_machine

        time_machine.travel(start, tick=True).start()


def main() -> None:
    _travel()
    from fieldlog import create_app
    from fieldlog.views import pwa

    build = int(os.environ.get("FAULT_SW_BUILD", "0"))
    if build:
        original = pwa.service_worker_source

        def rebuilt() -> str:
            return original().replace('const CACHE_VERSION = "',
                                      f'const CACHE_VERSION = "b{build}-', 1)

        pwa.service_worker_source = rebuilt
    app = create_app({"TESTING": True,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{os.environ['FAULT_DB']}",
                      "PHOTO_DIR": os.environ["FAULT_PHOTOS"], "SECRET_KEY": "faults-secret",
                      "SERVER_NAME": None, "RATELIMIT_ENABLED": False})
    server = make_server("127.0.0.1", int(os.environ["FAULT_PORT"]), app, threaded=True)
    print("ready", flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
