"""``serve`` and ``status``: the timetable loop (one line per run, backoff after a failure), one serve per store,
a hand-started sync refused while it runs, and a real process that stops within seconds on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from mintqo_lms.cli import main
from mintqo_lms.scheduler import (
    ServeRunningError,
    Service,
    Timetable,
    refuse_if_serving,
    serve_holder,
    serve_lock,
)
from mintqo_lms.status import collect, render
from mintqo_lms.sync import sync_cohort

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def test_the_loop_logs_one_line_per_run_and_retries_a_failed_run_after_a_backoff():
    outcomes = iter([RuntimeError("Moodle is down"), "sync 2025 ok", "sync 2025 ok"])
    lines: list[str] = []

    def run_once() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    # every 60 s, first retry after 0.6 s: the retry comes long before the next planned run
    service = Service(run_once, Timetable(every_seconds=60, retry_minutes=0.01), echo=lines.append)
    started = time.monotonic()
    assert service.loop(max_runs=2) == 2
    assert time.monotonic() - started < 30
    runs = [line for line in lines if not line.startswith("serve:")]
    assert len(runs) == 2
    assert "run failed" in runs[0] and "Moodle is down" in runs[0] and "retry in" in runs[0]
    assert runs[1].endswith("s)") and "sync 2025 ok" in runs[1]
    assert service.failures == 0 and service.retry_at is None


def test_planned_runs_follow_the_timetable():
    lines: list[str] = []
    service = Service(lambda: "sync ok", Timetable(every_seconds=1), echo=lines.append)
    assert service.loop(max_runs=3) == 3
    assert sum(1 for line in lines if "sync ok" in line) == 3
    assert Timetable(at=("06:30", "18:00")).describe() == "daily at 06:30, 18:00"


def test_one_serve_per_store_and_sync_is_refused_while_it_runs(tmp_path):
    store = tmp_path / "mintqo.db"
    with serve_lock(store):
        holder = serve_holder(store)
        assert holder["pid"] == os.getpid()
        with pytest.raises(ServeRunningError, match="already running.*one is enough"):
            with serve_lock(store):
                pass
        with pytest.raises(ServeRunningError, match=r"'mintqo-lms serve' \(pid \d+ since .*\) is running"):
            refuse_if_serving(store)
    assert serve_holder(store) is None
    refuse_if_serving(store)


def _config(tmp_path: Path, sb, store_path: Path, **sync: object) -> Path:
    extra = "".join(f"{key} = {json.dumps(value)}\n" for key, value in sync.items())
    path = tmp_path / "mintqo.toml"
    path.write_text(f'[moodle]\nurl = "{sb.url}"\nretries = 0\n[store]\npath = "{store_path}"\n'
                    f'[sync]\n{extra}[feedback]\nmessages = false\n', encoding="utf-8")
    return path


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mintqo_lms.cli", *args], cwd=PROJECT_ROOT,
                            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@contextmanager
def _serving(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """``_cli`` for a long-running command: killed on the way out if the block left it running."""
    process = _cli(args, env)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _sigterm(process: subprocess.Popen) -> str:
    """SIGTERM; the process must exit 0 within five seconds. Returns the rest of its stdout."""
    stopped_at = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert time.monotonic() - stopped_at < 5
    return process.stdout.read()


def _wait_for(process: subprocess.Popen, text: str, timeout: float = 30) -> list[str]:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if text in line:
            return seen
    errors = process.stderr.read() if process.poll() is not None else ""
    raise AssertionError(f"no line with {text!r} in {seen!r}; stderr: {errors}")


def test_serve_as_a_real_process_second_serve_sync_status_and_sigterm(world, tmp_path):
    sb, store, moodle = world
    sb.site.clock = lambda: int(time.time()) + 10
    store.close()
    config = _config(tmp_path, sb, store.path, every_minutes=60)
    env = {"MINTQO_MOODLE_TOKEN": sb.token}
    with _serving(["--config", str(config), "serve"], env) as serve:
        lines = _wait_for(serve, "sync 2025 ok")
        assert any("serve: syncing every 60 min" in line for line in lines)
        second = subprocess.run([sys.executable, "-m", "mintqo_lms.cli", "--config", str(config), "serve"],
                                cwd=PROJECT_ROOT, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env},
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert second.stderr.strip().count("\n") == 0 and "already running" in second.stderr
        sync = subprocess.run([sys.executable, "-m", "mintqo_lms.cli", "--config", str(config), "sync", "--all"],
                              cwd=PROJECT_ROOT, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env},
                              capture_output=True, text=True, timeout=60)
        assert sync.returncode == 1 and "is running on this store" in sync.stderr
        status = CliRunner().invoke(main, ["--config", str(config), "status"])
        assert status.exit_code == 0 and f"serve: running (pid {serve.pid}" in status.output, status.output
        assert "enrolments:2025" in status.output and "ok" in status.output
        assert "serve: stopped" in _sigterm(serve)
    status = CliRunner().invoke(main, ["--config", str(config), "status", "--format", "json"])
    data = json.loads(status.output)
    assert data["serve"] is None
    run = data["runs"]["2025"][0]
    assert run["status"] == "ok" and run["calls"] == 3 and run["rows"] > 0 and run["error"] is None
    assert {c["stream"] for c in data["cursors"]} >= {"enrolments:2025", "completions:2025", "responses:2025"}


def test_sigterm_in_the_middle_of_a_run_stops_within_seconds_without_a_half_written_transaction(world, tmp_path):
    sb, store, moodle = world
    sb.site.clock = lambda: int(time.time()) + 10
    store_path = store.path
    store.close()
    sb.latency = 0.25                       # a slow site: the run takes many seconds with pages of 2 rows
    config = _config(tmp_path, sb, store_path, every_minutes=60, page_size=2)
    with _serving(["--config", str(config), "serve"], {"MINTQO_MOODLE_TOKEN": sb.token}) as serve:
        _wait_for(serve, "serve: syncing")
        deadline = time.monotonic() + 20
        while sb.calls.count("local_mintqo_get_enrolments") < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "rolled back, stopping" in _sigterm(serve)
    sb.latency = 0
    conn = sqlite3.connect(str(store_path))
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    run = conn.execute("SELECT status, error FROM sync_runs WHERE kind = 'sync' ORDER BY id DESC").fetchone()
    assert run == ("failed", "SIGTERM")
    conn.close()
    # what was committed is whole: the next sync continues from the cursors and reads the rest
    from mintqo_lms.store import Store

    with Store(store_path) as reopened:
        before = reopened.db["moodle_enrolments"].count
        assert 0 < before < len(sb.site.tables["user_enrolments"])        # the run was cut short after some pages
        sync_cohort(moodle, reopened, "2025", page_size=2)
        assert reopened.db["moodle_enrolments"].count == len(sb.site.tables["user_enrolments"])
        assert reopened.db["moodle_group_members"].count == len(sb.site.tables["groups_members"])
        info = collect(reopened, store_path)
        assert info.serve is None and "serve: not running" in render(info)


def test_the_daily_full_read_is_due_once_after_its_time_of_day():
    from datetime import datetime

    from mintqo_lms.scheduler import full_sync_due

    def at(text: str) -> float:
        return datetime.strptime(text, "%Y-%m-%d %H:%M").timestamp()

    assert not full_sync_due(at("2026-11-23 01:00"), at("2026-11-23 03:00"), "03:15")
    assert full_sync_due(at("2026-11-23 01:00"), at("2026-11-23 03:20"), "03:15")
    assert not full_sync_due(at("2026-11-23 03:20"), at("2026-11-23 23:59"), "03:15")  # done today
    assert full_sync_due(at("2026-11-21 12:00"), at("2026-11-23 02:00"), "03:15")  # yesterday's was missed
    assert not full_sync_due(at("2026-11-22 01:00"), at("2026-11-23 03:20"), "")


def test_serve_runs_in_full_after_full_at_and_then_incremental_again(world, tmp_path, monkeypatch):
    from datetime import datetime

    from mintqo_lms.config import load_config
    from mintqo_lms.scheduler import sync_all_job

    sb, store, moodle = world
    sb.site.clock = lambda: int(time.time()) + 10
    store.close()
    config = load_config(_config(tmp_path, sb, store.path, full_at="03:15"),
                         environ={"MINTQO_MOODLE_TOKEN": sb.token})
    clock = [datetime(2026, 11, 23, 2, 0).timestamp()]
    job = sync_all_job(config, now=lambda: clock[0])
    assert job().startswith("sync 2025 ok")            # before 03:15: incremental
    clock[0] = datetime(2026, 11, 23, 3, 30).timestamp()
    full = job()
    assert full.startswith("sync --full 2025 ok")       # the first run after 03:15 reads everything
    clock[0] = datetime(2026, 11, 23, 4, 30).timestamp()
    assert job().startswith("sync 2025 ok")            # and only that one
    runs = [row[0] for row in sqlite3.connect(store.path).execute(
        "SELECT command FROM sync_runs WHERE kind = 'sync' ORDER BY id")]
    assert len(runs) == 3
