"""The facts ledger: what the shop floor reported, at its true time, with the event that
reported it. Separate from the plan (what will happen).

Facts take their own time whatever the order they arrive in. Contradictions between
reported facts are refused with the conflicting fact named; what a fact *implies* about
one not yet reported (a start that ends an open downtime, a completion with no start) is
recorded as such and replaced when the real report comes. The ledger knows nothing of the
plan: the engine combines both into the situation a repair starts from
(``engine.situation``).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from datetime import datetime

from scheduler.domain import InputError
from scheduler.domain.events import (
    CycleTimeObserved,
    DowntimeEnded,
    DowntimeStarted,
    DowntimeUpdated,
    Event,
    OperationCompleted,
    OperationStarted,
)

Source = tuple[str, str]
"""(source, event_id) of the event that reported a fact."""


@dataclass(frozen=True)
class OperationFact:
    machine: str
    start: int | None = None
    """None: a completion came without a start; the situation infers one."""
    end: int | None = None
    """None: running (not reported completed)."""
    started_by: Source | None = None
    ended_by: Source | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    """The exact reported times, when the MES sent timestamps."""
    quantity: int | None = None
    """Units done, when the completion said."""
    machine_reported: bool = False
    """False while only a completion that named no machine is known: the machine is the plan's."""


@dataclass(frozen=True)
class DowntimeFact:
    machine: str
    start: int
    expected_end: int | None
    """From the report or its latest update; None: the policy's default duration."""
    end: int | None = None
    """Reported end (the machine is back)."""
    started_by: Source | None = None
    ended_by: Source | None = None


@dataclass(frozen=True)
class Observation:
    """A cycle-time observation: from ``time`` on, ``key`` (``("station", id)`` or
    ``("machine", id)``) runs at ``ratio``."""

    time: int
    key: tuple[str, str]
    ratio: float
    by: Source


