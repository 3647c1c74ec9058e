"""``mintqo-lms serve``: the sync on its timetable, as a long-running service (systemd or cron-less sites).

Why these rules:

* **One serve at a time.** A serve holds ``<store>.serve.lock`` (an OS file lock, like the store's: the kernel
  releases it however the process ends) for as long as it lives. A second ``serve`` — and a hand-started
  ``sync`` — meet it and stop with one line naming the holder, so two timetables never race for the cursors.
  Each run also takes the store's own lock, so a ``provision`` of the office waits its turn (that run is
  logged as failed and retried).
* **One line per run** on stdout (journald or cron mail keep it): when, cohorts, rows, calls, seconds, errors.
* **A failed run is not the end.** The next planned run happens as planned; in between the failed run is
  retried after a backoff (``sync.retry_minutes``, doubling, never later than the next planned run).
* **SIGTERM/SIGINT stop within seconds.** Between runs the loop sleeps in short steps and simply returns; in a
  run the signal unwinds it at once: every store write is one SQLite transaction, which rolls back, and the
  cursors only move with the rows they belong to, so the next run re-reads what was not committed.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

import schedule

from mintqo_lms.locking import exclusive_lock, read_holder
from mintqo_lms.moodle.errors import MintqoError

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5


class ServeRunningError(MintqoError):
    """A ``serve`` holds the store's timetable."""


class ServeStopped(BaseException):  # noqa: N818 - a signal, not an error: BaseException passes `except Exception`
    """SIGTERM/SIGINT arrived during a run; unwinds it (every transaction rolls back)."""


def serve_lock_path(store_path: str | os.PathLike[str]) -> Path:
    path = Path(store_path)
    return path.with_name(path.name + ".serve.lock")


def serve_holder(store_path: str | os.PathLike[str]) -> dict | None:
    """Who runs ``serve`` on this store right now (pid, host, since), or None when nobody does."""
    path = serve_lock_path(store_path)
    if not path.exists():
        return None
    with path.open("r", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return read_holder(handle) or {"pid": None}
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return None


def describe_holder(holder: dict) -> str:
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.get("since", 0)))
    return f"pid {holder.get('pid')} since {since}" if holder.get("pid") else "another process"


def refuse_if_serving(store_path: str | os.PathLike[str]) -> None:
    """A hand-started ``sync`` while ``serve`` owns the timetable: one line, non-zero exit (via MintqoError)."""
    holder = serve_holder(store_path)
    if holder is not None:
        raise ServeRunningError(f"'mintqo-lms serve' ({describe_holder(holder)}) is running on this store and syncs "
                                "on its timetable; see 'mintqo-lms status', or stop the service to sync by hand")


@contextmanager
def serve_lock(store_path: str | os.PathLike[str]) -> Iterator[Path]:
    def refuse(handle: TextIO) -> ServeRunningError:
        return ServeRunningError(f"'mintqo-lms serve' is already running on {store_path} "
                                 f"({describe_holder(read_holder(handle))}); one is enough")

    with exclusive_lock(serve_lock_path(store_path), refuse) as path:
        yield path


@dataclass
class Timetable:
    """When to run: every N minutes, or at fixed times of day (local time), as ``[sync]`` says."""

    every_minutes: int = 60
    at: tuple[str, ...] = ()
    retry_minutes: float = 5.0
    every_seconds: int | None = None   # a finer timetable for tests and demos; the config speaks minutes

    def scheduler(self, job: Callable[[], None]) -> schedule.Scheduler:
        planner = schedule.Scheduler()
        if self.every_seconds:
            planner.every(self.every_seconds).seconds.do(job)
        elif self.at:
            for moment in self.at:
                planner.every().day.at(moment).do(job)
        else:
            planner.every(self.every_minutes).minutes.do(job)
        return planner

    def describe(self) -> str:
        if self.every_seconds:
            return f"every {self.every_seconds} s"
        return f"daily at {', '.join(self.at)}" if self.at else f"every {self.every_minutes} min"

    @property
    def period_seconds(self) -> float:
        return self.every_seconds or (86400 / len(self.at) if self.at else self.every_minutes * 60)


