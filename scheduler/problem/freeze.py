"""The problem at "now": frozen operations, downtime, changed cycle times.

A repair never moves what has happened. :func:`freeze` turns a :class:`Situation` (the
facts the shop floor reported, in ids) into ProblemData where frozen operations have one
fixed mode and position, downtime windows block machines, and operations not yet started
take the observed cycle times.

Facts cannot be undone: jobs already committed to a buffer (their upstream operation is
frozen) or to the line (an operation started) may overfill it, when a machine stops
downstream, and no plan can help that. The caps therefore bind new entries: while a new job
waits in a buffer (or is in process), the total must keep the cap (see
:meth:`ProblemData.committed`). Waiting that has ended (the downstream operation is frozen)
and jobs that have finished are history and leave the constraints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from scheduler.problem.compile import merge_windows
from scheduler.problem.data import Position, ProblemData


@dataclass(frozen=True)
class Situation:
    now: int
    fixed: Mapping[str, Position] = field(default_factory=dict)
    """Operation id -> (machine id, start, end): done, running, or interrupted."""
    downtime: tuple[tuple[str, int, int], ...] = ()
    """(machine id, start, end) windows in which a machine is down."""
    factors: Mapping[str, float] = field(default_factory=dict)
    """Station id -> factor on the durations of its operations that are not frozen."""
    machine_factors: Mapping[str, float] = field(default_factory=dict)
    """Machine id -> factor, overriding its station's."""


def freeze(problem: ProblemData, situation: Situation) -> ProblemData:
    fixed: list[tuple[int, int, int] | None] = [None] * problem.num_ops
    for op_id, (machine_id, start, end) in situation.fixed.items():
        fixed[problem.op_index[op_id]] = (problem.machine_index[machine_id], start, end)

    def factor(machine: int) -> float:
        station = problem.station_ids[problem.machine_station[machine]]
        return duration_factor(situation.factors, situation.machine_factors, problem.machine_ids[machine], station)

    modes = tuple(
        ((f[0], f[2] - f[1]),)
        if (f := fixed[i]) is not None
        else tuple((m, scaled_duration(d, factor(m))) for m, d in problem.op_modes[i])
        for i in range(problem.num_ops)
    )
    windows = [list(w) for w in problem.unavailability]
    for machine_id, start, end in situation.downtime:
        windows[problem.machine_index[machine_id]].append((start, end))
    unavailability = tuple(merge_windows(w) for w in windows)

    buffers = tuple(replace(b, pairs=tuple((u, d) for u, d in b.pairs if fixed[d] is None)) for b in problem.buffers)

    free_work = sum(max(d for _, d in modes[i]) for i in range(problem.num_ops) if fixed[i] is None)
    latest = max(
        [
            situation.now,
            *problem.job_release,
            *(d for d in problem.job_due if d is not None),
            *(f[2] for f in fixed if f is not None),
            *(w[-1][1] for w in unavailability if w),
        ]
    )
    return replace(
        problem,
        op_modes=modes,
        op_fixed=tuple(fixed),
        unavailability=unavailability,
        buffers=buffers,
        now=situation.now,
        horizon=latest + free_work + problem.bottleneck_buffer * problem.num_ops,
    )


def duration_factor(
    factors: Mapping[str, float], machine_factors: Mapping[str, float], machine: str, station: str
) -> float:
    """The factor on a machine's durations: its own, else its station's, else 1."""
    return machine_factors.get(machine, factors.get(station, 1.0))


def scaled_duration(duration: int, factor: float) -> int:
    """A planned duration at an observed cycle-time factor, in whole ticks (at least 1)."""
    return duration if factor == 1.0 else max(1, math.ceil(duration * factor - 1e-9))


def _finished(ops: tuple[int, ...], fixed: Sequence[tuple[int, int, int] | None], now: int) -> bool:
    return all((f := fixed[i]) is not None and f[2] <= now for i in ops)


def is_finished(problem: ProblemData, job: int) -> bool:
    """Every operation of ``job`` is frozen and over by ``now``: history, outside the caps."""
    return bool(problem.op_fixed) and _finished(problem.job_ops[job], problem.op_fixed, problem.now)
