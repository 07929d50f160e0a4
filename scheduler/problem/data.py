"""ProblemData: a scenario compiled to integer ticks and index arrays.

Nothing below this layer sees pydantic or protobuf objects. ``*_id`` fields are external
string ids, ``*_idx`` (and positions in the tuples) are indices into this object.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

Position = tuple[str, int, int]
"""An operation's place in a plan, by id: (machine id, start, end)."""


@dataclass(frozen=True)
class Weights:
    """Integer objective weights (see :class:`scheduler.domain.ObjectiveWeights`)."""

    makespan: int = 1
    weighted_tardiness: int = 1
    earliness: int = 0
    bottleneck_idle: int = 0


@dataclass(frozen=True)
class BufferData:
    """Kanban buffer between two stations and the (upstream op, downstream op) pairs that
    pass through it: each such job waits in it during [end(upstream), start(downstream))."""

    buffer_id: str
    upstream_idx: int
    downstream_idx: int
    cap: int
    pairs: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class ProblemData:
    time_unit: str
    horizon: int
    weights: Weights
    # stations and machines
    station_ids: tuple[str, ...]
    machine_ids: tuple[str, ...]
    machine_station: tuple[int, ...]
    unavailability: tuple[tuple[tuple[int, int], ...], ...]
    """Per machine: sorted, disjoint [start, end) windows in which it cannot work."""
    # jobs
    job_ids: tuple[str, ...]
    job_family: tuple[str, ...]
    job_release: tuple[int, ...]
    job_due: tuple[int | None, ...]
    job_weight: tuple[int, ...]
    job_ops: tuple[tuple[int, ...], ...]
    job_sources: tuple[tuple[int, ...], ...]
    job_sinks: tuple[tuple[int, ...], ...]
    # operations
    op_ids: tuple[str, ...]
    op_job: tuple[int, ...]
    op_station: tuple[int, ...]
    op_modes: tuple[tuple[tuple[int, int], ...], ...]
    """Per operation: (machine_idx, duration) for every eligible machine."""
    precedences: tuple[tuple[int, int], ...]
    """(predecessor op, successor op) pairs."""
    # lean
    buffers: tuple[BufferData, ...] = ()
    conwip: int | None = None
    bottleneck_idx: int | None = None
    bottleneck_buffer: int = 0
    # repair: the time of the repair and what can no longer change
    now: int = 0
    """No operation that is not fixed may start before ``now``."""
    op_fixed: tuple[tuple[int, int, int] | None, ...] = ()
    """Per operation (or empty): (machine_idx, start, end) of a frozen operation (done,
    running, or interrupted and holding its machine), else None."""
    deadline: int | None = None
    """No operation that is not fixed may end after this (a repair window's edge), or None."""
    op_index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    machine_index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def num_ops(self) -> int:
        return len(self.op_ids)

    @cached_property
    def predecessors(self) -> tuple[tuple[int, ...], ...]:
        """Per operation, its routing predecessors (computed once: lookups are per operation)."""
        preds: list[list[int]] = [[] for _ in range(self.num_ops)]
        for a, b in self.precedences:
            preds[b].append(a)
        return tuple(tuple(p) for p in preds)

    def fixed(self, op: int) -> tuple[int, int, int] | None:
        return self.op_fixed[op] if self.op_fixed else None

    def lag(self, pred: int, succ: int) -> int:
        """Least time between the end of ``pred`` and the start of ``succ``: the bottleneck
        time buffer when ``succ`` runs at the bottleneck, else 0."""
        if self.bottleneck_buffer and self.op_station[succ] == self.bottleneck_idx:
            return self.bottleneck_buffer
        return 0

    def duration(self, op: int, machine: int) -> int | None:
        """Duration of ``op`` on ``machine``, or None when that machine is not eligible."""
        for m, d in self.op_modes[op]:
            if m == machine:
                return d
        return None

    def committed(self, pair: tuple[int, int]) -> bool:
        """A (upstream, downstream) pair whose job is in the buffer by fact: its upstream
        operation is frozen. Committed jobs may overfill a buffer; new ones may not."""
        return self.fixed(pair[0]) is not None

    def job_committed(self, job: int) -> bool:
        """A job in the line by fact: one of its operations is frozen."""
        return bool(self.op_fixed) and any(self.op_fixed[i] is not None for i in self.job_ops[job])

    def bottleneck_machines(self) -> list[int]:
        return [m for m, s in enumerate(self.machine_station) if s == self.bottleneck_idx]


@dataclass(frozen=True)
class Timetable:
    """A schedule in index form: per operation, its machine, start and end."""

    machine: tuple[int, ...]
    start: tuple[int, ...]
    end: tuple[int, ...]


def cap_demands(committed: Sequence[bool], cap: int) -> tuple[list[int], int]:
    """(demands, capacity) of a cumulative that keeps ``cap`` while any new job is in.

    Committed jobs (facts) may overfill. With C of them: capacity max(cap, C), demand 1
    for committed and max(1, C - cap + 1) for new jobs, so whenever n >= 1 new and k
    committed jobs are in, k + n <= cap. Exact when C <= cap, stricter otherwise; the
    solver and the tier-0 repairs use it, the checker the exact rule (check.overfill).
    """
    count = sum(committed)
    new_demand = max(1, count - cap + 1)
    return [1 if c else new_demand for c in committed], max(cap, count)
