"""The store interface. Anything that keeps these records durably (SQLite here; PostgreSQL
could follow) can back the engine: it appends, lists and reads back; it never interprets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class StoreError(Exception):
    """The store refused a write (a duplicate key, a missing plan), or cannot be used."""


@dataclass(frozen=True)
class PlanRecord:
    plan_id: str
    created: float
    """Unix time."""
    scenario: str
    """The scenario as JSON, its baseline the plan's version 1."""


@dataclass(frozen=True)
class EventRecord:
    plan_id: str
    position: int
    """1, 2, ... in the order the plan took its events."""
    source: str
    event_id: str
    event: str
    """The event as JSON (the scenario format)."""
    version: int
    """The plan version after this event."""
    plan: str | None
    """The plan this event made, as JSON rows, or None when it changed nothing."""
    receipt: str
    """The receipt as JSON."""


class PlanStore(Protocol):
    def add_plan(self, plan: PlanRecord) -> None:
        """Durably add a plan; StoreError when its id is taken."""

    def delete_plan(self, plan_id: str) -> bool:
        """Remove a plan and its log; False when there was none."""

    def plans(self) -> list[PlanRecord]:
        """Every plan, oldest first."""

    def append(self, record: EventRecord) -> None:
        """Durably append to a plan's log (committed when this returns); StoreError on a
        duplicate (plan, source, event_id) or position, or an unknown plan."""

    def log(self, plan_id: str) -> list[EventRecord]:
        """A plan's log in order."""

    def close(self) -> None: ...
