"""Fault injection for the sync service's tests — and for anyone's: provisioning, publish, feedback, certificates.

Why a kit: the promise "a fault at any point loses nothing and duplicates nothing" is only proven by trying every
point. The kit makes that cheap and uniform:

* :func:`record_calls` runs an action fault-free and returns the web-service calls it made, in order;
  :func:`inject` arms the sandbox (``Sandbox.faults``) so that the call with a given *index* of that sequence
  fails with a connection reset, a read timeout, HTTP 503 or a Moodle exception (:data:`NETWORK_FAULTS`).
* :class:`Snapshot` keeps the sandbox's state and a copy of the store so every case starts from the same point
  (no re-provisioning per case); :func:`store_rows` / :func:`assert_same_store` compare stores row for row,
  leaving out run logs and wall-clock columns (``*_at``: only whether they are set counts).
* A process killed between fetch and commit: :func:`run_killed` starts a real ``python`` subprocess running
  the CLI through this file (``python tests/faultkit.py KILL_AT -- mintqo-lms args…``), which wraps
  ``Store.transaction`` so that its KILL_AT-th top-level transaction receives SIGKILL after its writes and
  before COMMIT; :func:`run_killed_forked` does the same in a forked child of the test process (no interpreter
  start: a tenth of the time, for long matrices). The hook lives only here: no fault code in the product.
  :func:`count_transactions` counts the kill points of a command in-process.

A typical matrix::

    calls = record_calls(sb, lambda: action())          # on a restored snapshot
    for index in range(len(calls)):
        for kind in NETWORK_FAULTS:
            snap.restore()
            inject(sb, calls, index, kind)
            with pytest.raises(MoodleError): action()
            sb.faults.clear(); action()                     # the clean re-run
            assert_same_store(baseline, snap.store_path)
"""

from __future__ import annotations

import copy
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NETWORK_FAULTS = ("reset", "timeout", "http503", "exception")
# "lost": Moodle applies the call, then the connection is reset before the answer arrives (the client cannot
# tell it from a reset before Moodle saw the request; a write must not be repeated blindly)
ALL_FAULTS = (*NETWORK_FAULTS, "lost")
TIMEOUT_SECONDS = 0.3            # a client for fault tests uses a read timeout below this …
CLIENT_READ_TIMEOUT = 0.2        # … so an injected timeout costs about half a second per case
IGNORED_TABLES = frozenset({"sync_runs", "schema_migrations", "privacy_log"})


# -- the sandbox's side -------------------------------------------------------------------------------

def record_calls(sandbox: Any, action: Callable[[], Any]) -> list[str]:
    """The web-service functions ``action`` calls, in order (run it on a restored snapshot)."""
    mark = len(sandbox.calls)
    action()
    return list(sandbox.calls[mark:])


def inject(sandbox: Any, calls: Sequence[str], index: int, kind: str) -> str:
    """Arm ``sandbox`` so that call number ``index`` (0-based) of a run making ``calls`` fails with ``kind``;
    returns a label for messages. A timeout lets Moodle do the work and loses the answer; a reset and a 503
    never reach Moodle; an exception is Moodle's ``dml_write_exception``."""
    function = calls[index]
    nth = list(calls[:index + 1]).count(function)
    sandbox.faults.clear()
    if kind == "lost":
        sandbox.faults.add(function, nth=nth, kind="reset", execute=True)
    else:
        sandbox.faults.add(function, nth=nth, kind=kind, seconds=TIMEOUT_SECONDS)
    return f"call {index} ({function} #{nth}): {kind}"


def fault_client(sandbox: Any, **options: Any):
    """A Moodle API for fault tests: no retries (every fault surfaces), a short read timeout."""
    from mintqo_lms.moodle import Moodle, MoodleClient

    return Moodle(MoodleClient(sandbox.url, sandbox.token, retries=0, timeout=(2.0, CLIENT_READ_TIMEOUT),
                               **options))


# -- snapshots and store comparison -------------------------------------------------------------------

