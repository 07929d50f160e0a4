"""The plan book: every live plan of a server, durable through a store.

Each plan is a :class:`LivePlan` plus its versions and the acknowledgement of every event
it took. An event is applied to a fork of the plan; only once its record (the event and the
plan it made) is committed to the store does the fork become the plan and the event get
its acknowledgement, so a failure anywhere leaves the plan as it was. On start the book
replays each plan's log with the recorded plans, without solving, and reaches the same
versions and schedules; a plan whose records cannot be read is kept aside as damaged, and
the others load. Calls on one plan are serialised by its lock; calls on different plans
run in parallel.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from pydantic import TypeAdapter

from scheduler.check import Kpis
from scheduler.domain import InputError, Scenario
from scheduler.domain.events import Event
from scheduler.domain.files import parse_scenario
from scheduler.engine.live import LivePlan
from scheduler.problem import Position, compile_problem, reference_of
from scheduler.repair import Change, Receipt, change
from scheduler.solver import StopToken
from scheduler.store import EventRecord, PlanRecord, PlanStore

_LOG = logging.getLogger(__name__)
_EVENT = TypeAdapter(Event)
_PLAN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_MIN_BUDGET_MS = 10


class PlanNotFound(LookupError):
    def __init__(self, plan_id: str, version: int | None = None) -> None:
        self.plan_id, self.version = plan_id, version
        super().__init__(f"no plan {plan_id!r}" + (f" version {version}" if version else ""))


class PlanDamaged(LookupError):
    """A stored plan that could not be loaded; only deleting it is possible."""

    def __init__(self, plan_id: str, reason: str) -> None:
        self.plan_id, self.reason = plan_id, reason
        super().__init__(f"plan {plan_id!r} could not be loaded from the store ({reason}); delete it or restore it")


class Late(Exception):
    """The call's deadline passed before the work could start."""


class StaleVersion(Exception):
    def __init__(self, expected: int, actual: int) -> None:
        self.expected, self.actual = expected, actual
        super().__init__(f"expected version {expected}, the plan is at version {actual}")


class EventRejected(Exception):
    """Event ``index`` of a batch was invalid; the ones before it were taken (``acks``)."""

    def __init__(self, index: int, error: InputError, acks: list[Ack]) -> None:
        self.index, self.error, self.acks = index, error, acks
        super().__init__(f"events[{index}]: {error.summary()}")


@dataclass(frozen=True)
class Version:
    plan_id: str
    version: int
    now: int
    plan: Mapping[str, Position]
    kpis: Kpis
    receipt: Receipt | None
    """The repair that made it (None for version 1)."""


@dataclass(frozen=True)
class Ack:
    event_id: str
    source: str
    version: int
    receipt: Receipt
    duplicate: bool = False


@dataclass(frozen=True)
class Report:
    """What a batch of events did: an acknowledgement per event applied (or resent), the
    plan after them, and how many at the end were not applied (the deadline came, or the
    call was cancelled): those can be sent again."""

    acks: list[Ack]
    latest: Version
    not_applied: int = 0


@dataclass(frozen=True)
class Summary:
    plan_id: str
    name: str
    created: float
    latest: Version | None
    """None for a damaged plan."""
    damaged: str = ""


@dataclass(frozen=True)
class WhatIf:
    base: Version
    plan: Version
    receipts: list[Receipt]
    diff: Change
    makespan_delta: int
    weighted_tardiness_delta: int


Listener = Callable[[Version | None], None]
"""Called with each new version; with None once the plan is deleted (the end of the stream)."""


@dataclass
class _Entry:
    record: PlanRecord
    scenario: Scenario
    live: LivePlan
    versions: list[Version]
    acks: dict[tuple[str, str], Ack] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    listeners: list[Listener] = field(default_factory=list)
    deleted: bool = False


