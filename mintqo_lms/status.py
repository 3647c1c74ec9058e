"""``mintqo-lms status``: is the sync healthy? Last runs per cohort, cursors and their age, a running serve.

Reads only (never locks or migrates the store), so it answers while a sync or serve is busy.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from mintqo_lms.scheduler import serve_holder
from mintqo_lms.store import Store
from mintqo_lms.sync import stream_position


@dataclass
class RunInfo:
    id: int
    kind: str
    cohort: str | None
    started_at: int
    seconds: int | None
    status: str
    rows: int
    calls: int
    error: str | None


@dataclass
class CursorInfo:
    stream: str
    position: str
    updated_at: int
    age_seconds: int


@dataclass
class Status:
    serve: dict | None
    runs: dict[str, list[RunInfo]] = field(default_factory=dict)
    cursors: list[CursorInfo] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"serve": self.serve, "runs": {k: [asdict(r) for r in v] for k, v in self.runs.items()},
                "cursors": [asdict(c) for c in self.cursors]}


_ROW_KEYS = ("enrolment_records", "group_member_records", "activity_completion_records", "course_enrolment_records",
             "answers", "records")


def _rows(summary: dict) -> int:
    return int(sum(int(summary.get(key, 0) or 0) for key in _ROW_KEYS))


def collect(store: Store, store_path: Any, *, per_cohort: int = 3, now: float | None = None) -> Status:
    now = int(now if now is not None else time.time())
    status = Status(serve=serve_holder(store_path))
    if "sync_runs" not in store.db.table_names():
        return status
    kinds = ("sync", "attendance")
    for row in store.db.query(
            "SELECT * FROM sync_runs WHERE kind IN (?, ?) AND dry_run = 0 ORDER BY id DESC", list(kinds)):
        bucket = status.runs.setdefault(row["cohort"] or "-", [])
        if len(bucket) >= per_cohort:
            continue
        summary = json.loads(row["summary"] or "{}")
        calls = json.loads(row["calls"] or "{}")
        bucket.append(RunInfo(
            id=row["id"], kind=row["kind"], cohort=row["cohort"], started_at=row["started_at"],
            seconds=(row["finished_at"] - row["started_at"]) if row["finished_at"] else None,
            status=row["status"], rows=_rows(summary),
            calls=int(sum(c.get("calls", 0) for c in calls.values())), error=row["error"]))
    for row in store.db.query("SELECT stream, cursor, updated_at FROM sync_state ORDER BY stream"):
        if row["stream"].startswith("backfill"):
            continue
        status.cursors.append(CursorInfo(row["stream"], stream_position(row["cursor"] or ""), row["updated_at"] or 0,
                                         now - int(row["updated_at"] or 0)))
    return status


def _when(epoch: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def _age(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def render(status: Status) -> str:
    lines = []
    if status.serve:
        lines.append(f"serve: running (pid {status.serve.get('pid')} since {_when(status.serve.get('since', 0))})")
    else:
        lines.append("serve: not running")
    if not status.runs:
        lines.append("runs: none yet")
    for cohort, runs in sorted(status.runs.items()):
        lines.append(f"cohort {cohort}:")
        for run in runs:
            took = f"{run.seconds} s" if run.seconds is not None else "still running"
            error = f" — {run.error}" if run.error else ""
            lines.append(f"  #{run.id} {run.kind:<10} {_when(run.started_at)}  {run.status:<11} {took:>8}  "
                         f"{run.rows} rows, {run.calls} calls{error}")
    if status.cursors:
        lines.append("cursors:")
        for cursor in status.cursors:
            lines.append(f"  {cursor.stream:<24} {cursor.position or '(start)':<28} "
                         f"updated {_when(cursor.updated_at)} ({_age(cursor.age_seconds)} ago)")
    return "\n".join(lines)


__all__ = ["Status", "collect", "render"]
