"""Tier 0: right-shift repair. Always valid, deterministic, milliseconds.

Every operation keeps its machine and its place in its machine's sequence and its job's
routing; it starts at its old start or later, as late as the disruption forces: after its
predecessors (plus the bottleneck time buffer), after the previous operation on its machine,
not before now or its release, and clear of downtime, maintenance and frozen work. Kanban
and CONWIP caps are kept by delaying the job that would overfill the buffer or the line
until another leaves. Operations the old plan did not have (a rush order) go to the end of
their machine's sequence, on the machine that finishes them first. Should the caps not
settle, a serial schedule (one job at a time after everything placed) answers instead:
slower, never invalid.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence

from scheduler.check import peak_overlap
from scheduler.problem import ProblemData, Timetable
from scheduler.problem.freeze import is_finished

Reference = Sequence[tuple[int, int] | None]
"""Per operation: (machine, start) in the plan being repaired, or None if it had none."""

_MAX_ROUNDS = 500


def right_shift(problem: ProblemData, reference: Reference) -> Timetable:
    n = problem.num_ops
    machine, duration, lower = _placement(problem, reference)
    successors = _graph(problem, reference, machine)
    order = topological(problem, successors, reference)
    for _ in range(_MAX_ROUNDS):
        start = _schedule(problem, order, successors, machine, duration, lower)
        table = Timetable(tuple(machine), tuple(start), tuple(start[i] + duration[i] for i in range(n)))
        delay = _cap_delay(problem, table)
        if delay is None:
            return table
        op, earliest = delay
        lower[op] = max(lower[op], earliest)
    return serial(problem, reference)


def _placement(problem: ProblemData, reference: Reference) -> tuple[list[int], list[int], list[int]]:
    machine, duration, lower = [], [], []
    for i in range(problem.num_ops):
        fixed = problem.fixed(i)
        if fixed is not None:
            m, s, e = fixed
            machine.append(m)
            duration.append(e - s)
            lower.append(s)
            continue
        ref = reference[i]
        floor = max(problem.now, problem.job_release[problem.op_job[i]])
        if ref is not None and problem.duration(i, ref[0]) is not None:
            m, old_start = ref
        else:
            m, old_start = min(problem.op_modes[i], key=lambda mode: mode[1])[0], floor
        machine.append(m)
        duration.append(problem.duration(i, m) or 1)
        lower.append(max(old_start, floor))
    return machine, duration, lower


def _graph(problem: ProblemData, reference: Reference, machine: list[int]) -> list[list[tuple[int, int]]]:
    """Successor lists (op, lag): routing precedences, then each machine's old sequence."""
    successors: list[list[tuple[int, int]]] = [[] for _ in range(problem.num_ops)]
    for a, b in problem.precedences:
        successors[a].append((b, problem.lag(a, b)))
    sequences: list[list[int]] = [[] for _ in problem.machine_ids]
    for i in range(problem.num_ops):
        if problem.fixed(i) is None:
            sequences[machine[i]].append(i)
    for ops in sequences:
        ops.sort(key=lambda i: _rank(reference, i))
        for a, b in itertools.pairwise(ops):
            successors[a].append((b, 0))
    return successors


def _rank(reference: Reference, op: int) -> tuple[int, int]:
    ref = reference[op]
    return (ref[1], op) if ref is not None else (1 << 62, op)


