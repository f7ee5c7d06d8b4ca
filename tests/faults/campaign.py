"""Randomized fault cycles from a seed against a real browser and a killable server.

Each cycle: the phone saves records of mixed types (visits with 0-3 photos, meetings, ledger
items and updates, leave) through the app's own outbox while 1-3 faults strike; then every fault
is lifted, the network comes back, and the harness waits until the phone has sent everything.
After every cycle it compares the phone's IndexedDB outbox with the server's database and photo
folder: nothing lost, nothing twice, no photo missing or orphaned, nothing left waiting.
A cycle's plan comes from random.Random(f"{seed}:{cycle}"): a failing seed reproduces.
"""
import base64
import os
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from tests.faults import page_js
from tests.faults.world import Saved, ServerView, _hex

KINDS = ["kill_before_commit", "kill_after_commit", "kill_photo_store", "kill_random",
         "cut_upload", "lose_sync_response", "lose_photo_response", "reload_mid_sync",
         "close_mid_sync", "two_tabs", "offline_flap", "sw_update", "clock_skew", "quota",
         "token_revoked", "signed_out"]
NEEDS_PHOTOS = {"kill_photo_store", "cut_upload", "lose_photo_response"}
PHOTOS = ["jpg_gps_DSCN0010.jpg", "jpg_gps_DSCN0021.jpg", "jpg_orientation_landscape_3.jpg",
          "jpg_orientation_portrait_6.jpg"]
DAY_MS = 86_400_000
# What a kind's row in the table needs said.
NOTES = {"quota": "  [QuotaExceededError raised by the outbox put: Chromium ignores "
                  "Storage.overrideQuotaForOrigin for IndexedDB]"}
SETTLE_TIMEOUT = float(os.environ.get("FAULT_SETTLE_S", "90"))


@dataclass
class Tally:
    cycles: int = 0
    planned: Counter = field(default_factory=Counter)  # faults a cycle's plan chose
    faults: Counter = field(default_factory=Counter)  # faults that struck (checked, per kind)
    records: int = 0
    photos: int = 0
    refused_at_save: int = 0  # quota: the phone said so, the form keeps the content
    lost: int = 0
    duplicated: int = 0
    photos_missing: int = 0
    photos_orphaned: int = 0
    stuck: int = 0
    failed: int = 0  # refused by the server for good (visible, with a reason)
    longest_settle: float = 0.0
    problems: list[str] = field(default_factory=list)

    def table(self, seed, seconds: float) -> str:
        rows = [("seed", seed), ("cycles", self.cycles),
                ("faults that struck", sum(self.faults.values()))]
        for k in KINDS:
            if self.planned[k]:
                missed = self.planned[k] - self.faults[k]
                rows.append((f"  {k}", f"{self.faults[k]}" + (
                    f"  (planned {self.planned[k]}; {missed} did not strike, not counted)"
                    if missed else "") + NOTES.get(k, "")))
        rows += [("records saved", self.records), ("photos saved", self.photos),
                 ("saves refused for quota (user told)", self.refused_at_save),
                 ("lost (goal 0)", self.lost), ("duplicated (goal 0)", self.duplicated),
                 ("photos missing (goal 0)", self.photos_missing),
                 ("photos orphaned (goal 0)", self.photos_orphaned),
                 ("stuck after recovery (goal 0)", self.stuck),
                 ("refused by the server (needs action)", self.failed),
                 ("longest network back -> synced (s)", f"{self.longest_settle:.1f}"),
                 ("wall time (s)", f"{seconds:.0f}"),
                 ("seconds per cycle", f"{seconds / max(1, self.cycles):.1f}")]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