class Service:
    """The serve loop; ``run_once`` does one run and returns its log line (raises when the run failed)."""

    def __init__(self, run_once: Callable[[], str], timetable: Timetable, *, echo: Callable[[str], None] = print,
                 now: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep):
        self.run_once = run_once
        self.timetable = timetable
        self.echo = echo
        self.now = now
        self.sleep = sleep
        self.stopping = False
        self.in_run = False
        self.failures = 0
        self.retry_at: float | None = None
        self.runs = 0

    def _signal(self, signum: int, frame: object) -> None:
        self.stopping = True
        if self.in_run:
            self.in_run = False  # a second signal while unwinding must not raise again
            raise ServeStopped(signal.Signals(signum).name)

    def _run(self) -> None:
        started = self.now()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))
        self.in_run = True
        try:
            line = self.run_once()
        except ServeStopped:
            raise
        except Exception as exc:  # noqa: BLE001 - a failed run is logged and retried, never the end of serve
            self.in_run = False
            self.failures += 1
            delay = min(self.timetable.retry_minutes * 60 * 2 ** (self.failures - 1), self._until_planned())
            self.retry_at = self.now() + max(delay, 1.0)
            self.echo(f"{stamp} run failed after {self.now() - started:.1f}s: {exc} — retry in {delay / 60:.1f} min")
        else:
            self.in_run = False
            self.failures = 0
            self.retry_at = None
            self.echo(f"{stamp} {line} ({self.now() - started:.1f}s)")
        finally:
            self.in_run = False
            self.runs += 1

    def _until_planned(self) -> float:
        idle = self._planner.idle_seconds if hasattr(self, "_planner") else None
        return idle if idle is not None and idle > 0 else self.timetable.period_seconds

    def loop(self, *, max_runs: int | None = None) -> int:
        """Run until SIGTERM/SIGINT (or ``max_runs``, for tests); returns the number of runs."""
        previous = {sig: signal.signal(sig, self._signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        self._planner = self.timetable.scheduler(self._run)
        self.echo(f"serve: syncing {self.timetable.describe()} (first run now); stop with SIGTERM or Ctrl+C")
        try:
            self._run()
            while not self.stopping and (max_runs is None or self.runs < max_runs):
                if self.retry_at is not None and self.now() >= self.retry_at:
                    self._run()
                    continue
                if self._planner.idle_seconds is not None and self._planner.idle_seconds <= 0:
                    self.retry_at = None  # the planned run replaces a pending retry
                    self._planner.run_pending()
                    continue
                self.sleep(POLL_SECONDS)
        except ServeStopped as stop:
            self.echo(f"serve: {stop} during a run; its open transaction rolled back, stopping")
            return self.runs
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.echo("serve: stopped")
        return self.runs


__all__ = ["Service", "ServeRunningError", "ServeStopped", "Timetable", "refuse_if_serving", "serve_holder",
           "serve_lock", "serve_lock_path"]


class RunFailed(MintqoError):
    """At least one cohort of a serve run failed (the others were synced)."""


def full_sync_due(last_full: float, now: float, full_at: str) -> bool:
    """Whether the daily full read (``sync.full_at``, local time) fell between the last full read and now."""
    if not full_at:
        return False
    hours, _, minutes = full_at.partition(":")
    moment = datetime.fromtimestamp(now).replace(hour=int(hours), minute=int(minutes), second=0, microsecond=0)
    latest = moment.timestamp() if moment.timestamp() <= now else (moment - timedelta(days=1)).timestamp()
    return last_full < latest


def sync_all_job(config, *, now: Callable[[], float] = time.time) -> Callable[[], str]:
    """One serve run: every active cohort (``sync --all``) under the store's lock; returns the run's log line,
    raises :class:`RunFailed` naming the cohorts that failed. The first run after ``sync.full_at`` each day is
    a full one (``sync --all --full``); a failed full run is repeated in full."""
    from mintqo_lms.locking import store_lock
    from mintqo_lms.moodle import Moodle
    from mintqo_lms.store import Store
    from mintqo_lms.sync import active_cohorts, sync_and_feedback

    last_full = now()  # serve starts incremental; the first full read is at the next full_at

    def run_once() -> str:
        nonlocal last_full
        started = now()
        full = full_sync_due(last_full, started, config.sync.full_at)
        with store_lock(config.store.path, "mintqo-lms serve (sync --all)"), Store(config.store.path) as store:
            store.mark_interrupted_runs()
            cohorts = active_cohorts(store)
            if not cohorts:
                return "sync: no provisioned cohort yet"
            moodle = Moodle(config.client())
            done, failed = [], []
            for cohort in cohorts:
                try:
                    result, feedback = sync_and_feedback(moodle, store, cohort, config, full=full)
                except MintqoError as exc:
                    failed.append(f"{cohort} failed: {exc}")
                    continue
                extra = f", {len(feedback.sent)} feedback messages" if feedback is not None and feedback.sent else ""
                if feedback is not None and not feedback.ok:
                    stopped = f", {feedback.stopped}" if feedback.stopped else ""
                    failed.append(f"{cohort} feedback: {len(feedback.failed)} failed{stopped}")
                done.append(f"{cohort} ok: {result.rows} rows, {result.total_calls} calls{extra}")
        line = ("sync --full " if full else "sync ") + "; ".join(done + failed)
        if failed:
            raise RunFailed(line)
        if full:
            last_full = started
        return line

    return run_once


__all__ += ["RunFailed", "full_sync_due", "sync_all_job"]
