"""An evening in a province, for locust: cadres sync, supervisors review, inspectors sample.

    make load USERS=312 DURATION=5m      # the stack from bench/stack.py on :8000

Users: 10 supervisors (sup01…sup10; LOAD_SUPERVISORS), 2 inspectors (insp01…;
LOAD_INSPECTORS), the rest cadres; cadre n of the
run signs in as `cadre<n>` of the generated county (bench/load/county.py), so every cadre is a
distinct secretary of their own village and the scope checks are the real ones (beyond 300
the accounts are shared round). A cadre signs in once (a session, then a device token, as the
PWA does), then, every LOAD_WAIT seconds: syncs 1–6 records of mixed types, uploads the
visits' 0–3 phone-sized photos, opens home. A sync or upload that fails is sent again, as the
outbox does. Every record and photo the server acknowledged is written to LOAD_ACCEPTED when
the run stops, for bench/load/count.py to find in the database exactly once.

Each user sends its own X-Forwarded-For address (the stack trusts one proxy hop), so the
sign-in limits per address are the real ones too.
"""
from __future__ import annotations

import itertools
import json
import os
import random
import re
import tempfile
import time
from pathlib import Path

from locust import FastHttpUser, between, events, task

from bench.load.county import CADRES, PASSWORD, village_of
from bench.load.payloads import evening_batch, phone_photos

WAIT = tuple(float(x) for x in os.environ.get("LOAD_WAIT", "10,30").split(","))
ACCEPTED_FILE = Path(os.environ.get("LOAD_ACCEPTED", "instance/stack/load-accepted.json"))
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
RETRIES = 3

_numbers = {"cadre": itertools.count(1), "sup": itertools.count(1), "insp": itertools.count(1)}
_addresses = itertools.count(1)
accepted: dict[str, set[str]] = {"records": set(), "photos": set(), "sent": set()}
refused: list[dict] = []
photos: list[bytes] = []


@events.test_start.add_listener
def _make_photos(environment, **_kwargs) -> None:
    if not photos:
        photos.extend(phone_photos(Path(tempfile.gettempdir()) / "fieldlog-load-photos"))
    accepted["started_at"] = time.time()  # type: ignore[assignment]


@events.test_stop.add_listener
def _write_accepted(environment, **_kwargs) -> None:
    ACCEPTED_FILE.parent.mkdir(parents=True, exist_ok=True)
    ACCEPTED_FILE.write_text(json.dumps({
        "started_at": accepted.get("started_at"), "stopped_at": time.time(),
        "records": sorted(accepted["records"]), "photos": sorted(accepted["photos"]),
        "sent": sorted(accepted["sent"]),
        "refused": refused[:50]}))
    print(f"\n{len(accepted['records'])} records and {len(accepted['photos'])} photos "
          f"acknowledged; {len(refused)} refused; written to {ACCEPTED_FILE}")
    print_percentiles(environment.stats)


def print_percentiles(stats) -> None:
    """Print p50/p95/p99 per endpoint (ms) and the failures, one line each."""
    print(f"{'endpoint':<28}{'requests':>9}{'fail':>6}{'p50':>7}{'p95':>7}{'p99':>7}{'max':>8}")
    for entry in sorted(stats.entries.values(), key=lambda e: e.name):
        print(f"{entry.method + ' ' + entry.name:<28}{entry.num_requests:>9}"
              f"{entry.num_failures:>6}{entry.get_response_time_percentile(0.5):>7.0f}"
              f"{entry.get_response_time_percentile(0.95):>7.0f}"
              f"{entry.get_response_time_percentile(0.99):>7.0f}{entry.max_response_time:>8.0f}")


class Browser(FastHttpUser):
    """A signed-in person behind their own address."""

    abstract = True
    role = ""

    def on_start(self) -> None:
        n = next(_addresses)
        self.address = f"10.{n // 250 % 250}.{n % 250 + 1}.7"
        self.number = next(_numbers[self.role])
        self.sign_in(self.username())

    def username(self) -> str:
        raise NotImplementedError

    def headers(self, **extra) -> dict:
        return {"X-Forwarded-For": self.address, **extra}

    def page(self, path: str, name: str) -> str:
        with self.client.get(path, headers=self.headers(), name=name,
                             catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"{answer.status_code}")
                return ""
            return answer.text or ""

    def sign_in(self, username: str) -> None:
        token = CSRF.search(self.page("/login", "login page"))
        if not token:
            return  # no answer in time: the next page asks again
        token = token.group(1)
        with self.client.post("/login", data={"csrf_token": token, "username": username,
                                              "password": PASSWORD},
                              headers=self.headers(), name="login", allow_redirects=False,
                              catch_response=True) as answer:
            if answer.status_code != 302:
                answer.failure(f"sign-in as {username}: {answer.status_code}")


