"""Tier 0, stable variant: gap repair.

Every operation keeps its old machine and times unless the disruption forces it to move:
its old slot now meets downtime or frozen work, its duration changed, it had no slot (a
new order), or a predecessor now ends too late. A forced operation goes into the earliest
free gap (on any eligible machine) after its predecessors; everything else stays. Unlike
right-shift it may change machine sequences, so it usually moves only the disrupted job
chains. It returns None when the result would break a kanban or CONWIP cap: right-shift
answers then. The caller checks what it returns (the pipeline checks every candidate once).
"""

from __future__ import annotations

import bisect

from scheduler.problem import ProblemData, Timetable
from scheduler.repair.right_shift import (
    Reference,
    blocked_intervals,
    routing_successors,
    topological,
    within_caps,
)


def gap_repair(problem: ProblemData, reference: Reference) -> Timetable | None:
    n = problem.num_ops
    machine, start, end = [0] * n, [0] * n, [0] * n
    busy: list[list[tuple[int, int]]] = [sorted(w) for w in blocked_intervals(problem)]
    for i in range(n):
        fixed = problem.fixed(i)
        if fixed is not None:
            machine[i], start[i], end[i] = fixed
            continue
        ref = reference[i]
        if ref is not None and (duration := problem.duration(i, ref[0])) is not None:
            machine[i], start[i], end[i] = ref[0], ref[1], ref[1] + duration
            bisect.insort(busy[ref[0]], (start[i], end[i]))
    longest = max([b - a for w in busy for a, b in w] + [d for modes in problem.op_modes for _, d in modes])
    preds: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for a, b in problem.precedences:
        preds[b].append((a, problem.lag(a, b)))
    order = topological(problem, routing_successors(problem), reference)
    for i in order:
        if problem.fixed(i) is not None:
            continue
        ready = max([problem.now, problem.job_release[problem.op_job[i]], *(end[a] + lag for a, lag in preds[i])])
        ref = reference[i]
        if ref is not None and problem.duration(i, ref[0]) is not None:
            slot = (start[i], end[i])
            busy[machine[i]].remove(slot)
            if start[i] >= ready and _free(busy[machine[i]], start[i], end[i], longest):
                bisect.insort(busy[machine[i]], slot)
                continue
        machine[i], start[i] = min(
            ((m, _gap(busy[m], ready, d, longest)) for m, d in problem.op_modes[i]),
            key=lambda option: (option[1] + (problem.duration(i, option[0]) or 0), option[0] != machine[i]),
        )
        end[i] = start[i] + (problem.duration(i, machine[i]) or 1)
        bisect.insort(busy[machine[i]], (start[i], end[i]))
    plan = Timetable(tuple(machine), tuple(start), tuple(end))
    return plan if within_caps(problem, plan) else None


def _free(busy: list[tuple[int, int]], start: int, end: int, longest: int) -> bool:
    """No interval of ``busy`` (sorted by start, possibly overlapping, none longer than
    ``longest``) meets [start, end): only those starting after start - longest can."""
    first = bisect.bisect_left(busy, (start - longest, start - longest))
    return all(b <= start for _, b in busy[first : bisect.bisect_left(busy, (end, end))])


def _gap(busy: list[tuple[int, int]], ready: int, duration: int, longest: int) -> int:
    """Earliest start >= ``ready`` with [start, start + duration) clear of ``busy`` (sorted)."""
    t = ready
    for a, b in busy[bisect.bisect_left(busy, (ready - longest, ready - longest)) :]:
        if b <= t:
            continue
        if a >= t + duration:
            break
        t = max(t, b)
    return t
