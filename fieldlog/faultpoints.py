"""Test-only fault points: the fault-injection harness (tests/faults/) kills the server here.

Inert in production: unless the environment names a file in FIELDLOG_FAULT_POINTS when the
process starts, `reached()` returns at once and reads nothing. When it is set, the harness
writes the names of armed points into that file; a process that reaches an armed point dies on
the spot (`os._exit`, as a power cut or the OOM killer would), e.g. `sync.after_commit`: the
batch is committed but the phone never hears the answer. The harness disarms the file before
it restarts the server.

Points: sync.before_commit, sync.after_commit (services/records/sync.py),
photo.after_store (files written, no row yet), photo.after_commit (services/records/uploads.py).
"""
import os
from pathlib import Path

_ARMED_FILE = os.environ.get("FIELDLOG_FAULT_POINTS") or None
EXIT_CODE = 86


def reached(name: str) -> None:
    """Die here if the harness armed the point `name`; otherwise do nothing."""
    if _ARMED_FILE is None:
        return
    try:
        armed = Path(_ARMED_FILE).read_text().split()
    except OSError:
        return
    if name in armed:
        os._exit(EXIT_CODE)
