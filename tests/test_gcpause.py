"""The cycle collector's pause for one run (mintqo_lms/gcpause.py)."""

from __future__ import annotations

import gc

import pytest

from mintqo_lms.gcpause import cyclic_gc_paused


@pytest.fixture
def collections():
    seen: list[int] = []

    def record(phase, info):
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(record)
    yield seen
    gc.callbacks.remove(record)


def test_the_collector_is_off_during_the_run_and_on_after_success_and_failure():
    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), cyclic_gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_the_run_s_objects_are_not_walked_when_the_collector_comes_back(collections):
    with cyclic_gc_paused():
        kept = [[i] for i in range(20_000)]   # far beyond the young generation's threshold
        collections.clear()
    more = [[i] for i in range(10)]
    assert collections == [] and len(kept) + len(more) == 20_010


def test_objects_someone_else_froze_stay_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with cyclic_gc_paused():
            pass
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()


def test_a_caller_that_switched_the_collector_off_is_left_alone():
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
