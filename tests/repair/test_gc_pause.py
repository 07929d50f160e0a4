"""The collector is paused inside tier 0 and restored after, also when blocks nest or fail."""

from __future__ import annotations

import gc

import pytest

from scheduler.repair.gc_pause import gc_paused


def test_nested_blocks_restore_the_collector_once_all_are_done():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_failing_block_restores_the_collector_and_a_disabled_one_stays_disabled():
    with pytest.raises(ZeroDivisionError), gc_paused():
        _ = 1 / 0
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
