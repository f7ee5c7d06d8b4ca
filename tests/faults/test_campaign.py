"""Nothing lost, ever: the offline client under randomized faults in a real browser (issue 12).

`make faults` runs 200 cycles (CYCLES=… SEED=…) and prints the table; `make test` runs this
20-cycle version (~3-5 s a cycle, under 2 minutes with the browser's start; marked `faults`:
`pytest -m faults`, or `-m "not faults"` to leave it out).
A failing run prints its seed; `SEED=<seed> make faults` plays the same plan again.
"""
import os
import random
import time

import pytest

from tests.faults.campaign import Campaign

# The campaign's server is a process of its own (it is killed and restarted) on the real clock,
# like the phone's browser: on a travelled clock (`make test-dates`) it waited for a sync that
# never came, so it runs on today's date only (`real_clock`).
pytestmark = [pytest.mark.faults, pytest.mark.real_clock]


def test_no_record_lost_or_duplicated_under_random_faults(browser, fault_rig, photos_dir):
    cycles = int(os.environ.get("CYCLES", "20"))
    seed = os.environ.get("SEED") or str(random.SystemRandom().randrange(10**6))
    print(f"\nfault campaign: SEED={seed} CYCLES={cycles}")
    campaign = Campaign(browser=browser, server=fault_rig.server, proxy=fault_rig.proxy,
                        view=fault_rig.view, world=fault_rig.world, photos_dir=photos_dir,
                        password=fault_rig.password, seed=seed,
                        base_offset_ms=fault_rig.offset_ms,
                        log=print if os.environ.get("FAULT_VERBOSE") else (lambda *_: None))
    started = time.monotonic()
    try:
        campaign.open_phone()
        first = int(os.environ.get("START", "0"))  # replay from a cycle: START=78 CYCLES=1
        for cycle in range(first, first + cycles):
            campaign.run_cycle(cycle)
    finally:
        campaign.close()
        table = campaign.tally.table(seed, time.monotonic() - started)
        print("\n" + table)
        if campaign.tally.problems:
            print("problems:\n  " + "\n  ".join(campaign.tally.problems[:40]))
    t = campaign.tally
    assert (t.lost, t.duplicated, t.photos_missing, t.photos_orphaned, t.stuck, t.failed) == (
        0, 0, 0, 0, 0, 0), f"SEED={seed}: see the table above"
    assert not t.problems, f"SEED={seed}: {t.problems[:5]}"