def copy_store(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """A consistent copy of an SQLite store (the backup API: WAL contents included)."""
    target = Path(target)
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    src = sqlite3.connect(str(source))
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    os.chmod(target, 0o600)
    return target


@dataclass
class Snapshot:
    """The sandbox's state and the store at one point; :meth:`restore` puts both back (the store at
    ``store_path``, the working copy every case uses)."""

    sandbox: Any
    site_state: dict
    store_copy: Path
    store_path: Path

    @classmethod
    def take(cls, sandbox: Any, store_path: str | os.PathLike[str], folder: str | os.PathLike[str],
             name: str = "snapshot") -> Snapshot:
        with sandbox.site.lock:
            state = copy.deepcopy(sandbox.site.dump())
        saved = copy_store(store_path, Path(folder) / f"{name}.db")
        return cls(sandbox, state, saved, Path(store_path))

    def restore(self, store_path: str | os.PathLike[str] | None = None) -> Path:
        self.sandbox.faults.clear()
        with self.sandbox.site.lock:
            self.sandbox.site.load(copy.deepcopy(self.site_state))
        return copy_store(self.store_copy, store_path or self.store_path)


def store_rows(path: str | os.PathLike[str], *, ignored_tables: frozenset[str] = IGNORED_TABLES
               ) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, without run logs; a ``*_at`` column counts only as set or not set (it holds
    the wall clock of the run that wrote it)."""
    conn = sqlite3.connect(str(path))
    try:
        out: dict[str, list[tuple]] = {}
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                             "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        for table in tables:
            if table in ignored_tables:
                continue
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            names = [d[0] for d in cursor.description]
            rows = []
            for row in cursor:
                rows.append(tuple((name, (value is not None) if name.endswith("_at") else value)
                                  for name, value in zip(names, row)))
            out[table] = sorted(rows, key=repr)
        return out
    finally:
        conn.close()


def store_difference(expected: dict[str, list[tuple]], actual: dict[str, list[tuple]], limit: int = 3) -> str:
    """The first differences, readable ("" when equal)."""
    lines = []
    for table in sorted(set(expected) | set(actual)):
        want, got = expected.get(table, []), actual.get(table, [])
        if want == got:
            continue
        missing = [r for r in want if r not in got][:limit]
        extra = [r for r in got if r not in want][:limit]
        lines.append(f"{table}: expected {len(want)} rows, got {len(got)}; missing {missing}; unexpected {extra}")
    return "\n".join(lines)


def assert_same_store(expected: dict[str, list[tuple]], path: str | os.PathLike[str], label: str = "") -> None:
    difference = store_difference(expected, store_rows(path))
    assert not difference, f"{label}: the store differs from a fault-free run:\n{difference}"


# -- killing a real process between fetch and commit --------------------------------------------------

@contextmanager
def count_transactions() -> Iterator[list[int]]:
    """Count the top-level store transactions opened in this process (the kill points of a command)."""
    from mintqo_lms.store import Store

    original = Store.transaction
    counter = [0]

    @contextmanager
    def counting(self):
        if self.db.conn.in_transaction:
            with original(self) as db:
                yield db
            return
        counter[0] += 1
        with original(self) as db:
            yield db

    Store.transaction = counting
    try:
        yield counter
    finally:
        Store.transaction = original


def _install_kill(kill_at: int) -> None:
    """Wrap Store.transaction: the ``kill_at``-th top-level transaction dies by SIGKILL before its COMMIT."""
    from mintqo_lms.store import Store

    original = Store.transaction
    seen = [0]

    @contextmanager
    def killing(self):
        if self.db.conn.in_transaction:
            with original(self) as db:
                yield db
            return
        seen[0] += 1
        with original(self) as db:
            yield db
            if seen[0] == kill_at:
                sys.stdout.flush()
                os.kill(os.getpid(), signal.SIGKILL)

    Store.transaction = killing


def run_killed(kill_at: int, args: Sequence[str], *, env: dict[str, str] | None = None, cwd: str | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``mintqo-lms ARGS`` in a real subprocess that is SIGKILLed inside its ``kill_at``-th transaction."""
    return subprocess.run([sys.executable, str(Path(__file__).resolve()), str(kill_at), "--", *args],
                          env={**os.environ, **(env or {})}, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def run_killed_forked(kill_at: int, args: Sequence[str], *, env: dict[str, str] | None = None,
                      timeout: float = 60) -> int:
    """:func:`run_killed` without a new interpreter: a forked child of this (warm) test process runs the CLI and
    is SIGKILLed in its ``kill_at``-th transaction; returns the child's wait status as ``returncode`` would say
    it (-9 = killed). The child shares nothing with the parent but the already imported code: its own store
    connection, its own HTTP session to the sandbox (which keeps serving in the parent's thread)."""
    import time

    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 70
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.environ.update(env or {})
            _install_kill(kill_at)
            from mintqo_lms.cli import main as cli

            try:
                cli.main(args=list(args), prog_name="mintqo-lms")
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise TimeoutError(f"mintqo-lms {' '.join(args)} (kill at {kill_at}) did not end within {timeout} s")
        time.sleep(0.01)


def run_killed_all(jobs: Sequence[tuple[int, Sequence[str]]], *, env: dict[str, str] | None = None,
                   cwd: str | None = None, workers: int = 4, timeout: float = 120) -> list[subprocess.CompletedProcess]:
    """:func:`run_killed` for many ``(kill_at, args)`` at once (each with its own store in its args' config):
    for commands that only read from Moodle, so the cases cannot disturb each other. Results in job order."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda job: run_killed(job[0], job[1], env=env, cwd=cwd, timeout=timeout), jobs))


def main(argv: list[str]) -> None:
    kill_at = int(argv[0])
    args = argv[argv.index("--") + 1:]
    sys.path.insert(0, str(PROJECT_ROOT))
    _install_kill(kill_at)
    from mintqo_lms.cli import main as cli

    cli.main(args=args, prog_name="mintqo-lms")


if __name__ == "__main__":
    main(sys.argv[1:])
