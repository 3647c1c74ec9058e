"""Reads that travel while the client does its own work.

Why: every call waits for the network and for Moodle (30 ms and more), and between calls the client plans,
decodes and writes to the store. Done one after the other, a run lasts Moodle's time *plus* the client's.
Started ahead, a read is on its way while the client is still busy with the previous answer, so the client's
work hides inside the wait instead of adding to it.

Rules that keep this safe:

* Only reads go ahead. A write's place in the sequence is part of its meaning; a read changes nothing, so it
  may be sent a moment earlier.
* One request at a time still: :class:`~mintqo_lms.moodle.client.MoodleClient` sends requests one after the
  other (a lock), so a site sees no more load than before, and the order of calls stays the caller's as long
  as it collects one :class:`Ahead` before starting the next.
* The store is never touched in the background (SQLite connections belong to their thread and say so
  loudly); only the request, its decoding and the shape check run there.
* A cursor still advances only after the page it follows is committed: reading page N+1 early changes
  nothing about when the cursor after page N is stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

T = TypeVar("T")
_END = object()


class Ahead(Generic[T]):
    """``fn(*args, **kwargs)`` started now in a background thread; :meth:`result` waits for it and returns its
    value or raises its exception (with its traceback) in the caller's thread."""

    def __init__(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any):
        self._future: Future[T] = Future()
        self._future.set_running_or_notify_cancel()
        # daemon: a process that is stopping does not wait for a read nobody will collect
        self._thread = threading.Thread(target=self._run, args=(fn, args, kwargs), name="mintqo-ahead",
                                        daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            value = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller by result()
            self._future.set_exception(exc)
        else:
            self._future.set_result(value)

    def result(self) -> T:
        return self._future.result()

    def done(self) -> bool:
        return self._future.done()

    def wait(self) -> None:
        """Wait until the work has ended, whatever its outcome (an exception is left for :meth:`result`)."""
        self._thread.join()


def read_ahead(items: Iterable[T]) -> Iterator[T]:
    """``items`` (typically pages of a cursor stream) with the next one always being read while the caller
    works on the current one. Order, values and exceptions are those of ``items``; an exception arrives where
    it happened in the sequence. A caller that stops early (``break``, an error of its own) leaves no read
    running: the one in flight is waited for and the source is closed."""
    source = iter(items)
    pending: Ahead[Any] = Ahead(next, source, _END)
    try:
        while True:
            item = pending.result()
            if item is _END:
                return
            pending = Ahead(next, source, _END)
            yield item
    finally:
        pending.wait()
        close = getattr(source, "close", None)
        if close is not None:
            close()
