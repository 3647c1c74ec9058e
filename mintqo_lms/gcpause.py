"""Python's cycle collector paused for one run of a command (provisioning, publish, sync).

Why: a run builds hundreds of thousands of small objects (a cohort's state, plan, pages), and every full
collection walks them all, and everything the process imported, again: a fifth of an unchanged 16x
provisioning, and pauses of 45 ms that stop the thread reading ahead too. What a run leaves behind is freed by
reference counting anyway; the few cycles wait for the next collection after the run.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """The cycle collector off for the duration (a context manager and a decorator), switched back on
    afterwards whatever happens; a caller that switched it off itself is left alone."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        _age_without_walk()
        gc.enable()


def _age_without_walk() -> None:
    """The run's objects join the oldest generation as they are: switched back on with them still young, the
    collector's next allocation walked them all (up to 6 ms after an unchanged 1x provisioning). Freezing and
    unfreezing moves them in one step and resets the young count; skipped if someone else froze objects."""
    if not gc.get_freeze_count():
        gc.freeze()
        gc.unfreeze()
