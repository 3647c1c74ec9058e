"""Run the benchmarks: every scenario at each scale, mintqo-lms and the per-person way side by side.

    python -m benchmarks.run                       # scales 1,4,16 on the sandbox, 30 ms per call
    python -m benchmarks.run --scales 1            # the quick one (about two minutes)

With ``MINTQO_BENCH_MOODLE_URL`` and ``MINTQO_BENCH_MOODLE_TOKEN`` set, the same scenarios run against that
real site instead (a new cohort key and tagged e-mail addresses per run, so an earlier run's accounts are not
found; the per-person way uses ``MINTQO_BENCH_MOODLE_PERSON_TOKEN`` when set, else the same token, which
must then be allowed to call the core functions of :mod:`benchmarks.per_person`). Results are merged by
scale into ``benchmarks/results/latest.json`` (real site: ``real-site.json``) and printed as a table.
Numbers only: nothing here asserts anything.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mintqo_lms.programme import import_roster
from mintqo_lms.store import Store

from benchmarks import roster as rosters
from benchmarks.sandbox_proc import SandboxProcess
from benchmarks.scenarios import SCENARIOS, Scenario

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
TARGETS = {"provision_unchanged_calls": 5, "sync_unchanged_calls": 3, "ratio_at_1x": 20, "client_pct": 10,
           "ingest_rows_per_s": 50_000}
MEASURED_KEYS = ("calls", "wall_s", "wait_s", "client_s", "client_pct", "cpu_s", "peak_mb", "base_mb")


def run_worker(job: dict[str, Any], timeout: float) -> dict[str, Any]:
    """One scenario in a fresh process (see :mod:`benchmarks.worker`); the job (with the token) goes by stdin."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    try:
        done = subprocess.run([sys.executable, "-m", "benchmarks.worker"], input=json.dumps(job), text=True,
                              capture_output=True, cwd=ROOT, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "failed", "reason": f"no result within {timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        return {"status": "failed", "reason": (done.stderr.strip().splitlines() or ["no output"])[-1][:500]}
    return json.loads(lines[-1])


class Site:
    """Where a side of the comparison runs: a sandbox process of its own, or the real site."""

    def __init__(self, url: str, token: str, person_token: str, sandbox: SandboxProcess | None = None) -> None:
        self.url, self.token, self.person_token, self.sandbox = url, token, person_token, sandbox

    def site_calls(self) -> int | None:
        return self.sandbox.calls() if self.sandbox else None


def measure(scenario: Scenario, side: str, site: Site, job: dict[str, Any], timeout: float) -> dict[str, Any]:
    before = site.site_calls()
    token = site.token if side == "ours" else site.person_token
    out = run_worker({**job, "scenario": scenario.name, "side": side, "url": site.url, "token": token}, timeout)
    after = site.site_calls()
    if before is not None and out.get("status") == "ok":
        out["site_calls"] = after - before  # the sandbox's own count: a check on the client's
    return out


def run_scale(scale: float, args: argparse.Namespace, real: dict[str, str] | None,
              save: Any = lambda record: None) -> dict[str, Any]:
    stamp = dt.datetime.now().strftime("%H%M%S")
    tag = f"b{stamp}" if real else ""
    cohort = f"2031-bench{stamp}" if real else "2025"
    pp_cohort = f"2032-bench{stamp}" if real else "2025"
    workdir = Path(tempfile.mkdtemp(prefix=f"mintqo-bench-{scale:g}x-"))
    roster_file = rosters.write_roster(workdir / "roster.csv", scale, tag)
    pp_roster = rosters.write_roster(workdir / "roster-per-person.csv", scale, f"pp{stamp}" if real else "")
    store_path = workdir / "bench.db"
    with Store(store_path) as store:
        imported = import_roster(store, roster_file, cohort)
    sizes = rosters.sizes(scale)
    record: dict[str, Any] = {
        "run_at": dt.datetime.now().isoformat(timespec="seconds"), "commit": _commit(),
        "roster": {**sizes, "people": sum(1 for _ in rosters.roster_rows(scale)), "imported": str(imported)},
        "scenarios": {},
    }
    per_person_here = args.per_person_scales is None or scale in args.per_person_scales
    sandboxes: list[SandboxProcess] = []
    try:
        if real:
            ours = Site(real["url"], real["token"], real["person_token"])
            fresh = ours
        else:
            a = SandboxProcess(latency=args.latency)
            sandboxes.append(a)
            ours = Site(a.url, a.token, a.admin_token, a)
            fresh = ours
            if per_person_here and not args.no_per_person:
                b = SandboxProcess(latency=args.latency)
                sandboxes.append(b)
                fresh = Site(b.url, b.token, b.admin_token, b)
        job = {"store": str(store_path), "cohort": cohort, "roster": str(roster_file), "workdir": str(workdir),
               "per_person_cohort": pp_cohort}
        simulated = False
        for scenario in SCENARIOS:
            if args.scenarios and scenario.name not in args.scenarios:
                continue
            if scenario.name.startswith("sync") and not simulated:
                record["simulated"] = _simulate(ours, store_path, cohort)
                simulated = True
            started = time.perf_counter()
            entry = measure(scenario, "ours", ours, job, args.timeout)
            if scenario.per_person is None:
                entry["per_person"] = {"status": "not applicable", "reason": scenario.note}
            elif args.no_per_person or not per_person_here or (
                    args.per_person_scenarios and scenario.name not in args.per_person_scenarios):
                entry["per_person"] = {"status": "not run", "reason": f"per-person way not run at {scale:g}x (time; "
                                       "--per-person-scales / --per-person-scenarios / --no-per-person)"}
            else:
                site = fresh if scenario.per_person_site == "fresh" else ours
                pp_job = {**job, "roster": str(pp_roster)}
                entry["per_person"] = measure(scenario, "per_person", site, pp_job, args.timeout)
                entry["per_person"]["note"] = scenario.note
            entry["ratio"] = _ratio(entry)
            record["scenarios"][scenario.name] = entry
            save(record)  # a run stopped half-way keeps what it measured
            print(f"  {scale:g}x {scenario.name:<22} {_line(entry)}  ({time.perf_counter() - started:.0f} s)",
                  flush=True)
        if not real and len(sandboxes) == 2 and "provision_first" in record["scenarios"]:
            record["same_people"] = _same_people(sandboxes[0].snapshot(), sandboxes[1].snapshot())
    finally:
        for sandbox in sandboxes:
            sandbox.stop()
    return record


def _simulate(site: Site, store_path: Path, cohort: str) -> dict[str, Any]:
    """Participants work (qualification activities, attendance, self-analyses) so that sync has rows to read."""
    if site.sandbox is None:
        return _simulate_real(store_path, cohort)
    counts = site.sandbox.simulate(str(store_path), cohort, 1)
    # The plugin serves only rows at least 2 s old (SETTLE_SECONDS: a row of the current second may still have
    # siblings being written). A real sync comes long after the work; here the run waits for them to settle.
    time.sleep(3)
    return counts


def _simulate_real(store_path: Path, cohort: str) -> dict[str, Any]:
    """On a real *test* site (``MOODLE_DIR`` = its code): one member of each initiative finishes the first
    self-analysis, through Moodle's own quiz code (``real_attempts.php``, PHP CLI). Without ``MOODLE_DIR``
    nothing is simulated and full sync reads only enrolments."""
    moodle_dir = os.environ.get("MOODLE_DIR")
    if not moodle_dir:
        return {"status": "not simulated", "reason": "MOODLE_DIR not set: only enrolments are there to read"}
    with Store(store_path) as store:
        pairs = [[row["instance_id"], row["userid"]] for row in store.db.query(
            "SELECT a.instance_id, MIN(p.moodle_user_id) AS userid FROM memberships m "
            "JOIN people p ON p.id = m.person_id JOIN courses c ON c.cohort = m.cohort AND c.network_slug = m.network_slug "
            "JOIN activities a ON a.course_idnumber = c.idnumber AND a.idnumber = 'mintqo:regional_cycle:selbstanalyse-1' "
            "WHERE m.cohort = ? AND m.role = 'initiative' AND m.active = 1 GROUP BY m.network_slug, m.initiative_slug",
            [cohort])]
    job = store_path.with_name("attempts.json")
    job.write_text(json.dumps(pairs), encoding="utf-8")
    done = subprocess.run(["php", str(Path(__file__).with_name("real_attempts.php")), str(job)], capture_output=True,
                          text=True, timeout=3600, env={**os.environ})
    if done.returncode:
        return {"status": "failed", "reason": (done.stdout + done.stderr)[-300:]}
    time.sleep(3)
    return {"self-analyses": json.loads(done.stdout.strip().splitlines()[-1])["attempts"]}


def _same_people(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """Whether the per-person script created and enrolled the same people as mintqo-lms (by e-mail and course
    idnumber; group names, since group idnumbers of buddy tandems are the script's own)."""
    def strip(rows: list[list[str]]) -> set[tuple[str, ...]]:
        return {tuple(row) for row in rows}

    return {"accounts": ours["accounts"] == theirs["accounts"],
            "enrolments": strip(ours["enrolments"]) == strip(theirs["enrolments"]),
            "group_members": strip(ours["group_members"]) == strip(theirs["group_members"]),
            "counts": {"accounts": len(theirs["accounts"]), "enrolments": len(theirs["enrolments"]),
                       "group_members": len(theirs["group_members"])}}


def _ratio(entry: dict[str, Any]) -> dict[str, float | None]:
    pp = entry.get("per_person", {})
    if entry.get("status") != "ok" or pp.get("status") != "ok":
        return {"calls": None, "wall_s": None}
    return {"calls": round(pp["calls"] / entry["calls"], 1) if entry["calls"] else None,
            "wall_s": round(pp["wall_s"] / entry["wall_s"], 1) if entry["wall_s"] else None}


def _line(entry: dict[str, Any]) -> str:
    if entry.get("status") != "ok":
        return f"{entry.get('status')}: {entry.get('reason', '')}"
    pp = entry.get("per_person", {})
    text = (f"{entry['calls']:>6} calls {entry['wall_s']:>8.2f} s (client {entry['client_pct']:>4.1f} %) "
            f"{entry['peak_mb']:>6.0f} MB")
    if pp.get("status") == "ok":
        text += f" | per-person {pp['calls']:>6} calls {pp['wall_s']:>8.2f} s"
    return text


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except OSError:
        return ""


def targets(results: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets, per scale, as met / not met / not measured (a benchmark, not a test)."""
    out: dict[str, Any] = {}
    for scale, record in results["scales"].items():
        s = record["scenarios"]

        def value(name: str, *path: str) -> Any:
            node: Any = s.get(name, {})
            if node.get("status") != "ok":
                return None
            for key in path:
                node = (node or {}).get(key)
            return node

        checks: dict[str, Any] = {}
        calls = value("provision_unchanged", "calls")
        checks["provision_unchanged_calls<=5"] = None if calls is None else calls <= TARGETS["provision_unchanged_calls"]
        calls = value("sync_unchanged", "calls")
        checks["sync_unchanged_calls<=3"] = None if calls is None else calls <= TARGETS["sync_unchanged_calls"]
        if float(scale) == 1:
            for name in ("provision_first", "sync_full"):
                ratio = value(name, "ratio", "calls")
                checks[f"{name}_calls_ratio>=20"] = None if ratio is None else ratio >= TARGETS["ratio_at_1x"]
        over = {name: e["client_pct"] for name, e in s.items()
                if e.get("status") == "ok" and e["client_pct"] >= TARGETS["client_pct"]}
        checks["client_overhead<10%"] = not over
        if over:
            checks["client_overhead_over_10%"] = over
        rate = value("sync_full", "ingest", "rows_per_s")
        checks["sync_full_ingest>=50000_rows_per_s"] = None if rate is None else rate >= TARGETS["ingest_rows_per_s"]
        out[scale] = checks
    return out


def table(results: dict[str, Any]) -> str:
    """The results as a Markdown table (for benchmarks/README.md)."""
    lines = ["| scale | scenario | calls | wall s | client s (%) | cpu s | peak MB | ingest rows/s "
             "| per-person calls | per-person wall s | calls ratio | time ratio |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for scale, record in sorted(results["scales"].items(), key=lambda item: float(item[0])):
        for name, e in record["scenarios"].items():
            pp = e.get("per_person", {})
            if e.get("status") != "ok":
                lines.append(f"| {scale}× | {name} | {e.get('status')} | | | | | | | | | |")
                continue
            rate = (e.get("ingest") or {}).get("rows_per_s")
            pp_calls = pp.get("calls", pp.get("status", "")) if pp.get("status") == "ok" else pp.get("status", "")
            pp_wall = f"{pp['wall_s']:.2f}" if pp.get("status") == "ok" else ""
            ratio = e.get("ratio") or {}
            lines.append(
                f"| {scale}× | {name} | {e['calls']} | {e['wall_s']:.2f} | {e['client_s']:.2f} ({e['client_pct']:.1f} %) "
                f"| {_cpu(e)} | {e['peak_mb']:.0f} | {f'{rate:,}' if rate else ''} | {pp_calls} | {pp_wall} "
                f"| {_num(ratio.get('calls'))} | {_num(ratio.get('wall_s'))} |")
    return "\n".join(lines)


def _cpu(entry: dict[str, Any]) -> str:
    """Results written before ``cpu_s`` was measured have none."""
    return f"{entry['cpu_s']:.2f}" if "cpu_s" in entry else ""


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def parse_scales(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def merge(files: list[Path], out: Path, per_person_from: list[Path] = ()) -> dict[str, Any]:
    """Results of separate runs (e.g. 16x in the background beside 1x and 4x) in one file, later scales winning.

    ``per_person_from``: runs whose per-person side fills the scenarios where it was not run. The per-person
    script uses no mintqo-lms code, so its numbers do not change with our commits; each copied entry keeps
    the commit and time of the run that measured it."""
    results: dict[str, Any] = {"scales": {}}
    for file in files:
        data = json.loads(file.read_text(encoding="utf-8"))
        scales = {**results["scales"], **data["scales"]}
        results.update(data)
        results["scales"] = scales
    for file in per_person_from:
        donor = json.loads(file.read_text(encoding="utf-8"))
        for scale, record in donor["scales"].items():
            for name, entry in record["scenarios"].items():
                target = results["scales"].get(scale, {}).get("scenarios", {}).get(name)
                theirs = entry.get("per_person", {})
                if target is None or target.get("per_person", {}).get("status") == "ok" or theirs.get("status") != "ok":
                    continue
                target["per_person"] = {**theirs, "measured_in": {"file": file.name, "commit": record.get("commit"),
                                                                   "run_at": record.get("run_at")}}
                target["ratio"] = _ratio(target)
    results["targets"] = targets(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    print(table(results))
    print("\ntargets: " + json.dumps(results["targets"], ensure_ascii=False))
    print(f"\nwritten: {out}")
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="mintqo-lms benchmarks (numbers, never assertions)")
    parser.add_argument("--scales", default="1,4,16", help="multiples of the programme, e.g. 1 or 0.1,1,4,16")
    parser.add_argument("--latency", type=float, default=0.03, help="seconds the sandbox adds to every call")
    parser.add_argument("--scenarios", default="", help="only these (comma-separated names)")
    parser.add_argument("--per-person-scales", default=None,
                        help="run the per-person way only at these scales (default: every scale)")
    parser.add_argument("--per-person-scenarios", default="",
                        help="run the per-person way only for these scenarios (default: all)")
    parser.add_argument("--no-per-person", action="store_true", help="skip the per-person way")
    parser.add_argument("--out", type=Path, default=None, help="JSON file (merged by scale); default results/latest.json")
    parser.add_argument("--fresh", action="store_true", help="replace the JSON file instead of merging by scale")
    parser.add_argument("--timeout", type=float, default=7200, help="seconds one scenario may take")
    parser.add_argument("--merge", nargs="+", type=Path, default=None, metavar="JSON",
                        help="run nothing: merge these result files by scale into --out and print the table")
    parser.add_argument("--per-person-from", nargs="+", type=Path, default=[], metavar="JSON",
                        help="with --merge: take the per-person way's numbers from these runs where a merged run "
                             "did not run it (same scale and scenario)")
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args.merge, args.out or RESULTS / "latest.json", args.per_person_from)
    args.scenarios = {s for s in args.scenarios.split(",") if s}
    args.per_person_scenarios = {s for s in args.per_person_scenarios.split(",") if s}
    args.per_person_scales = parse_scales(args.per_person_scales) if args.per_person_scales else None

    url, token = os.environ.get("MINTQO_BENCH_MOODLE_URL"), os.environ.get("MINTQO_BENCH_MOODLE_TOKEN")
    real = None
    if url and token:
        real = {"url": url, "token": token, "person_token": os.environ.get("MINTQO_BENCH_MOODLE_PERSON_TOKEN") or token}
    out = args.out or RESULTS / ("real-site.json" if real else "latest.json")
    results: dict[str, Any] = {"scales": {}}
    if out.exists() and not args.fresh:
        results = json.loads(out.read_text(encoding="utf-8"))
    mode = f"real site {url}" if real else f"sandbox, {args.latency * 1000:g} ms per call"
    results.update({
        "mode": mode, "latency_s": None if real else args.latency,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
    })
    print(f"mintqo-lms benchmarks: {mode}; scales {args.scales}", flush=True)
    for scale in parse_scales(args.scales):
        def save(record: dict[str, Any], scale: float = scale) -> None:
            record["mode"] = mode
            results["scales"][f"{scale:g}"] = record
            results["targets"] = targets(results)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")

        save(run_scale(scale, args, real, save))
    print("\n" + table(results))
    print("\ntargets: " + json.dumps(results.get("targets", {}), ensure_ascii=False))
    print(f"\nwritten: {out}")
    return results


if __name__ == "__main__":
    main()
