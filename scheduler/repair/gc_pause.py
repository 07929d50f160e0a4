"""Keep Python's cyclic garbage collector out of the milliseconds tier 0 promises.

A full collection over a live service's heap takes tens of milliseconds, as long as tier 0
itself on 2000 operations; tier 0 allocates little that is cyclic, so the collector waits
until it is done (docs/decisions/0004).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator


class _Pause:
    """Counts the blocks inside; the first one in disables, the last one out restores."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holders = 0
        self.was_enabled = False

    def enter(self) -> None:
        with self.lock:
            if self.holders == 0:
                self.was_enabled = gc.isenabled()
                gc.disable()
            self.holders += 1

    def leave(self) -> None:
        with self.lock:
            self.holders -= 1
            if self.holders == 0 and self.was_enabled:
                gc.enable()


_PAUSE = _Pause()


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No automatic collection inside this block (nested and concurrent blocks included)."""
    _PAUSE.enter()
    try:
        yield
    finally:
        _PAUSE.leave()


def keep_long_lived() -> None:
    """What is alive now (a committed plan, its ledger) stays: later full collections skip
    it. At 5 000 operations a full collection after an answer took about 50 ms, pushing the
    p99 of a 200 ms budget past 250 ms; frozen, the heap they scan is what came since
    (docs/decisions/0004). Cyclic garbage among frozen objects is never collected: the
    engine's plans and ledgers are trees, freed by their reference counts."""
    gc.freeze()