@dataclass
class Ledger:
    operations: dict[str, OperationFact] = field(default_factory=dict)
    downtimes: dict[str, DowntimeFact] = field(default_factory=dict)
    observations: dict[tuple[str, str], list[Observation]] = field(default_factory=dict)
    """Per station or machine key, its cycle-time observations in time order."""
    sequences: dict[str, int] = field(default_factory=dict)
    """The highest sequence number seen per source."""
    gaps: int = 0
    regressions: int = 0

    def copy(self) -> Ledger:
        """An independent copy: facts are immutable, so the containers are enough."""
        return replace(self, operations=dict(self.operations), downtimes=dict(self.downtimes),
                       observations={k: list(v) for k, v in self.observations.items()},
                       sequences=dict(self.sequences))  # fmt: skip

    # ------------------------------------------------------------------ recording

    def record(self, event: Event, now: int, machine: str | None = None, infer_start: bool = True) -> list[str]:
        """Take ``event``'s facts (``machine``: where an operation runs when the event does
        not say). Returns warnings; raises InputError on a contradiction, changing nothing."""
        warnings = self._sequence(event)
        if event.time < now:
            warnings.append(f"late by {now - event.time} tick(s): {event.type} at {event.time}, now {now}")
        by = (event.source, event.event_id)
        if isinstance(event, OperationStarted):
            warnings += self._started(event, event.machine or machine or "", by)
        elif isinstance(event, OperationCompleted):
            warnings += self._completed(event, machine or "", by, infer_start)
        elif isinstance(event, DowntimeStarted):
            self._down(event, by)
        elif isinstance(event, DowntimeUpdated | DowntimeEnded):
            self._changed(event, by)
        elif isinstance(event, CycleTimeObserved):
            key = ("station", event.station) if event.station is not None else ("machine", event.machine or "")
            bisect.insort(self.observations.setdefault(key, []), Observation(event.time, key, event.ratio, by),
                          key=lambda o: o.time)  # fmt: skip
        return warnings

    def _sequence(self, event: Event) -> list[str]:
        if event.sequence is None:
            return []
        last = self.sequences.get(event.source)
        self.sequences[event.source] = max(event.sequence, last if last is not None else event.sequence)
        if last is None or event.sequence == last + 1:
            return []
        if event.sequence > last + 1:
            self.gaps += 1
            missing = event.sequence - last - 1
            return [f"sequence {event.sequence} from {event.source!r} after {last}: {missing} missing"]
        self.regressions += 1
        return [f"sequence {event.sequence} from {event.source!r} after {last}: out of order"]

    def _started(self, event: OperationStarted, machine: str, by: Source) -> list[str]:
        fact = self.operations.get(event.operation)
        if fact is not None and fact.start is not None and fact.started_by is not None:
            if (fact.start, fact.machine) == (event.time, machine):
                return [f"{event.operation} was already reported started at {fact.start} ({_who(fact.started_by)})"]
            raise InputError.single(
                "event.time",
                f"{event.operation} already started at {fact.start} on {fact.machine} ({_who(fact.started_by)})",
            )
        if fact is not None and fact.end is not None and event.time >= fact.end:
            raise InputError.single(
                "event.time", f"start {event.time} is not before {event.operation}'s reported completion at {fact.end}"
            )
        if fact is not None and fact.machine != machine and fact.machine_reported:
            raise InputError.single(
                "event.machine", f"{event.operation} was reported completed on {fact.machine}, not {machine}"
            )
        end = fact.end if fact is not None else None
        self._free(machine, event.time, end, event.operation, "event.time")
        self.operations[event.operation] = replace(
            fact or OperationFact(machine),
            machine=machine,
            start=event.time,
            started_by=by,
            start_at=event.at,
            machine_reported=True,
        )
        return []

    def _completed(self, event: OperationCompleted, machine: str, by: Source, infer: bool) -> list[str]:
        fact = self.operations.get(event.operation)
        if fact is not None and fact.end is not None:
            if fact.end == event.time:
                return [f"{event.operation} was already reported completed at {fact.end}"]
            assert fact.ended_by is not None
            raise InputError.single(
                "event.time",
                f"{event.operation} already completed at {fact.end} ({_who(fact.ended_by)})",
            )
        if fact is None and not infer:
            raise InputError.single(
                "event.operation",
                f"{event.operation} was never reported started (policy: completions need a reported start)",
            )
        if fact is None and event.time < 1:
            raise InputError.single(
                "event.time", f"a completion at {event.time} leaves {event.operation} no time to run"
            )
        if fact is not None and event.machine is not None and event.machine != fact.machine:
            raise InputError.single(
                "event.machine", f"{event.operation} started on {fact.machine}, not {event.machine}"
            )
        if fact is not None and fact.start is not None and event.time <= fact.start:
            raise InputError.single(
                "event.time", f"completion at {event.time} is not after {event.operation}'s start at {fact.start}"
            )
        fact = fact or OperationFact(machine, machine_reported=event.machine is not None)
        if fact.start is not None:
            self._free(fact.machine, fact.start, event.time, event.operation, "event.time")
        self.operations[event.operation] = replace(
            fact, end=event.time, ended_by=by, end_at=event.at, quantity=event.quantity
        )
        return [] if fact.start is not None else [f"{event.operation} completed with no reported start: start inferred"]

    def _free(self, machine: str, start: int, end: int | None, op: str, where: str) -> None:
        """Refuse a fact [start, end) on ``machine`` that another closed fact or a closed
        downtime contradicts (``end`` None: running, only its start counts)."""
        stop = end if end is not None else start + 1
        for other_id, other in self.operations.items():
            if other_id == op or other.machine != machine or other.start is None or other.end is None:
                continue
            if other.start < stop and start < other.end:
                raise InputError.single(
                    where,
                    f"{op} on {machine} at [{start}, {end if end is not None else '...'}) overlaps {other_id} "
                    f"[{other.start}, {other.end}) ({_who(other.started_by)}, {_who(other.ended_by)})",
                )
        for down_id, down in self.downtimes.items():
            if down.machine != machine or down.end is None:
                continue
            inside = down.start <= start < down.end or (end is not None and down.start < end <= down.end)
            if inside:
                raise InputError.single(
                    where, f"{machine} was down during [{down.start}, {down.end}) (downtime {down_id!r})"
                )

    def _down(self, event: DowntimeStarted, by: Source) -> None:
        if event.downtime_id in self.downtimes:
            raise InputError.single("event.downtime_id", f"downtime {event.downtime_id!r} has already started")
        expected = event.expected_end
        if expected is None and event.expected_duration is not None:
            expected = event.time + event.expected_duration
        self.downtimes[event.downtime_id] = DowntimeFact(event.machine, event.time, expected, started_by=by)

    def _changed(self, event: DowntimeUpdated | DowntimeEnded, by: Source) -> None:
        down = self.downtimes.get(event.downtime_id)
        if down is None or down.machine != event.machine:
            raise InputError.single("event.downtime_id", f"no downtime {event.downtime_id!r} on {event.machine!r}")
        if down.end is not None:
            raise InputError.single("event.downtime_id", f"downtime {event.downtime_id!r} has already ended")
        if isinstance(event, DowntimeUpdated):
            self.downtimes[event.downtime_id] = replace(down, expected_end=event.expected_end)
            return
        if event.time < down.start:
            raise InputError.single(
                "event.time", f"end {event.time} is before downtime {event.downtime_id!r} started at {down.start}"
            )
        for op_id, fact in self.operations.items():
            if fact.machine != event.machine:
                continue
            started = fact.start is not None and down.start <= fact.start < event.time
            ended = fact.end is not None and down.start < fact.end <= event.time
            if started or ended:
                moment = fact.start if started else fact.end
                raise InputError.single(
                    "event.time",
                    f"{op_id} {'started' if started else 'completed'} on {event.machine} at {moment}, while it "
                    f"would still be down ({_who(fact.started_by)}, {_who(fact.ended_by)})",
                )
        self.downtimes[event.downtime_id] = replace(down, end=event.time, ended_by=by)

    # ------------------------------------------------------------------ reading

    def factor_at(self, key: tuple[str, str], time: int, tolerance: float) -> float:
        """The cycle-time factor of ``key`` in force at ``time`` (1 within the tolerance)."""
        seen = self.observations.get(key, [])
        k = bisect.bisect_right(seen, time, key=lambda o: o.time)
        ratio = seen[k - 1].ratio if k else 1.0
        return 1.0 if abs(ratio - 1.0) <= tolerance else ratio

    def observed(self, key: tuple[str, str], by: int | None = None) -> bool:
        """Whether ``key`` has an observation (at or before ``by``)."""
        seen = self.observations.get(key, [])
        return bool(seen) and (by is None or seen[0].time <= by)

    def changes_after(self, keys: tuple[tuple[str, str], ...], time: int) -> list[int]:
        """When the cycle time of any of ``keys`` changes after ``time``."""
        return sorted({o.time for key in keys for o in self.observations.get(key, []) if o.time > time})

    def started(self) -> set[str]:
        return set(self.operations)


def _who(source: Source | None) -> str:
    return f"event {source[1]!r}" if source is not None else "inferred"
