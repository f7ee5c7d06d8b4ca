"""A live server in a separate process that the harness can kill (SIGKILL) and restart on the
same port, database and photo folder."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RestartableServer:
    def __init__(self, db_path: Path, photo_dir: Path, folder: Path):
        self.db_path, self.photo_dir, self.folder = db_path, photo_dir, folder
        self.port = free_port()
        self.points_file = folder / "fault-points"
        self.points_file.write_text("")
        self.log = folder / "server.log"
        self.sw_build = 0
        self.proc: subprocess.Popen | None = None
        self.restarts = 0

    def start(self) -> None:
        env = {**os.environ, "FAULT_DB": str(self.db_path), "FAULT_PHOTOS": str(self.photo_dir),
               "FAULT_PORT": str(self.port), "FAULT_SW_BUILD": str(self.sw_build),
               "FIELDLOG_FAULT_POINTS": str(self.points_file), "PYTHONDONTWRITEBYTECODE": "1"}
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "tests.faults.serve"], cwd=ROOT,
                                         env=env, stdout=subprocess.PIPE, stderr=log, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"fault server did not start; see {self.log}")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # listening (the socket binds before "ready")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("fault server is not listening")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """Kill the process at once (no clean shutdown), as a power cut would."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)
            self.proc.stdout.close()

    def wait_dead(self, timeout: float) -> bool:
        """Wait for the process to die at an armed fault point; True if it did."""
        try:
            self.proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def arm(self, *points: str) -> None:
        self.points_file.write_text(" ".join(points))

    def restart(self) -> None:
        self.kill()
        self.arm()  # disarmed before it starts again
        self.start()
        self.restarts += 1

    def stop(self) -> None:
        self.kill()
