"""The store interface. Anything that keeps these records durably (SQLite, PostgreSQL) can
back the engine: it appends, lists and reads back; it never interprets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


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
    """The plan this event made (None when it changed nothing): with ``plan_format`` 1, all
    rows as JSON ``{op: [machine, start, end]}``; with 2, the change against the version
    before, ``{"set": {op: [machine, start, end]}, "drop": [op]}``."""
    receipt: str
    """The receipt as JSON."""
    plan_format: int = 2


@dataclass(frozen=True)
class Snapshot:
    """A plan's whole state after the event at ``position`` (version ``version``), so that a
    restart replays only the events after it."""

    plan_id: str
    position: int
    version: int
    state: str


class PlanStore(Protocol):
    def add_plan(self, plan: PlanRecord) -> None:
        """Durably add a plan; StoreError when its id is taken."""

    def delete_plan(self, plan_id: str) -> bool:
        """Remove a plan and its log; False when there was none."""

    def plans(self) -> list[PlanRecord]:
        """Every plan, oldest first."""

    def plan(self, plan_id: str) -> PlanRecord | None:
        """One plan (None when there is none)."""

    def append(self, record: EventRecord) -> None:
        """Durably append to a plan's log (committed when this returns); StoreError on a
        duplicate (plan, source, event_id) or position, or an unknown plan."""

    def log(self, plan_id: str, after: int = 0) -> list[EventRecord]:
        """A plan's log in order, from the record after position ``after``."""

    def find(self, plan_id: str, source: str, event_id: str) -> EventRecord | None:
        """The record of an event, for deduplication."""

    def add_snapshot(self, snapshot: Snapshot) -> None:
        """Durably keep a snapshot (replacing one at the same position)."""

    def snapshot(self, plan_id: str, version: int | None = None) -> Snapshot | None:
        """The latest snapshot of a plan (at or before ``version`` when given)."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class Lease:
    """Who serves a plan: a replica's id and the address its clients should call."""

    owner: str
    addr: str


@runtime_checkable
class Leases(Protocol):
    """Plan leases kept in a store that several servers share, timed by the store's clock
    (so the servers' clocks do not matter)."""

    def claim(self, plan_id: str, owner: str, addr: str, seconds: float) -> Lease | None:
        """Take (or extend) the plan's lease for ``seconds`` when it is free, expired or
        already ``owner``'s; returns who holds it afterwards (None: no such plan)."""

    def renew(self, owner: str, addr: str, seconds: float, plan_ids: Sequence[str] | None = None) -> list[str]:
        """Extend for ``seconds`` the leases ``owner`` still holds (of ``plan_ids``; None:
        all of them); the plan ids extended."""

    def release(self, owner: str) -> None:
        """Give up every lease ``owner`` holds, so another server can take them at once."""
