"""What a book is doing: the calls in flight and when the last one ended. Background work
(the improver) runs only while nothing else does and is stopped the moment a call arrives:
an event must never wait for it."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from scheduler.solver import StopToken


class Activity:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self._last = time.monotonic()
        self._background: set[StopToken] = set()

    @contextlib.contextmanager
    def call(self) -> Iterator[None]:
        """A call that may solve: background work stops at once and waits until it ends."""
        with self._lock:
            self._in_flight += 1
            background = list(self._background)
        for token in background:
            token.stop()
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                self._last = time.monotonic()

    def idle_s(self) -> float:
        """Seconds since the last call ended (0 while one is in flight)."""
        with self._lock:
            return 0.0 if self._in_flight else time.monotonic() - self._last

    @contextlib.contextmanager
    def background(self) -> Iterator[StopToken]:
        """A token for background work, stopped by the next call (already stopped when one
        is in flight)."""
        token = StopToken()
        with self._lock:
            if self._in_flight:
                token.stop()
            self._background.add(token)
        try:
            yield token
        finally:
            with self._lock:
                self._background.discard(token)