class Campaign:
    def __init__(self, *, browser, server, proxy, view: ServerView, world, photos_dir,
                 password: str, seed, base_offset_ms: int = 0, log=print):
        self.browser, self.server, self.proxy, self.view = browser, server, proxy, view
        self.world, self.password, self.seed, self.log = world, password, seed, log
        self.base_url = f"http://127.0.0.1:{proxy.listen_port}"
        self.base_offset_ms = base_offset_ms
        self.photo_b64 = {n: base64.b64encode((photos_dir / n).read_bytes()).decode()
                          for n in PHOTOS}
        self.saved: list[Saved] = []
        self.open_items: list[str] = []  # ledger items on the server, for updates
        self.given_up: set[str] = set()  # outbox items counted stuck for good
        self.tally = Tally()
        self.context = None
        self.page = None
        self.leave_slot = 0

    # --- the phone ---

    def open_phone(self) -> None:
        from tests.e2e.conftest import PHONE

        self.context = self.browser.new_context(base_url=self.base_url, **PHONE)
        self.context.add_init_script(page_js.SKEWED_DATE % self.base_offset_ms)
        self.context.set_default_timeout(20_000)
        self.context.set_default_navigation_timeout(30_000)
        self.page = self.context.new_page()
        self.sign_in(self.page)
        self.page.wait_for_selector("html[data-offline-ready='1']", state="attached",
                                    timeout=60_000)

    def sign_in(self, page) -> None:
        page.goto("/login")
        field = page.get_by_test_id("login-username")
        try:
            field.wait_for(timeout=10_000)
        except Exception:  # noqa: BLE001 - say what the phone showed instead, then go on
            shot = self.server.folder / f"sign-in-{len(self.tally.problems)}.png"
            page.screenshot(path=str(shot))
            self.problem(f"sign-in page did not show the form: at {page.url}, "
                         f"{page.locator('body').inner_text()[:200]!r} ({shot})")
            page.goto("/login")
            if "/login" not in page.url or not field.count():
                return  # the campaign goes on; the problem is on record
        field.fill("sec1")
        page.get_by_test_id("login-password").fill(self.password)
        page.get_by_test_id("login-submit").click()
        page.wait_for_url("**/m/")

    def close(self) -> None:
        if self.context is not None:
            self.context.close()

    def home(self, page=None):
        page = page or self.page
        page.goto("/m/", wait_until="domcontentloaded")
        page.wait_for_selector("body[data-user-id]", state="attached")
        return page

    def outbox(self, page=None) -> list[dict]:
        for _ in range(3):
            try:
                return (page or self.page).evaluate(page_js.OUTBOX)
            except Exception:  # noqa: BLE001 - the page navigated under us: read again
                time.sleep(0.3)
        return (page or self.page).evaluate(page_js.OUTBOX)

    def set_skew(self, ms: int) -> None:
        self.page.evaluate(f"() => localStorage.setItem('fault-skew-ms', '{ms}')")

    # --- records ---

    def plan_records(self, rng: random.Random, cycle: int, with_photos: bool) -> list[dict]:
        specs = []
        for n in range(rng.randint(2, 5)):
            kind = rng.choice(["visit", "visit", "meeting", "ledger_item", "ledger_update",
                               "leave"])
            if kind == "ledger_update" and not self.open_items:
                kind = "ledger_item"
            if n == 0 and with_photos:
                kind = "visit"
            rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            loc = {"lat": 26.5805 + rng.random() / 1000, "lon": 106.7102, "accuracy_m": 12.0}
            record = {"type": kind, "id": rid}
            spec = {"minutes_ago": rng.randint(1, 120), "photos": [], "label": f"c{cycle} {kind}"}
            if kind == "visit":
                household = rng.choice(self.world.households_v1)
                count = (rng.randint(1, 3) if with_photos and n == 0
                         else rng.choice([0, 0, 1, 2, 3]))
                spec["photos"] = [{"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                                   "name": rng.choice(PHOTOS)} for _ in range(count)]
                record.update(household_id=household.id, heard=f"第{cycle}轮走访：家中情况平稳。",
                              requests="", follow_up=False, location=loc,
                              photo_ids=[p["id"] for p in spec["photos"]])
            elif kind == "meeting":
                record.update(meeting_type="branch_committee", place="村委会议室", host="王书记",
                              expected_count=7, attended_count=rng.randint(3, 7),
                              topics=f"第{cycle}轮：研究排水沟修缮", location=loc, photo_ids=[])
            elif kind == "ledger_item":
                record.update(content=f"第{cycle}轮诉求：修缮村道", category="infrastructure",
                              location=loc)
            elif kind == "ledger_update":
                record.update(item_id=self.open_items.pop(rng.randrange(len(self.open_items))),
                              to_state="in_progress", note="已联系施工队")
            else:
                self.leave_slot += 1
                spec["leave_offset"] = 10 + (self.leave_slot * 3) % 360
                record.update(leave_type="personal", reason="家中有事", location=loc)
            spec["record"] = record
            specs.append(spec)
        return specs

    def save(self, specs: list[dict], cycle: int, page=None) -> list[Saved]:
        names = {p["name"] for s in specs for p in s["photos"]}
        self.log(f"  saving on {(page or self.page).url} as "
                 f"{(page or self.page).evaluate('() => document.body.dataset.userId')!r}")
        results = (page or self.page).evaluate(page_js.SAVE, {
            "records": specs, "photos": {n: self.photo_b64[n] for n in names}})
        done = []
        for spec, result in zip(specs, results, strict=True):
            record = spec["record"]
            if result["ok"]:
                saved = Saved(record["id"], record["type"], [p["id"] for p in spec["photos"]],
                              cycle)
                done.append(saved)
                self.tally.records += 1
                self.tally.photos += len(saved.photo_ids)
                if record["type"] == "ledger_item":
                    self.open_items.append(record["id"])
            else:
                self.tally.refused_at_save += 1
                assert result["error"] == "QuotaExceededError", result
                if record["type"] == "ledger_update":  # not queued: the item stays open
                    self.open_items.append(record["item_id"])
        self.saved.extend(done)
        return done

    # --- one cycle ---

    def plan_faults(self, rng: random.Random) -> list[str]:
        count = rng.choice([1, 1, 2, 2, 3])
        chosen = rng.sample(KINDS, count)
        # One server death per cycle is enough to read the result; keep the first.
        kills = [k for k in chosen if k.startswith("kill_")]
        first = kills[0] if kills else None
        return [k for k in chosen if not k.startswith("kill_") or k == first]

    def run_cycle(self, cycle: int) -> None:
        started = time.monotonic()
        rng = random.Random(f"{self.seed}:{cycle}")
        faults = self.plan_faults(rng)
        with_photos = bool(NEEDS_PHOTOS & set(faults)) or rng.random() < 0.4
        specs = self.plan_records(rng, cycle, with_photos)
        self.log(f"cycle {cycle}: {', '.join(faults)}; {len(specs)} records")
        self.tally.planned.update(faults)
        struck = set()
        proxy_before = Counter(self.proxy.struck)
        refused_before = self.tally.refused_at_save
        page = self.page
        offline = False
        second = None

        # Faults in place before the records are saved. A second tab is open before the session
        # ends (a tab opened after it shows the sign-in page, where nothing can be recorded).
        if "two_tabs" in faults:
            second = self.context.new_page()
            self.home(second)
        if "clock_skew" in faults:
            self.set_skew(rng.choice([-2, 2]) * DAY_MS + rng.randint(-3_600_000, 3_600_000))
        if "quota" in faults:
            # Chromium does not enforce Storage.overrideQuotaForOrigin on IndexedDB writes (a
            # 1-byte quota still stores), so the phone is made full where it shows: the outbox
            # put of some records raises QuotaExceededError, as on a full disk.
            first = specs[:max(1, len(specs) // 2)] if "two_tabs" in faults else specs
            full = [sp["record"]["id"] for sp in rng.sample(first, rng.randint(1, len(first)))]
            page.evaluate(page_js.QUOTA_FULL, full)
        if "token_revoked" in faults or "signed_out" in faults:
            if self.server_sql("UPDATE device_tokens SET revoked_at = CURRENT_TIMESTAMP "
                               "WHERE revoked_at IS NULL"):
                struck.update({"token_revoked", "signed_out"} & set(faults))
        if "signed_out" in faults:
            # The session ends too: on the server (as "sign out of all devices" does; a response
            # already on its way could set the cookie again) and in the browser.
            self.server_sql("UPDATE users SET session_epoch = session_epoch + 1 "
                            "WHERE username = 'sec1'")
            self.context.clear_cookies()
        if "sw_update" in faults or "offline_flap" in faults:
            self.context.set_offline(True)
            offline = True
        if "kill_before_commit" in faults:
            self.server.arm("sync.before_commit")
        if "kill_after_commit" in faults:
            self.server.arm("sync.after_commit")
        if "kill_photo_store" in faults:
            self.server.arm("photo.after_store")
        if "cut_upload" in faults:
            self.proxy.cut_upload(rng.randint(2_000, 120_000))
        if "lose_sync_response" in faults:
            self.proxy.lose_response("/api/v1/sync")
        if "lose_photo_response" in faults:
            self.proxy.lose_response("/api/v1/photos/")
        if {"kill_random", "reload_mid_sync", "close_mid_sync"} & set(faults):
            self.proxy.throttle_bps = rng.choice([100_000, 300_000, 1_000_000])
            self.proxy.delay_ms = rng.choice([20, 80, 200])

        # Save (the outbox wakes the sync loop at once), while faults strike.
        if "two_tabs" in faults:
            half = max(1, len(specs) // 2)
            if self.save(specs[:half], cycle, page) and self.save(specs[half:], cycle, second):
                struck.add("two_tabs")
        else:
            self.save(specs, cycle, page)
        if "quota" in faults:
            page.evaluate(page_js.QUOTA_FREED)
            if self.tally.refused_at_save > refused_before:
                struck.add("quota")
        if "clock_skew" in faults and abs(self.page_skew_ms(page)) >= DAY_MS:
            struck.add("clock_skew")
        self.log("  saved")
        if "offline_flap" in faults:
            struck.add("offline_flap")
            for _ in range(rng.randint(2, 5)):
                self.context.set_offline(False)
                time.sleep(rng.uniform(0.05, 0.8))
                self.context.set_offline(True)
                time.sleep(rng.uniform(0.05, 0.4))
        if "kill_random" in faults:
            time.sleep(rng.uniform(0.05, 1.5))
            if self.server.alive():
                struck.add("kill_random")
            self.server.kill()
        armed = [k for k in faults if k in ("kill_before_commit", "kill_after_commit",
                                             "kill_photo_store")]
        if armed and self.server.wait_dead(8):
            struck.update(armed)
        if "reload_mid_sync" in faults:
            time.sleep(rng.uniform(0.05, 1.0))
            if self.unsent(page):
                struck.add("reload_mid_sync")
            page.reload(wait_until="domcontentloaded")
        if "close_mid_sync" in faults:
            time.sleep(rng.uniform(0.05, 1.0))
            if self.unsent(page):
                struck.add("close_mid_sync")
            page.close()
            self.page = page = self.context.new_page()
            self.home(page)
        if "sw_update" in faults:
            if self.deploy_new_worker(page):
                struck.add("sw_update")
            offline = False
        if {"cut_upload", "lose_sync_response", "lose_photo_response"} & set(faults):
            deadline = time.monotonic() + 5
            while self.proxy.pending() and time.monotonic() < deadline:
                time.sleep(0.1)
        hits = Counter(self.proxy.struck) - proxy_before
        for kind, key in (("cut_upload", "cut_upload"),
                          ("lose_sync_response", "lose_response:/api/v1/sync"),
                          ("lose_photo_response", "lose_response:/api/v1/photos/")):
            if kind in faults and hits[key]:
                struck.add(kind)
        self.tally.faults.update(struck)
        self.log(f"  struck: {', '.join(sorted(struck)) or 'nothing'}")

        self.log("  struck; checking mid-way")
        # Mid-way: every record is on the server or waits on the phone.
        self.check_nothing_lost(cycle, mid=True)
        if "signed_out" in faults:
            self.expect_waiting_signed_out(cycle)

        # Recovery: lift every fault, the network comes back; wait until all is sent.
        self.proxy.clear()
        self.server.arm()
        if "clock_skew" in faults:
            self.set_skew(0)
        if not self.server.alive():
            self.server.restart()
        if second is not None:
            second.close()
        if "signed_out" in faults:
            self.context.set_offline(False)  # signing in needs the network (offline_flap)
            self.sign_in(page)
        self.log("  recovering")
        self.network_back(offline)
        self.settle(cycle)
        self.check_nothing_lost(cycle, mid=False)
        self.tally.cycles += 1
        self.log(f"  cycle {cycle} took {time.monotonic() - started:.1f} s "
                 f"(network back -> synced {self.settled:.1f} s)")

    def server_sql(self, sql: str) -> int:
        """Run a statement on the server's database; return the rows it changed."""
        import sqlite3

        con = sqlite3.connect(self.view.db_path, timeout=30)
        try:
            changed = con.execute(sql).rowcount
            con.commit()
        finally:
            con.close()
        return changed

    def unsent(self, page) -> int:
        """Count the outbox items still on their way (a fault now strikes mid-sync)."""
        return sum(1 for it in self.outbox(page) if it["state"] in ("waiting", "sending"))

    def page_skew_ms(self, page) -> float:
        """How far the phone's clock is from the harness's (beyond the suite's travel)."""
        return page.evaluate("() => Date.now()") - (time.time() * 1000 + self.base_offset_ms)

    def deploy_new_worker(self, page) -> bool:
        """A new release while the outbox holds records: new CACHE_VERSION, worker updated."""
        before = page.evaluate(page_js.SHELL_CACHES)
        self.server.sw_build += 1
        self.server.restart()
        self.context.set_offline(False)
        page.evaluate(page_js.UPDATE_WORKER)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = page.evaluate(page_js.SHELL_CACHES)
            if now and now != before and len(now) == 1:
                break
            time.sleep(0.2)
        else:
            self.problem(f"worker update: shell caches {before} -> {now}")
            self.home(page)
            return False
        self.home(page)
        return True

    def network_back(self, offline: bool) -> None:
        """The phone finds a network again (the `online` event), as on a hill top."""
        self.context.set_offline(True)
        self.context.set_offline(False)
        self.back_at = time.monotonic()

    def settle(self, cycle: int) -> None:
        mine = {s.id for s in self.saved} | {p for s in self.saved for p in s.photo_ids}
        mine -= self.given_up
        deadline = self.back_at + SETTLE_TIMEOUT
        reloaded = False
        while True:
            items = [it for it in self.outbox() if it["id"] in mine]
            waiting = [it for it in items if it["state"] != "failed"]
            if not waiting:
                took = self.settled = time.monotonic() - self.back_at
                self.tally.longest_settle = max(self.tally.longest_settle, took)
                if took > 20:
                    self.log(f"  cycle {cycle}: synced only after {took:.1f}s")
                for it in items:
                    self.problem(f"cycle {cycle}: refused {it['type']} {it['id']}: "
                                 f"{it['error']} {it['message']}")
                return
            if time.monotonic() > deadline:
                what = [(it["type"], it["state"], it["note"], it["user_id"]) for it in waiting]
                self.problem(f"cycle {cycle}: stuck {len(waiting)} after {SETTLE_TIMEOUT:.0f}s: "
                             f"{what[:5]}")
                if reloaded:  # still there after a reload: stuck for good, stop waiting
                    self.settled = time.monotonic() - self.back_at
                    self.tally.stuck += len(waiting)
                    self.given_up |= {it["id"] for it in waiting}
                    return
                reloaded = True
                self.home()  # a reload starts a round
                deadline = time.monotonic() + SETTLE_TIMEOUT
                continue
            time.sleep(0.2)

    def expect_waiting_signed_out(self, cycle: int) -> None:
        """Signed out with records waiting: they stay, visibly, with the reason."""
        time.sleep(1.0)
        items = self.outbox()
        unsent = [it for it in items if it["kind"] == "record" and it["state"] != "failed"]
        for it in unsent:
            if it["state"] == "waiting" and it["note"] not in ("signed_out", None):
                self.problem(f"cycle {cycle}: signed out, item note {it['note']}")

    def check_nothing_lost(self, cycle: int, *, mid: bool) -> None:
        items = self.outbox()
        waiting = {it["id"]: it for it in items}
        counts = self.view.record_counts(self.saved)
        rows = self.view.photos()
        files = self.view.photo_files()
        failed = 0
        for s in self.saved:
            c = counts.get(s.id, {"rows": 0, "versions": 0, "creates": 0})
            if c["rows"] == 0 and s.id not in waiting:
                self.tally.lost += 1
                self.problem(f"cycle {cycle}: LOST {s.type} {s.id} (saved in cycle {s.cycle})")
            if c["rows"] > 1 or c["versions"] > 1 or c["creates"] > 1:
                self.tally.duplicated += 1
                self.problem(f"cycle {cycle}: DUPLICATED {s.type} {s.id}: {c}")
            if s.id in waiting and waiting[s.id]["state"] == "failed":
                failed += 1
            for pid in s.photo_ids:
                on_server = _hex(pid) in rows
                if not on_server and pid not in waiting and not mid:
                    self.tally.photos_missing += 1
                    self.problem(f"cycle {cycle}: photo {pid} of {s.type} {s.id} MISSING")
                elif not on_server and pid not in waiting:
                    self.tally.lost += 1
                    self.problem(f"cycle {cycle}: photo {pid} LOST mid-cycle")
                # A photo still in the outbox may be in flight: its row can be committed and
                # its sizes not yet written when this looks (seed 20261203 cycles 46, 106, 123,
                # 192: all complete a moment later). Only a delivered photo must be whole.
                if on_server and pid not in waiting and files.get(_hex(pid), set()) != {
                        "original", "display.jpg", "thumb.jpg"}:
                    self.tally.photos_missing += 1
                    self.problem(f"cycle {cycle}: photo {pid} files {files.get(_hex(pid))}")
        if not mid:
            self.tally.failed += failed
            expected = {_hex(p): _hex(s.id) for s in self.saved for p in s.photo_ids}
            for pid, rid in rows.items():
                if expected.get(pid) != rid:
                    self.tally.photos_orphaned += 1
                    self.problem(f"cycle {cycle}: photo row {pid} not expected (record {rid})")
            for pid in set(files) - set(rows):
                self.tally.photos_orphaned += 1
                self.problem(f"cycle {cycle}: photo files without a row: {pid}")
            self.saved_done = True

    def problem(self, text: str) -> None:
        self.tally.problems.append(text)
        self.log("  PROBLEM " + text)