class PlanBook:
    def __init__(self, store: PlanStore) -> None:
        self.store = store
        self._plans: dict[str, _Entry] = {}
        self._damaged: dict[str, tuple[PlanRecord, str]] = {}
        self._lock = threading.Lock()
        for record in store.plans():
            try:
                self._plans[record.plan_id] = self._rebuild(record)
            except _Unreadable as error:
                _LOG.error("plan %r not loaded: %s", record.plan_id, error.reason)
                self._damaged[record.plan_id] = (record, error.reason)

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
        live = LivePlan.create(scenario, time_limit_s=limit)
        stored = scenario.model_copy(update={"baseline": live.schedule(), "events": []})
        record = PlanRecord(plan_id, time.time(), stored.model_dump_json())
        entry = _Entry(record, stored, live, [self._version(plan_id, live, None)])
        with self._lock:
            if plan_id in self._plans or plan_id in self._damaged:
                raise InputError.single("plan_id", f"plan {plan_id!r} already exists")
            self.store.add_plan(record)
            self._plans[plan_id] = entry
        return entry.versions[0]

    def get(self, plan_id: str, version: int = 0) -> Version:
        versions = self._entry(plan_id).versions
        if version == 0:
            return versions[-1]
        if not 1 <= version <= len(versions):
            raise PlanNotFound(plan_id, version)
        return versions[version - 1]

    def summaries(self) -> list[Summary]:
        with self._lock:
            entries = list(self._plans.items())
            damaged = list(self._damaged.items())
        healthy = [Summary(pid, e.scenario.name, e.record.created, e.versions[-1]) for pid, e in entries]
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
        return self._entry(plan_id).scenario

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
        with entry.lock:
            if entry.deleted:
                raise PlanNotFound(plan_id)
            if expected_version is not None and expected_version != entry.live.version:
                raise StaleVersion(expected_version, entry.live.version)
            acks: list[Ack] = []
            for k, event in enumerate(events):
                key = (event.source, event.event_id)
                if (first := entry.acks.get(key)) is not None:
                    acks.append(Ack(first.event_id, first.source, first.version, first.receipt, duplicate=True))
                    continue
                began = time.perf_counter()
                left_ms = None if deadline is None else (deadline - began) * 1000
                if (stop is not None and stop.stopped) or (left_ms is not None and left_ms < _MIN_BUDGET_MS):
                    return Report(acks, entry.versions[-1], len(events) - k)
                budget = budget_ms or entry.live.policy.budget_ms
                if left_ms is not None:
                    budget = max(_MIN_BUDGET_MS, min(budget, int(left_ms / (len(events) - k))))
                acks.append(self._take(entry, event, began, budget, stop, k, acks))
            return Report(acks, entry.versions[-1])

    def _take(
        self, entry: _Entry, event: Event, began: float, budget: int, stop: StopToken | None, k: int, acks: list[Ack]
    ) -> Ack:
        """One event, as a transaction: repaired on a fork, logged, then committed."""
        try:
            trial, result = entry.live.attempt(event, began, budget, stop)
        except InputError as error:
            _LOG.info("event %r from %r refused: %s", event.event_id, event.source, error.summary())
            raise EventRejected(k, error, acks) from None
        changed = result.version != entry.versions[-1].version
        self.store.append(
            EventRecord(
                plan_id=entry.record.plan_id,
                position=len(entry.acks) + 1,
                source=event.source,
                event_id=event.event_id,
                event=event.model_dump_json(),
                version=result.version,
                plan=json.dumps(trial.plan) if changed else None,
                receipt=json.dumps(result.receipt.as_dict()),
            )
        )
        entry.live = trial
        ack = Ack(event.event_id, event.source, result.version, result.receipt)
        entry.acks[(event.source, event.event_id)] = ack
        if changed:
            entry.versions.append(self._version(entry.record.plan_id, trial, result.receipt))
            self._notify(entry, entry.versions[-1])
        return ack

    def evaluate(
        self,
        plan_id: str,
        version: int,
        events: Sequence[Event],
        kanban: Mapping[str, int],
        budget_ms: int | None = None,
    ) -> WhatIf:
        """A what-if on a fork of ``version`` (0: latest): new kanban caps, then ``events``.
        Nothing live changes; the fork is compared with the plan it was made from."""
        entry = self._entry(plan_id)
        with entry.lock:
            if entry.deleted:
                raise PlanNotFound(plan_id)
            base = self.get(plan_id, version)
            fork = entry.live.fork() if base.version == entry.live.version else self._replayed(entry, base.version)
        receipts = []
        if kanban:
            receipts.append(fork.retune(dict(kanban), "what-if-kanban", budget_ms).receipt)
        for k, event in enumerate(events):
            try:
                receipts.append(fork.apply(event, budget_ms=budget_ms).receipt)
            except InputError as error:
                raise EventRejected(k, error, []) from None
        problem = compile_problem(fork.scenario)  # every operation counts in the diff, started or not
        plan = fork.timetable(problem)
        moves = change(problem, reference_of(problem, base.plan), plan)
        after = replace(self._version(plan_id, fork, receipts[-1] if receipts else None), version=base.version)
        return WhatIf(
            base,
            after,
            receipts,
            moves,
            after.kpis.makespan - base.kpis.makespan,
            after.kpis.total_weighted_tardiness - base.kpis.total_weighted_tardiness,
        )

    # ------------------------------------------------------------------ watchers

    def watch(self, plan_id: str, version: int, listener: Listener) -> list[Version]:
        """Subscribe ``listener`` to the plan's new versions; returns the versions from
        ``version`` on (0: the latest only; the next version, not made yet: none). A version
        beyond the next is PlanNotFound. Once the plan is deleted the listener gets None."""
        entry = self._entry(plan_id)
        with entry.lock:
            latest = entry.versions[-1].version
            if version > latest + 1:
                raise PlanNotFound(plan_id, version)
            entry.listeners.append(listener)
            return entry.versions[-1:] if version == 0 else entry.versions[max(1, version) - 1 :]

    def unwatch(self, plan_id: str, listener: Listener) -> None:
        with self._lock:
            entry = self._plans.get(plan_id)
            if entry is not None and listener in entry.listeners:
                entry.listeners.remove(listener)

    @staticmethod
    def _notify(entry: _Entry, version: Version) -> None:
        for listener in list(entry.listeners):
            listener(version)

    # ------------------------------------------------------------------ internals

    def _entry(self, plan_id: str) -> _Entry:
        with self._lock:
            entry = self._plans.get(plan_id)
            damaged = self._damaged.get(plan_id)
        if damaged is not None:
            raise PlanDamaged(plan_id, damaged[1])
        if entry is None:
            raise PlanNotFound(plan_id)
        return entry

    def _rebuild(self, record: PlanRecord) -> _Entry:
        """A plan back from its record and log: the logged plans, no solving. _Unreadable
        names the record that cannot be read."""
        try:
            scenario = parse_scenario(json.loads(record.scenario))
            live = LivePlan.create(scenario)
        except Exception as error:
            raise _Unreadable(f"its plan record: {_why(error)}") from None
        entry = _Entry(record, scenario, live, [self._version(record.plan_id, live, None)])
        for logged in self.store.log(record.plan_id):
            try:
                event = _EVENT.validate_json(logged.event)
                live.replay(event, _rows(logged.plan) if logged.plan is not None else None)
                receipt = _receipt(logged.receipt)
            except Exception as error:
                raise _Unreadable(f"event log row {logged.position} ({logged.event_id!r}): {_why(error)}") from None
            entry.acks[(logged.source, logged.event_id)] = Ack(logged.event_id, logged.source, logged.version, receipt)
            if logged.plan is not None:
                entry.versions.append(self._version(record.plan_id, live, receipt))
        return entry

    def _replayed(self, entry: _Entry, version: int) -> LivePlan:
        """A fresh live plan at an older ``version``, replayed from the log."""
        live = LivePlan.create(entry.scenario)
        for logged in self.store.log(entry.record.plan_id):
            if logged.version > version:
                break
            live.replay(_EVENT.validate_json(logged.event), _rows(logged.plan) if logged.plan is not None else None)
        return live

    @staticmethod
    def _version(plan_id: str, live: LivePlan, receipt: Receipt | None) -> Version:
        assert live.kpis is not None
        return Version(plan_id, live.version, live.now, dict(live.plan), live.kpis, receipt)


class _Unreadable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _why(error: Exception) -> str:
    """One line on why a stored record could not be read."""
    text = error.summary() if isinstance(error, InputError) else str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}"[:300]


def _rows(text: str) -> dict[str, Position]:
    return {op: (m, int(s), int(e)) for op, (m, s, e) in json.loads(text).items()}


def _receipt(text: str) -> Receipt:
    data = json.loads(text)
    data["violations"] = tuple(data["violations"])
    data["warnings"] = tuple(data.get("warnings", ()))  # records written before receipts had warnings
    return Receipt(**data)