def topological(problem: ProblemData, successors: list[list[tuple[int, int]]], reference: Reference) -> list[int]:
    indegree = [0] * problem.num_ops
    for outs in successors:
        for b, _ in outs:
            indegree[b] += 1
    ready = [(_rank(reference, i), i) for i in range(problem.num_ops) if indegree[i] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, a = heapq.heappop(ready)
        order.append(a)
        for b, _ in successors[a]:
            indegree[b] -= 1
            if indegree[b] == 0:
                heapq.heappush(ready, (_rank(reference, b), b))
    if len(order) != problem.num_ops:  # the old sequences contradict the routings
        raise ValueError("the plan's machine sequences and the routings form a cycle")
    return order


def _schedule(
    problem: ProblemData,
    order: list[int],
    successors: list[list[tuple[int, int]]],
    machine: list[int],
    duration: list[int],
    lower: list[int],
) -> list[int]:
    blocked = blocked_intervals(problem)
    earliest = list(lower)
    start = [0] * problem.num_ops
    for a in order:
        fixed = problem.fixed(a)
        start[a] = fixed[1] if fixed is not None else _clear(blocked[machine[a]], earliest[a], duration[a])
        end = start[a] + duration[a]
        for b, lag in successors[a]:
            earliest[b] = max(earliest[b], end + lag)
    return start


def blocked_intervals(problem: ProblemData) -> list[list[tuple[int, int]]]:
    """Per machine: sorted windows and frozen work that free operations must avoid."""
    blocked = [list(w) for w in problem.unavailability]
    for i in range(problem.num_ops):
        fixed = problem.fixed(i)
        if fixed is not None:
            blocked[fixed[0]].append((fixed[1], fixed[2]))
    return [sorted(w) for w in blocked]


def _clear(windows: list[tuple[int, int]], start: int, duration: int) -> int:
    """The earliest start >= ``start`` at which [start, start + duration) misses every window."""
    for a, b in windows:
        if start < b and a < start + duration:
            start = b
    return start


def _cap_delay(problem: ProblemData, t: Timetable) -> tuple[int, int] | None:
    """The first cap overfilled by ``t``: (free op to delay, its new earliest start), or None."""
    for buffer in problem.buffers:
        waits = [(t.end[u], t.start[d]) for u, d in buffer.pairs]
        peak, at = peak_overlap(waits)
        if peak <= buffer.cap:
            continue
        waiting = [(u, d) for u, d in buffer.pairs if t.end[u] <= at < t.start[d]]
        movable = [(u, d) for u, d in waiting if problem.fixed(u) is None]
        if not movable:
            return None
        u, d = max(movable, key=lambda pair: (t.end[pair[0]], pair[0]))
        leaves = min(t.start[other] for _, other in waiting if other != d)
        return u, leaves - (t.end[u] - t.start[u])
    if problem.conwip is not None:
        live = [j for j in range(len(problem.job_ids)) if not is_finished(problem, j)]
        spans = {
            j: (min(t.start[i] for i in problem.job_ops[j]), max(t.end[i] for i in problem.job_ops[j])) for j in live
        }
        peak, at = peak_overlap(list(spans.values()))
        if peak > problem.conwip:
            inside = [j for j, (s, e) in spans.items() if s <= at < e]
            unstarted = [j for j in inside if all(problem.fixed(i) is None for i in problem.job_sources[j])]
            if unstarted:
                job = max(unstarted, key=lambda j: (spans[j][0], j))
                leaves = min(spans[j][1] for j in inside if j != job)
                source = min(problem.job_sources[job], key=lambda i: t.start[i])
                return source, leaves
    return None


def serial(problem: ProblemData, reference: Reference) -> Timetable:
    """One job at a time after everything placed so far: keeps every cap, wastes capacity."""
    machine, duration, lower = _placement(problem, reference)
    start = list(lower)  # frozen operations keep theirs
    blocked = blocked_intervals(problem)
    frontier = max([problem.now, *(f[2] for f in problem.op_fixed if f is not None)])
    preds: list[list[tuple[int, int]]] = [[] for _ in range(problem.num_ops)]
    for a, b in problem.precedences:
        preds[b].append((a, problem.lag(a, b)))
    routing = topological(problem, routing_successors(problem), reference)
    position = {op: k for k, op in enumerate(routing)}

    def committed_first(job: int) -> tuple[bool, tuple[int, int]]:
        ops = problem.job_ops[job]
        started = any(problem.fixed(i) is not None for i in ops)
        return (not started, min(_rank(reference, i) for i in ops if problem.fixed(i) is None))

    jobs = [j for j in range(len(problem.job_ids)) if any(problem.fixed(i) is None for i in problem.job_ops[j])]
    for j in sorted(jobs, key=committed_first):
        for i in sorted((i for i in problem.job_ops[j] if problem.fixed(i) is None), key=position.__getitem__):
            ready = max([frontier, lower[i], *(start[a] + duration[a] + lag for a, lag in preds[i])])
            start[i] = _clear(blocked[machine[i]], ready, duration[i])
            frontier = start[i] + duration[i]
    return Timetable(tuple(machine), tuple(start), tuple(start[i] + duration[i] for i in range(problem.num_ops)))


def routing_successors(problem: ProblemData) -> list[list[tuple[int, int]]]:
    successors: list[list[tuple[int, int]]] = [[] for _ in range(problem.num_ops)]
    for a, b in problem.precedences:
        successors[a].append((b, 0))
    return successors
