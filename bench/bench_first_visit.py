"""Bytes and time from a secretary's first visit to "offline-ready", on a slow phone network.

Usage: .venv/bin/python bench/bench_first_visit.py [--kbps 400] [--rtt-ms 400] [--runs 3]

Serves the app with gunicorn (gthread, keep-alive, as behind a reverse proxy) on the test
world (SQLite); `--app-root` serves another checkout (main, for a "before"). Drives Debian's
Chromium (Playwright, phone 390×844, empty profile) through: open /login, sign in as a
secretary, land on home, and wait until app.js marks the page offline-ready
(`<html data-offline-ready="1">`: the service worker has precached the shell and cached
every page in WARM_URLS); on the way it notes when the page was marked `data-offline-core`
(the shell and the four pages recording a visit offline needs: home, households, the visit
form, the outbox, which app.js warms first).

The network is emulated by a TCP relay between the browser and the server, not by DevTools:
`Network.emulateNetworkConditions` throttles only the page's own target, while most of the
bytes here are fetched by the service worker (precache, warm-up), which it would not slow
down. The relay shares one link of `--kbps` in each direction among all connections and
delays every chunk by half the round trip each way (connection set-up costs one round trip).
It counts the bytes that cross it towards the phone, headers included: what a data plan pays.
Prints, per run and as the median: bytes to the phone (and from it), requests, time from
opening /login to offline-ready and from pressing "sign in" to offline-ready.
"""
import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, migrated_app  # noqa: E402
from fieldlog.extensions import db  # noqa: E402
from fieldlog.services.people.auth import hash_password  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE  # noqa: E402
from tests.fixtures.world import build_world  # noqa: E402

PASSWORD = "bench-password-1"
SECRETARY = "sec1"
READY_TIMEOUT_MS = 180_000


class Link:
    """One direction of the phone's link: a shared rate, a fixed one-way delay, a byte count."""

    def __init__(self, bytes_per_s: float, delay_s: float) -> None:
        self.rate, self.delay = bytes_per_s, delay_s
        self.free_at = 0.0
        self.bytes = 0

    def schedule(self, size: int) -> float:
        """Return when a chunk of `size` bytes sent now arrives at the other end."""
        now = time.monotonic()
        start = max(now, self.free_at)
        self.free_at = start + size / self.rate
        self.bytes += size
        return self.free_at + self.delay


class SlowRelay:
    """A TCP relay on 127.0.0.1 that behaves like a slow mobile link to `target_port`."""

    def __init__(self, target_port: int, kbps: float, rtt_ms: float) -> None:
        rate = kbps * 1000 / 8
        self.down = Link(rate, rtt_ms / 2000)  # server → phone
        self.up = Link(rate, rtt_ms / 2000)  # phone → server
        self.rtt = rtt_ms / 1000
        self.target_port = target_port
        self.connections = 0
        self.loop = asyncio.new_event_loop()
        self.port = None
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True, name="slow-relay").start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    def reset(self) -> None:
        self.down.bytes = self.up.bytes = self.connections = 0

    async def _handle(self, phone_r, phone_w) -> None:
        self.connections += 1
        await asyncio.sleep(self.rtt)  # the TCP handshake
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(self._pipe(phone_r, server_w, self.up),
                             self._pipe(server_r, phone_w, self.down))

    async def _pipe(self, reader, writer, link: Link) -> None:
        queue: asyncio.Queue = asyncio.Queue()

        async def deliver() -> None:
            while (item := await queue.get()) is not None:
                at, data = item
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                writer.write(data)
                await writer.drain()
            writer.close()

        delivery = asyncio.ensure_future(deliver())
        try:
            while data := await reader.read(16384):
                queue.put_nowait((link.schedule(len(data)), data))
        except (ConnectionError, OSError):
            pass
        queue.put_nowait(None)
        try:
            await delivery
        except (ConnectionError, OSError):
            pass


def serve_app(root: Path) -> tuple[subprocess.Popen, int]:
    """Serve the checkout at `root` with gunicorn (threads, keep-alive, as behind a proxy)
    on a SQLite copy of the test world; return the process and its port."""
    folder = Path(tempfile.mkdtemp(prefix="bench-first-visit-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    app = migrated_app(url, "bench-first-visit-")
    with app.app_context():
        build_world(hash_password(PASSWORD))
        db.session.remove()
        db.engine.dispose()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-first-visit",
           "PHOTO_DIR": str(folder / "photos")}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers", "2",
         "--threads", "8", "--keep-alive", "75", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "app:app"], cwd=root, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, port
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start")


def first_visit(browser, relay: SlowRelay, think_s: float = 0.0) -> dict:
    """Sign in on an empty phone profile; measure until the app says it is offline-ready."""
    relay.reset()
    base = f"http://127.0.0.1:{relay.port}"
    context = browser.new_context(base_url=base, **PHONE)
    page = context.new_page()
    requests = []
    context.on("requestfinished", lambda request: requests.append(request.url))
    try:
        start = time.monotonic()
        page.goto("/login")
        page.get_by_test_id("login-username").fill(SECRETARY)
        page.get_by_test_id("login-password").fill(PASSWORD)
        page.wait_for_timeout(think_s * 1000)  # a person typing: the worker installs meanwhile
        submitted = time.monotonic()
        page.get_by_test_id("login-submit").click()
        page.wait_for_url(lambda url: "/login" not in url)
        page.wait_for_selector("html[data-offline-core='1']", state="attached",
                               timeout=READY_TIMEOUT_MS)
        core = time.monotonic()
        page.wait_for_selector("html[data-offline-ready='1']", state="attached",
                               timeout=READY_TIMEOUT_MS)
        ready = time.monotonic()
        return {"down": relay.down.bytes, "up": relay.up.bytes, "requests": len(requests),
                "connections": relay.connections, "core_s": core - start,
                "total_s": ready - start, "after_submit_s": ready - submitted}
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kbps", type=float, default=400)
    parser.add_argument("--rtt-ms", type=float, default=400)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--think-s", type=float, default=0.0,
                        help="seconds spent typing the password (default: none, worst case)")
    parser.add_argument("--app-root", type=Path, default=ROOT,
                        help="the checkout to serve (e.g. a worktree of main, for 'before')")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    server, port = serve_app(args.app_root)
    relay = SlowRelay(port, args.kbps, args.rtt_ms)
    print(f"serving {args.app_root}; link: {args.kbps:g} kbps each way, "
          f"{args.rtt_ms:g} ms round trip; "
          f"secretary {SECRETARY}, phone {PHONE['viewport']['width']}×"
          f"{PHONE['viewport']['height']}")
    runs = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for n in range(args.runs):
                run = first_visit(browser, relay, args.think_s)
                runs.append(run)
                print(f"run {n + 1}: {run['down'] / 1024:7.1f} KiB to the phone, "
                      f"{run['up'] / 1024:5.1f} KiB from it, {run['requests']} requests, "
                      f"{run['connections']} connections; a visit offline {run['core_s']:5.1f} s, "
                      f"offline-ready {run['total_s']:5.1f} s "
                      f"after opening /login, {run['after_submit_s']:5.1f} s after signing in")
        finally:
            browser.close()
            server.terminate()
            server.wait(timeout=30)
    median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    print(f"median: {median['down'] / 1024:.1f} KiB to the phone; a visit can be recorded "
          f"offline after {median['core_s']:.1f} s; offline-ready in "
          f"{median['total_s']:.1f} s ({median['after_submit_s']:.1f} s after signing in)")


if __name__ == "__main__":
    main()
