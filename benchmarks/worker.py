"""One scenario in a fresh process, measured: ``python -m benchmarks.worker`` reads its job as JSON on stdin
and prints the measurement as one JSON line.

Why a process per scenario: its peak resident memory (``getrusage``) is then that scenario's alone.

What is measured, and how:

* ``calls``: the client's own count of web-service requests (``MoodleClient.stats``);
* ``wall_s``: around the library call only (not the interpreter's start, nor the import of the command's
  module, which a command has done before it starts working; what the library imports lazily counts);
* ``wait_s``: time inside HTTP requests (``stats.wait_s``); ``client_s = wall_s - wait_s`` is the client's
  own overhead: planning, encoding, decoding, the store;
* ``cpu_s``: CPU seconds the client's process used during the call (all its threads): with reads running
  ahead (``mintqo_lms.moodle.ahead``) the client's work overlaps the wait, so ``client_s`` shows what the
  client adds to the wall time and ``cpu_s`` what it costs the machine;
* ``peak_mb``: the process's peak RSS; ``base_mb`` its RSS just before the call (interpreter and imports);
* ingest: rows the store's transactions changed (SQLite ``total_changes``) over the seconds spent inside
  them (``Store.transaction`` wrapped for the run; nested transactions count once).
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class Ingest:
    """Wraps :meth:`Store.transaction` to count rows changed and seconds spent inside outermost transactions."""

    def __init__(self) -> None:
        self.rows = 0
        self.seconds = 0.0
        self.transactions = 0

    def install(self) -> None:
        from mintqo_lms.store import Store

        original = Store.transaction
        ingest = self

        @contextmanager
        def measured(store: Store):  # type: ignore[no-untyped-def]
            conn = store.db.conn
            if conn.in_transaction:
                with original(store) as db:
                    yield db
                return
            changes, started = conn.total_changes, time.perf_counter()
            try:
                with original(store) as db:
                    yield db
            finally:
                ingest.seconds += time.perf_counter() - started
                ingest.rows += conn.total_changes - changes
                ingest.transactions += 1

        Store.transaction = measured  # type: ignore[method-assign]


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def run(job: dict[str, Any]) -> dict[str, Any]:
    from mintqo_lms.moodle import Moodle, MoodleClient
    from mintqo_lms.store import Store

    from benchmarks.scenarios import BY_NAME, Context, NotAvailable

    scenario = BY_NAME[job["scenario"]]
    side = job["side"]
    action = scenario.ours if side == "ours" else scenario.per_person
    if action is None:
        return {"status": "not applicable", "reason": scenario.note}
    client = MoodleClient(job["url"], job["token"], timeout=(10.0, 600.0))
    ingest = Ingest()
    ingest.install()
    store = Store(job["store"]) if side == "ours" else None
    try:
        ctx = Context(moodle=Moodle(client), store=store, cohort=job["cohort"], roster=Path(job["roster"]),
                      workdir=Path(job.get("workdir") or tempfile.gettempdir()),
                      per_person_client=client if side == "per_person" else None,
                      per_person_cohort=job.get("per_person_cohort", ""))
        try:
            if side == "ours" and scenario.prepare is not None:
                ctx.data = scenario.prepare(ctx)
            if side == "ours" and scenario.module:
                importlib.import_module(scenario.module)
            base = rss_mb()
            started, cpu_started = time.perf_counter(), time.process_time()
            result = action(ctx)
        except NotAvailable as exc:
            return {"status": "not available", "reason": str(exc)}
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    finally:
        if store is not None:
            store.close()
    stats = client.stats
    by_function = {name: int(s["calls"]) for name, s in stats.as_dict().items()}
    out: dict[str, Any] = {
        "status": "ok",
        "calls": stats.total_calls,
        "wall_s": round(wall, 3),
        "wait_s": round(stats.wait_s, 3),
        "client_s": round(wall - stats.wait_s, 3),
        "client_pct": round(100 * (wall - stats.wait_s) / wall, 1) if wall else 0.0,
        "cpu_s": round(cpu, 3),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "base_mb": round(base, 1),
        "calls_by_function": dict(sorted(by_function.items(), key=lambda item: -item[1])),
        "result": result,
    }
    if ingest.transactions:
        out["ingest"] = {"rows": ingest.rows, "seconds": round(ingest.seconds, 4),
                         "rows_per_s": round(ingest.rows / ingest.seconds) if ingest.seconds else None,
                         "transactions": ingest.transactions}
    return out


def main() -> None:
    job = json.loads(sys.stdin.read())
    try:
        out = run(job)
    except Exception as exc:  # the run records the failure and goes on with the next scenario
        from mintqo_lms.moodle.client import redact_secrets

        out = {"status": "failed", "reason": redact_secrets(f"{type(exc).__name__}: {exc}")[:500]}
    sys.stdout.write("\n" + json.dumps(out, default=str) + "\n")


if __name__ == "__main__":
    main()
