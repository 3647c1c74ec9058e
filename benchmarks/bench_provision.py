"""Provisioning and sync of a realistic cohort against the sandbox, with per-call latency injected.

Prints numbers (calls per function, wall time); asserts nothing. Run:

    python benchmarks/bench_provision.py [--latency 0.05] [--coordinators 20] [--initiatives 150]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from mintqo_lms.config import Config
from mintqo_lms.demo import simulate_participants
from mintqo_lms.moodle import Moodle, MoodleClient
from mintqo_lms.programme import import_roster
from mintqo_lms.provision import provision
from mintqo_lms.samples import write_synthetic_roster
from mintqo_lms.sandbox import Sandbox
from mintqo_lms.store import Store
from mintqo_lms.sync import sync_cohort


def measure(label: str, moodle: Moodle, action):
    before = moodle.client.stats.as_dict()
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    calls = moodle.client.stats.delta(before)
    total = sum(int(c["calls"]) for c in calls.values())
    print(f"\n{label}: {total} calls, {seconds:.2f} s wall")
    for name, stats in sorted(calls.items(), key=lambda item: -item[1]["calls"]):
        print(f"  {name:<52}{int(stats['calls']):>5} calls {stats['seconds']:>7.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the sandbox waits per call")
    parser.add_argument("--coordinators", type=int, default=20)
    parser.add_argument("--initiatives", type=int, default=150)
    parser.add_argument("--members", type=int, default=3)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="mintqo-bench-"))
    roster = write_synthetic_roster(tmp / "roster.csv", coordinators=args.coordinators,
                                    initiatives=args.initiatives, members_per_initiative=args.members)
    with Sandbox(latency=args.latency) as sandbox, Store(tmp / "bench.db") as store:
        summary = import_roster(store, roster, "2025")
        print(f"cohort: {summary}; sandbox latency {args.latency * 1000:.0f} ms per call")
        moodle = Moodle(MoodleClient(sandbox.url, sandbox.token))
        measure("provision, first run", moodle, lambda: provision(moodle, store, Config(), "2025"))
        measure("provision, second run (nothing to do)", moodle, lambda: provision(moodle, store, Config(), "2025"))
        simulate_participants(sandbox, store, "2025", random.Random(1))
        synced = measure("sync, first run", moodle, lambda: sync_cohort(moodle, store, "2025"))
        print(f"  -> {synced}")
        measure("sync, unchanged", moodle, lambda: sync_cohort(moodle, store, "2025"))


if __name__ == "__main__":
    main()
