"""One plan held by the plan book: its live plan, latest versions, lock and watchers."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from scheduler.engine.answers import Listener, PlanNotFound
from scheduler.engine.history import History, Version
from scheduler.engine.live import LivePlan


@dataclass
class Entry:
    history: History
    live: LivePlan
    position: int
    """Events in the plan's log."""
    recent: deque[Version]
    """The latest versions, newest last."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    listeners: list[Listener] = field(default_factory=list)
    deleted: bool = False

    @property
    def latest(self) -> Version:
        return self.recent[-1]

    @property
    def plan_id(self) -> str:
        return self.history.record.plan_id

    def versions(self, first: int, last: int) -> list[Version]:
        """Versions ``first`` to ``last`` (PlanNotFound beyond the latest), from what is
        committed: the recent ones in memory, older ones rebuilt from the store."""
        recent = list(self.recent)
        if not 1 <= first <= last <= recent[-1].version:
            raise PlanNotFound(self.plan_id, first if not 1 <= first <= recent[-1].version else last)
        if first >= recent[0].version:
            return [v for v in recent if first <= v.version <= last]
        return self.history.versions(first, last)

    def notify(self, version: Version) -> None:
        """Every watcher gets ``version``."""
        for listener in list(self.listeners):
            listener(version)
