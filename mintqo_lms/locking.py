"""One writer at a time: an OS file lock beside the store.

``provision``, ``sync``, ``roster import`` and ``people remove`` all change the store (and most of them
Moodle); two at once would collide — in Moodle on the same idnumbers, in the store on the same cursors. Each
takes ``<store>.lock`` with ``fcntl.flock`` for as long as it runs. The operating system releases the lock
when the process ends however it ends (a kill included), so a lock can never be left behind; the file
itself stays and only says who held it last. A second run gets one line naming the holder and stops.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from mintqo_lms.moodle.errors import MintqoError


class StoreLockedError(MintqoError):
    """Another run holds the store's lock."""


def lock_path(store_path: str | os.PathLike[str]) -> Path:
    path = Path(store_path)
    return path.with_name(path.name + ".lock")


def read_holder(handle: TextIO) -> dict:
    """The holder record a lock file keeps (``{}`` when it is empty or not JSON)."""
    handle.seek(0)
    try:
        return json.loads(handle.read() or "{}")
    except ValueError:
        return {}


@contextmanager
def exclusive_lock(path: Path, refuse: Callable[[TextIO], Exception], **record: object) -> Iterator[Path]:
    """Hold ``fcntl.flock`` on ``path`` for the block, with the holder record (pid, host, ``record``, since)
    written in the file and cleared on the way out; when another process holds it, raise ``refuse(handle)``
    at once. The kernel releases the lock however the process ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    handle = os.fdopen(fd, "r+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise refuse(handle) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), **record,
                                 "since": int(time.time())}))
        handle.flush()
        try:
            yield path
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


def _describe_holder(handle: TextIO) -> str:
    try:
        holder = read_holder(handle)
    except OSError:
        holder = {}
    if not holder:
        return "another process"
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.get("since", 0)))
    host = holder.get("host")
    where = f" on {host}" if host and host != socket.gethostname() else ""
    return f"pid {holder.get('pid')}{where} ({holder.get('command', '?')}) since {since}"


@contextmanager
def store_lock(store_path: str | os.PathLike[str], command: str) -> Iterator[Path]:
    """Hold the store's lock for the block, or raise :class:`StoreLockedError` at once (never wait: a
    provisioning run can take minutes, and the user should know rather than stare at a silent prompt)."""
    if str(store_path) == ":memory:":
        yield Path(":memory:")
        return
    def refuse(handle: TextIO) -> StoreLockedError:
        return StoreLockedError(f"the store {store_path} is in use by {_describe_holder(handle)}; "
                                "wait for it to finish and run this again")

    with exclusive_lock(lock_path(store_path), refuse, command=command) as path:
        yield path


__all__ = ["StoreLockedError", "exclusive_lock", "lock_path", "read_holder", "store_lock"]
