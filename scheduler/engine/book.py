"""The plan book: every live plan of a server, durable through a store.

Each plan is a :class:`LivePlan`, its latest versions and its history in the store. An
event is applied to a fork of the plan; only once its record (the event and the change it
made to the plan) is committed does the fork become the plan and the event get its
acknowledgement, so a failure anywhere leaves the plan as it was. Memory holds the live
plan and its last few versions; older versions, and the acknowledgement of an event sent
again, come from the store. Every so many events a snapshot of the whole state is stored,
and a restart rebuilds each plan from its last snapshot and the events after it, without
solving; a plan whose records cannot be read is kept aside as damaged, and the others
load. Calls on one plan are serialised by its lock; calls on different plans run in
parallel.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import replace

from scheduler.domain import InputError, Scenario
from scheduler.domain.events import Event
from scheduler.engine import snapshot, whatif
from scheduler.engine.activity import Activity
from scheduler.engine.answers import (
    Ack,
    EventRejected,
    Late,
    Listener,
    PlanDamaged,
    PlanNotFound,
    Report,
    StaleVersion,
    Summary,
    WhatIf,
)
from scheduler.engine.board import Board, Series, board_of, series_of
from scheduler.engine.entry import Entry
from scheduler.engine.history import (
    EVENT,
    RECENT,
    SNAPSHOT_EVERY,
    History,
    Unreadable,
    Version,
    receipt_of,
    scenario_of,
    version_of,
)
from scheduler.engine.line import LineState, line_state
from scheduler.engine.live import Foresight, LivePlan
from scheduler.engine.result import refuse_conflicting_duplicate
from scheduler.logs import bound
from scheduler.problem import rows_of
from scheduler.repair import Receipt
from scheduler.solver import StopToken
from scheduler.store import EventRecord, PlanRecord, PlanStore, Snapshot, StoreError

_LOG = logging.getLogger(__name__)
_PLAN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_MIN_BUDGET_MS = 10
_ANSWER_MS_PER_ACK = 0.25
"""Kept back per event already taken when a batch has a deadline: its acknowledgement is
converted, counted and logged after the engine's work (a batch of hundreds missed its deadline)."""


