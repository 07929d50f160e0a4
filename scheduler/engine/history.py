"""A plan's past, as the store keeps it: the plan record, snapshots every so many events,
and the event log with each plan as its change against the version before. A live plan at
any version is rebuilt from the snapshot before it and the events after, without solving.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from scheduler.check import Kpis
from scheduler.domain import InputError, Scenario
from scheduler.domain.events import Event
from scheduler.domain.files import parse_scenario
from scheduler.domain.tiers import TierName
from scheduler.engine import snapshot
from scheduler.engine.live import LivePlan
from scheduler.problem import Position
from scheduler.repair import Receipt
from scheduler.store import EventRecord, PlanRecord, PlanStore, Snapshot

EVENT = TypeAdapter(Event)
SNAPSHOT_EVERY = 100
"""Events between snapshots: a restart replays at most this many per plan."""
RECENT = 32
"""Versions kept in memory per plan (for watchers and reads); older ones come from the store."""


@dataclass(frozen=True)
class Version:
    plan_id: str
    version: int
    now: int
    plan: Mapping[str, Position]
    kpis: Kpis
    receipt: Receipt | None
    """The repair that made it (None for version 1)."""


class Unreadable(Exception):
    """A stored record that cannot be read back, named."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def version_of(plan_id: str, live: LivePlan, receipt: Receipt | None) -> Version:
    assert live.kpis is not None
    return Version(plan_id, live.version, live.now, dict(live.plan), live.kpis, receipt)


def receipt_of(text: str | dict[str, Any]) -> Receipt:
    data = json.loads(text) if isinstance(text, str) else dict(text)
    data["violations"] = tuple(data["violations"])
    data["warnings"] = tuple(data.get("warnings", ()))  # records written before receipts had warnings
    data["tier"] = TierName(data["tier"])
    return Receipt(**data)


def scenario_of(record: PlanRecord) -> Scenario:
    try:
        return parse_scenario(json.loads(record.scenario))
    except (InputError, ValueError) as error:
        raise Unreadable(f"its plan record: {_why(error)}") from None


@dataclass
class Rebuilt:
    live: LivePlan
    position: int
    """Events in the log up to the live plan."""
    recent: deque[Version]


class History:
    def __init__(self, store: PlanStore, record: PlanRecord, scenario: Scenario) -> None:
        self.store, self.record, self.scenario = store, record, scenario

    def rebuild(self, version: int | None = None) -> Rebuilt:
        """The live plan at ``version`` (None: the latest) from the snapshot before it."""
        plan_id = self.record.plan_id
        kept = self.store.snapshot(plan_id, version)
        try:
            live = snapshot.load(self.scenario, kept.state) if kept else LivePlan.create(self.scenario)
        except Exception as error:
            raise Unreadable(f"snapshot at event {kept.position if kept else 0}: {_why(error)}") from None
        recent: deque[Version] = deque([self._first(live, kept)], maxlen=RECENT)
        position = kept.position if kept else 0
        for logged in self.store.log(plan_id, position):
            if version is not None and logged.version > version:
                break
            receipt = self.replay(live, logged)
            position = logged.position
            if logged.plan is not None:
                recent.append(version_of(plan_id, live, receipt))
        return Rebuilt(live, position, recent)

    def replay(self, live: LivePlan, logged: EventRecord) -> Receipt:
        """One logged event taken again with the plan it made."""
        try:
            event = EVENT.validate_json(logged.event)
            plan = snapshot.apply_changes(live.plan, logged.plan, logged.plan_format) if logged.plan else None
            live.replay(event, plan)
            return receipt_of(logged.receipt)
        except Exception as error:
            raise Unreadable(f"event log row {logged.position} ({logged.event_id!r}): {_why(error)}") from None

    def versions(self, first: int, last: int) -> list[Version]:
        """Versions ``first`` to ``last``, rebuilt from the store."""
        plan_id = self.record.plan_id
        kept = self.store.snapshot(plan_id, first)
        live = snapshot.load(self.scenario, kept.state) if kept else LivePlan.create(self.scenario)
        found = [self._first(live, kept)] if live.version >= first else []
        for logged in self.store.log(plan_id, kept.position if kept else 0):
            if logged.version > last:
                break
            receipt = self.replay(live, logged)
            if logged.plan is not None and logged.version >= first:
                found.append(version_of(plan_id, live, receipt))
        return found

    def _first(self, live: LivePlan, kept: Snapshot | None) -> Version:
        """The version a rebuild starts from, with the receipt that made it."""
        stored = snapshot.receipt_in(kept.state) if kept else None
        return version_of(self.record.plan_id, live, receipt_of(stored) if stored else None)


def _why(error: Exception) -> str:
    """One line on why a stored record could not be read."""
    text = error.summary() if isinstance(error, InputError) else str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}"[:300]