class Cadre(Browser):
    """A first secretary's evening: sync what was recorded in the day, photos, home."""

    role = "cadre"
    weight = 1
    wait_time = between(*WAIT)

    def username(self) -> str:
        return f"cadre{(self.number - 1) % CADRES + 1}"

    def on_start(self) -> None:
        super().on_start()
        self.village = village_of((self.number - 1) % CADRES + 1)
        self.rng = random.Random(self.number)
        self.bearer: dict = {}
        self.get_device_token()

    def get_device_token(self) -> None:
        """Ask for a device token as the PWA does after signing in (session + CSRF header)."""
        home = self.page("/m/", "home")
        if 'name="username"' in home:  # the session did not take: sign in again
            self.sign_in(self.username())
            home = self.page("/m/", "home")
        csrf = CSRF.search(home)
        if not csrf:
            return  # the server did not answer in time: try again at the next task
        with self.client.post("/api/v1/devices", json={"label": "load test phone"},
                              headers=self.headers(**{"X-CSRFToken": csrf.group(1)}),
                              name="device", catch_response=True) as answer:
            if answer.status_code != 201:
                answer.failure(f"device token: {answer.status_code}")
                return
            self.bearer = {"Authorization": f"Bearer {answer.json()['token']}"}

    @task
    def evening(self) -> None:
        if not self.bearer:
            self.get_device_token()
            if not self.bearer:
                return
        records, photo_records = evening_batch(self.village, self.rng)
        if self.sync(records):
            for photo_id, record_id in photo_records.items():
                self.upload(photo_id, record_id)
        self.page("/m/", "home")

    def sync(self, records: list[dict]) -> bool:
        accepted["sent"].update(r["id"] for r in records)
        for _attempt in range(RETRIES):
            with self.client.post("/api/v1/sync", json={"records": records}, name="sync",
                                  headers=self.headers(**self.bearer),
                                  catch_response=True) as answer:
                if answer.status_code != 200:
                    answer.failure(f"{answer.status_code}")
                    continue
                for result in answer.json()["results"]:
                    if result["status"] == "stored":
                        accepted["records"].add(f"{result['type']}:{result['id']}")
                    else:
                        refused.append(result)
                        answer.failure(f"record {result['status']}: {result.get('message')}")
                return True
        return False

    def upload(self, photo_id: str, record_id: str) -> None:
        body = self.rng.choice(photos)
        accepted["sent"].add(photo_id)
        for _attempt in range(RETRIES):
            with self.client.request(
                    "PUT", f"/api/v1/photos/{photo_id}", name="photo upload",
                    headers=self.headers(**self.bearer),
                    files={"file": ("photo.jpg", body, "image/jpeg")},
                    data={"record_type": "visit", "record_id": record_id},
                    catch_response=True) as answer:
                if answer.status_code in (200, 201):
                    accepted["photos"].add(photo_id)
                    return
                answer.failure(f"{answer.status_code}")


class Supervisor(Browser):
    """A township supervisor at a desk: progress, the review queue, the map."""

    role = "sup"
    fixed_count = int(os.environ.get("LOAD_SUPERVISORS", 10))
    abstract = fixed_count == 0  # locust would weigh a fixed_count of 0 like a cadre
    wait_time = between(20, 60)  # a desk look every half minute or so, four pages each

    def username(self) -> str:
        return f"sup{(self.number - 1) % 10 + 1:02}"

    @task
    def look(self) -> None:
        self.page("/progress/", "progress")
        self.page("/review/queue", "review queue")
        self.page("/map/", "map")
        self.page("/map/data.json", "map data")


class Inspector(Browser):
    """An inspector drawing a fair sample of last month's records in one township."""

    role = "insp"
    fixed_count = int(os.environ.get("LOAD_INSPECTORS", 2))
    abstract = fixed_count == 0
    wait_time = between(20, 40)

    def username(self) -> str:
        return f"insp{(self.number - 1) % 3 + 1:02}"

    @task
    def sample(self) -> None:
        form = self.page("/inspect/", "inspect")
        match = CSRF.search(form)
        if not match:
            return
        township = random.randint(2, 21)  # one township (15 cadres): every cadre is sampled
        with self.client.post("/inspect/samples", data={
                "csrf_token": match.group(1), "scope": str(township), "size": "30",
                "flag_weight": "3"},
                headers=self.headers(), name="draw sample", allow_redirects=False,
                catch_response=True) as answer:
            if answer.status_code != 302:
                answer.failure(f"{answer.status_code}")