class PlanBook:
    def __init__(self, store: PlanStore, predict: Foresight | None = None) -> None:
        """``predict``: what ``verify: twin`` rules ask before they fire (None: they do not)."""
        self.store, self.predict = store, predict
        self._plans: dict[str, Entry] = {}
        self._damaged: dict[str, tuple[PlanRecord, str]] = {}
        self._lock = threading.Lock()
        self.activity = Activity()
        """Calls in flight: the background improver runs only between them."""
        for record in self._startup_plans():
            try:
                self._plans[record.plan_id] = self._rebuild(record)
            except Unreadable as error:
                _LOG.error("plan %r not loaded: %s", record.plan_id, error.reason)
                self._damaged[record.plan_id] = (record, error.reason)

    def _startup_plans(self) -> list[PlanRecord]:
        """The plans loaded at start: all of them (a replica loads only those it owns)."""
        return self.store.plans()

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ plans

    def create(self, scenario: Scenario, plan_id: str = "", deadline: float | None = None) -> Version:
        """Solve ``scenario`` (unless it has a baseline) into version 1 and store it; the
        solve ends by ``deadline`` (``time.perf_counter()`` based; Late when already past)."""
        plan_id = plan_id or uuid.uuid4().hex[:12]
        if not _PLAN_ID.match(plan_id):
            raise InputError.single("plan_id", f"{plan_id!r} is not a plan id (letters, digits, '.', '_', '-')")
        with self._lock:
            if plan_id in self._plans or plan_id in self._damaged:
                raise InputError.single("plan_id", f"plan {plan_id!r} already exists")
        limit = None
        if deadline is not None:
            limit = deadline - time.perf_counter()
            if limit <= 0:
                raise Late("the call's deadline passed before the plan could be solved")
        with self.activity.call():
            live = LivePlan.create(scenario, time_limit_s=limit)
        live.predict = self.predict
        stored = scenario.model_copy(update={"baseline": live.schedule(), "events": []})
        record = PlanRecord(plan_id, time.time(), stored.model_dump_json())
        first = deque([version_of(plan_id, live, None)], maxlen=RECENT)
        entry = Entry(History(self.store, record, stored), live, 0, first)
        with self._lock:
            if plan_id in self._plans or plan_id in self._damaged:
                raise InputError.single("plan_id", f"plan {plan_id!r} already exists")
            self.store.add_plan(record)
            self._plans[plan_id] = entry
        return entry.latest

    def get(self, plan_id: str, version: int = 0) -> Version:
        """A version (0: the latest): from memory when recent, else rebuilt from the store.
        Reads never wait for a repair in progress."""
        entry = self._entry(plan_id)
        wanted = version or entry.latest.version
        return entry.versions(wanted, wanted)[0]

    def summaries(self) -> list[Summary]:
        with self._lock:
            entries = list(self._plans.items())
            damaged = list(self._damaged.items())
        healthy = [Summary(pid, e.history.scenario.name, e.history.record.created, e.latest) for pid, e in entries]
        return healthy + [Summary(pid, "", record.created, None, reason) for pid, (record, reason) in damaged]

    def delete(self, plan_id: str) -> None:
        """Forget a plan: waits for the call in flight on it, then ends its watchers."""
        with self._lock:
            if self._damaged.pop(plan_id, None) is not None:
                self.store.delete_plan(plan_id)
                return
        entry = self._entry(plan_id)
        with entry.lock, self._lock:
            if self._plans.get(plan_id) is not entry:
                raise PlanNotFound(plan_id)
            del self._plans[plan_id]
            self.store.delete_plan(plan_id)
            entry.deleted = True
            listeners, entry.listeners = entry.listeners, []
        for listener in listeners:
            listener(None)

    def time_base(self, plan_id: str) -> Scenario:
        """The scenario a plan's times are read against (its start and unit)."""
        return self._entry(plan_id).history.scenario

    # ------------------------------------------------------------------ events

    def report(
        self,
        plan_id: str,
        events: Sequence[Event],
        expected_version: int | None = None,
        budget_ms: int | None = None,
        deadline: float | None = None,
        stop: StopToken | None = None,
    ) -> Report:
        """Apply ``events`` in order; each is committed before the next is taken.

        ``budget_ms`` caps each repair (default the policy's); ``deadline``
        (``time.perf_counter()`` based) shares what is left of the call among the events
        still to come, and events not started by then are not applied (nor after ``stop``).
        A duplicate gets its original acknowledgement and no second effect."""
        entry = self._entry(plan_id)
        with self.activity.call(), entry.lock:
            if entry.deleted:
                raise PlanNotFound(plan_id)
            if expected_version is not None and expected_version != entry.live.version:
                raise StaleVersion(expected_version, entry.live.version)
            acks: list[Ack] = []
            derived: list[Ack] = []
            for k, event in enumerate(events):
                if (first := self._duplicate(entry, event, k, acks)) is not None:
                    acks.append(first)
                    continue
                began = time.perf_counter()
                left_ms = None if deadline is None else (deadline - began) * 1000
                if left_ms is not None:
                    left_ms -= _ANSWER_MS_PER_ACK * len(acks)
                if (stop is not None and stop.stopped) or (left_ms is not None and left_ms < _MIN_BUDGET_MS):
                    return Report(acks, entry.latest, len(events) - k, derived)
                budget = budget_ms or entry.live.policy.budget_ms
                if left_ms is not None:
                    budget = max(_MIN_BUDGET_MS, min(budget, int(left_ms / (len(events) - k))))
                with bound(event_id=event.event_id, source=event.source):  # on the engine's and CP-SAT's logs
                    acks.append(self._take(entry, event, began, budget, stop, k, acks))
                derived += self._derived(entry, budget, stop)
            return Report(acks, entry.latest, derived=derived)

    def _derived(self, entry: Entry, budget: int, stop: StopToken | None) -> list[Ack]:
        """What the engine derives from the facts (the takt monitor), logged and repaired like
        a reported event. One that cannot be taken is logged and tried again at the next event."""
        acks: list[Ack] = []
        for event in entry.live.derived():
            try:
                with bound(event_id=event.event_id, source=event.source):
                    taken = self._take(entry, event, time.perf_counter(), budget, stop, 0, [])
                acks.append(replace(taken, event=event))
            except EventRejected as refused:
                _LOG.warning("derived event %r not taken: %s", event.event_id, refused.error.summary())
        return acks

    def _duplicate(self, entry: Entry, event: Event, k: int, acks: list[Ack]) -> Ack | None:
        """The first acknowledgement of an event sent again (from the store), or None; the
        same id with another payload is refused."""
        logged = self.store.find(entry.plan_id, event.source, event.event_id)
        if logged is None:
            return None
        try:
            refuse_conflicting_duplicate(EVENT.validate_json(logged.event), event)
        except InputError as error:
            raise EventRejected(k, error, acks) from None
        return Ack(event.event_id, event.source, logged.version, receipt_of(logged.receipt), duplicate=True)

    def _take(
        self, entry: Entry, event: Event, began: float, budget: int, stop: StopToken | None, k: int, acks: list[Ack]
    ) -> Ack:
        """One event, as a transaction: repaired on a fork, logged, then committed."""
        try:
            trial, result = entry.live.attempt(event, began, budget, stop)
        except InputError as error:
            _LOG.info("event %r from %r refused: %s", event.event_id, event.source, error.summary())
            raise EventRejected(k, error, acks) from None
        self._commit(entry, event, trial, result.version, result.receipt)
        return Ack(event.event_id, event.source, result.version, result.receipt)

    def _commit(self, entry: Entry, event: Event, trial: LivePlan, version: int, receipt: Receipt) -> None:
        """Log ``event`` with the change ``trial`` made, then make ``trial`` the plan."""
        changed = version != entry.latest.version
        position = entry.position + 1
        self.store.append(
            EventRecord(
                plan_id=entry.plan_id,
                position=position,
                source=event.source,
                event_id=event.event_id,
                event=event.model_dump_json(),
                version=version,
                plan=snapshot.changes(entry.live.plan, trial.plan) if changed else None,
                receipt=json.dumps(receipt.as_dict()),
            )
        )
        entry.live, entry.position = trial, position
        if position % SNAPSHOT_EVERY == 0:
            self._snapshot(entry, receipt)
        if changed:
            entry.recent.append(version_of(entry.plan_id, trial, receipt))
            entry.notify(entry.latest)

    # ------------------------------------------------------------------ background work

    def plan_ids(self) -> list[str]:
        with self._lock:
            return list(self._plans)

    def fork(self, plan_id: str) -> tuple[LivePlan, int] | None:
        """A copy of the live plan to work on in the background, and the log position it
        stands at (None when the plan is gone or a call holds it)."""
        with self._lock:
            entry = self._plans.get(plan_id)
        if entry is None or not entry.lock.acquire(blocking=False):
            return None
        try:
            return None if entry.deleted else (entry.live.fork(), entry.position)
        finally:
            entry.lock.release()

    def publish(self, plan_id: str, position: int, trial: LivePlan, event: Event, receipt: Receipt) -> Version | None:
        """Commit ``trial`` (a fork made at ``position`` and changed by ``event``) as the next
        version, unless anything was taken since or a call is in flight: then None."""
        with self._lock:
            entry = self._plans.get(plan_id)
        if entry is None or self.activity.idle_s() == 0 or not entry.lock.acquire(blocking=False):
            return None
        try:
            if entry.deleted or entry.position != position:
                return None
            self._commit(entry, event, trial, trial.version, receipt)
            return entry.latest
        finally:
            entry.lock.release()

    def _snapshot(self, entry: Entry, receipt: Receipt | None) -> None:
        """Keep the whole state in the store; a failure only costs a longer restart."""
        state = snapshot.dump(entry.live, receipt if entry.latest.version == entry.live.version else None)
        try:
            self.store.add_snapshot(Snapshot(entry.plan_id, entry.position, entry.live.version, state))
        except StoreError as error:
            _LOG.warning("plan %r: snapshot at event %d not stored: %s", entry.plan_id, entry.position, error)

    def evaluate(
        self,
        plan_id: str,
        version: int,
        events: Sequence[Event],
        kanban: Mapping[str, int],
        budget_ms: int | None = None,
    ) -> WhatIf:
        """A what-if on a fork of ``version`` (0: latest): new kanban caps, then ``events``,
        against the same without the new caps (``engine.whatif``). Nothing live changes."""
        entry = self._entry(plan_id)
        with self.activity.call(), entry.lock:
            if entry.deleted:
                raise PlanNotFound(plan_id)
            wanted = version or entry.latest.version
            base = entry.versions(wanted, wanted)[0]
            fork = entry.live.fork() if base.version == entry.live.version else entry.history.rebuild(wanted).live
        return whatif.evaluate(fork, base, events, kanban, budget_ms)

    def current(self, plan_id: str) -> LivePlan:
        """A fork of the live plan as it stands between calls on it (after the event being
        applied, if any): what is done to the fork never reaches the plan."""
        entry = self._entry(plan_id)
        with self.activity.call(), entry.lock:
            if entry.deleted:
                raise PlanNotFound(plan_id)
            return entry.live.fork()

    def line_state(self, plan_id: str, window: int | None = None) -> LineState:
        """Realised and planned KPIs and the takt monitor's state (reads the live plan as it is)."""
        entry = self._entry(plan_id)
        baseline = entry.history.scenario.baseline
        return line_state(entry.live, rows_of(baseline) if baseline else None, window)

    def board(self, plan_id: str) -> Board:
        """The live plan's problem at now, frozen work and facts (the console's Gantt)."""
        return board_of(self._entry(plan_id).live)

    def series(self, plan_id: str, points: int) -> Series:
        """Realised and planned KPIs per time bucket (the console's charts)."""
        return series_of(self._entry(plan_id).live, points)

    # ------------------------------------------------------------------ watchers

    def watch(self, plan_id: str, version: int, listener: Listener) -> list[Version]:
        """Subscribe ``listener`` to the plan's new versions; returns the versions from
        ``version`` on (0: the latest only; the next version, not made yet: none). A version
        beyond the next is PlanNotFound. Once the plan is deleted the listener gets None."""
        entry = self._entry(plan_id)
        latest = entry.latest.version
        if version > latest + 1:
            raise PlanNotFound(plan_id, version)
        entry.listeners.append(listener)  # first: a version made meanwhile is in both, and sent once
        if version == latest + 1:
            return []
        return entry.versions(version or latest, entry.latest.version)

    def unwatch(self, plan_id: str, listener: Listener) -> None:
        with self._lock:
            entry = self._plans.get(plan_id)
            if entry is not None and listener in entry.listeners:
                entry.listeners.remove(listener)

    # ------------------------------------------------------------------ internals

    def _entry(self, plan_id: str) -> Entry:
        with self._lock:
            entry = self._plans.get(plan_id)
            damaged = self._damaged.get(plan_id)
        if damaged is not None:
            raise PlanDamaged(plan_id, damaged[1])
        if entry is None:
            raise PlanNotFound(plan_id)
        return entry

    def _rebuild(self, record: PlanRecord) -> Entry:
        """A plan back from its last snapshot and the events after it, without solving; a
        long log with no snapshot (an older store) gets one now. Unreadable names the
        record that cannot be read."""
        history = History(self.store, record, scenario_of(record))
        rebuilt = history.rebuild()
        rebuilt.live.predict = self.predict
        entry = Entry(history, rebuilt.live, rebuilt.position, rebuilt.recent)
        kept = self.store.snapshot(record.plan_id)
        if entry.position - (kept.position if kept else 0) >= SNAPSHOT_EVERY:
            self._snapshot(entry, entry.latest.receipt)
        return entry
