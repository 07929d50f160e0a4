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
import time
from collections.abc import Sequence

from scheduler.check import overload
from scheduler.problem import ProblemData, Timetable, cap_demands
from scheduler.problem.freeze import is_finished
from scheduler.repair.gc_pause import gc_paused

Reference = Sequence[tuple[int, int] | None]
"""Per operation: (machine, start) in the plan being repaired, or None if it had none."""

_MAX_ROUNDS = 500


def right_shift(
    problem: ProblemData, reference: Reference, deadline: float | None = None, keep_starts: bool = True
) -> Timetable | None:
    """The right-shift repair of ``reference``, or None when the caps do not settle (a
    deadlock of kept sequences behind an overfilled buffer) or by ``deadline``
    (``time.perf_counter()``): :func:`serial` answers then, in one pass. Without
    ``keep_starts`` operations may also start before their old starts: :func:`left_shift`."""
    n = problem.num_ops
    machine, duration, lower = _placement(problem, reference, keep_starts)
    after: dict[int, int] = {}  # op -> op it now follows on its machine (a minimal resequencing)
    order: list[int] = []
    successors: list[list[tuple[int, int]]] = []
    for _ in range(_MAX_ROUNDS):
        if not order:
            successors = _graph(problem, reference, machine, after)
            try:
                order = topological(problem, successors, reference)
            except ValueError:  # machine order and routing contradict: no sequence to keep
                return None
        start = _schedule(problem, order, successors, machine, duration, lower)
        table = Timetable(tuple(machine), tuple(start), tuple(start[i] + duration[i] for i in range(n)))
        fix = _cap_delay(problem, table, successors)
        if fix is None:
            return table
        kind, op, value = fix
        if deadline is not None and time.perf_counter() > deadline:
            return None
        if kind == "delay":
            lower[op] = max(lower[op], value)
        elif kind == "after" and after.get(op) != value:
            after[op], order = value, []  # rebuild the sequences
        else:
            return None
    return None


def left_shift(problem: ProblemData, plan: Timetable, deadline: float | None = None) -> Timetable | None:
    """``plan`` with every machine's and job's sequence kept and each operation as early as
    they, the caps and the downtimes allow (a semi-active schedule), so that what a repair
    gained early reaches the end; None when the caps do not settle."""
    reference = [(plan.machine[i], plan.start[i]) for i in range(problem.num_ops)]
    return right_shift(problem, reference, deadline, keep_starts=False)


def tier_zero(problem: ProblemData, reference: Reference) -> Timetable:
    """Right-shift, or the serial schedule when right-shift cannot settle: always valid."""
    with gc_paused():
        return right_shift(problem, reference) or serial(problem, reference)


def _placement(
    problem: ProblemData, reference: Reference, keep_starts: bool = True
) -> tuple[list[int], list[int], list[int]]:
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
        lower.append(max(old_start, floor) if keep_starts else floor)
    return machine, duration, lower


def _graph(
    problem: ProblemData, reference: Reference, machine: list[int], after: dict[int, int] | None = None
) -> list[list[tuple[int, int]]]:
    """Successor lists (op, lag): routing precedences, then each machine's old sequence,
    except that jobs already in a buffer by fact are taken first (FIFO for facts): kept in
    the old order behind a new job, they could wait for the very job that waits for them
    to leave an overfilled buffer. ``after`` moves an operation to just behind another on
    its machine."""
    behind: dict[int, int] = after if after is not None else {}
    successors: list[list[tuple[int, int]]] = [[] for _ in range(problem.num_ops)]
    for a, b in problem.precedences:
        successors[a].append((b, problem.lag(a, b)))
    in_buffer = {d for b in problem.buffers for u, d in b.pairs if problem.committed((u, d))}
    sequences: list[list[int]] = [[] for _ in problem.machine_ids]
    for i in range(problem.num_ops):
        if problem.fixed(i) is None:
            sequences[machine[i]].append(i)

    def position(op: int) -> tuple[bool, int, int, bool]:
        anchor = behind.get(op, op)
        return (op not in in_buffer, *_rank(reference, anchor), op in behind)

    for ops in sequences:
        ops.sort(key=position)
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


def within_caps(problem: ProblemData, t: Timetable) -> bool:
    """``t`` keeps the caps in the form the solver states them (stricter than the checker's
    when facts overfill), so that CP-SAT accepts it as a hint."""
    return _cap_delay(problem, t, None) is None


def _cap_delay(
    problem: ProblemData, t: Timetable, successors: list[list[tuple[int, int]]] | None
) -> tuple[str, int, int] | None:
    """How to mend the first cap a new job overfills in ``t``, or None if none is.

    The newest job to come in waits until another one leaves, one that does not itself
    wait for it (reachable from it in ``successors``): ("delay", op, new earliest start).
    If every one does, because the newcomer comes first on the downstream machine, it goes
    behind all of them there: ("after", its downstream op, the op it follows). If
    neither helps: ("stuck", -1, -1)."""
    for buffer in problem.buffers:
        demands, capacity = cap_demands([problem.committed(pair) for pair in buffer.pairs], buffer.cap)
        at = overload([(t.end[u], t.start[d], w) for (u, d), w in zip(buffer.pairs, demands, strict=True)], capacity)
        if at is None:
            continue
        waiting = [(u, d) for u, d in buffer.pairs if t.end[u] <= at < t.start[d]]
        u, d = max((pair for pair in waiting if not problem.committed(pair)), key=lambda pair: (t.end[pair[0]], pair))
        blocked = _reachable(successors, u)
        departures = [t.start[other] for _, other in waiting if other != d and other not in blocked]
        if departures:
            return "delay", u, min(departures) - (t.end[u] - t.start[u])
        ahead = [other for _, other in waiting if other != d and t.machine[other] == t.machine[d]]
        if ahead:
            return "after", d, max(ahead, key=lambda i: (t.start[i], i))
        return "stuck", -1, -1
    if problem.conwip is not None:
        spans = {
            j: (min(t.start[i] for i in problem.job_ops[j]), max(t.end[i] for i in problem.job_ops[j]))
            for j in range(len(problem.job_ids))
            if not is_finished(problem, j)
        }
        demands, capacity = cap_demands([problem.job_committed(j) for j in spans], problem.conwip)
        at = overload([(*span, w) for span, w in zip(spans.values(), demands, strict=True)], capacity)
        if at is not None:
            inside = [j for j, (s, e) in spans.items() if s <= at < e]
            job = max((j for j in inside if not problem.job_committed(j)), key=lambda j: (spans[j][0], j))
            source = min(problem.job_sources[job], key=lambda i: t.start[i])
            blocked = _reachable(successors, source)
            ends = [spans[j][1] for j in inside if j != job and not blocked.intersection(problem.job_sinks[j])]
            return ("delay", source, min(ends)) if ends else ("stuck", -1, -1)
    return None


def _reachable(successors: list[list[tuple[int, int]]] | None, op: int) -> set[int]:
    """Operations that cannot start before ``op`` ends (empty without a graph)."""
    if successors is None:
        return set()
    seen, stack = {op}, [op]
    while stack:
        for b, _ in successors[stack.pop()]:
            if b not in seen:
                seen.add(b)
                stack.append(b)
    return seen


def serial(problem: ProblemData, reference: Reference) -> Timetable:
    """The fallback: jobs go on K at a time, K the smallest kanban or CONWIP cap, the most
    advanced first (most operations frozen), then in the old order; a job's remaining work
    starts only when every job K or more places before it has finished. A job already
    waiting in a buffer is thus ahead of every job that could still enter it, so when one
    enters, at most K - 1 others are unfinished: every cap holds, even when facts overfill
    a buffer (on lines where jobs pass the buffers in the same order). Wastes capacity
    when K is small."""
    machine, duration, _ = _placement(problem, reference)
    start = [f[1] if (f := problem.fixed(i)) is not None else 0 for i in range(problem.num_ops)]
    blocked = blocked_intervals(problem)
    caps = [b.cap for b in problem.buffers] + ([problem.conwip] if problem.conwip is not None else [])
    admitted_at_once = max(1, min(caps)) if caps else len(problem.job_ids)
    free_at = [problem.now] * len(problem.machine_ids)
    preds: list[list[tuple[int, int]]] = [[] for _ in range(problem.num_ops)]
    for a, b in problem.precedences:
        preds[b].append((a, problem.lag(a, b)))
    position = {op: k for k, op in enumerate(topological(problem, routing_successors(problem), reference))}

    def most_advanced_first(job: int) -> tuple[int, tuple[int, int]]:
        ops = problem.job_ops[job]
        done = sum(problem.fixed(i) is not None for i in ops)
        return (-done, min(_rank(reference, i) for i in ops if problem.fixed(i) is None))

    jobs = [j for j in range(len(problem.job_ids)) if any(problem.fixed(i) is None for i in problem.job_ops[j])]
    # completion times, in the order the jobs are admitted; first the jobs whose work is all
    # fixed but still running (an interrupted last operation): they hold their places
    pending = set(jobs)
    ends = [max(f[2] for i in problem.job_ops[j] if (f := problem.fixed(i))) for j in range(len(problem.job_ids))
            if j not in pending and problem.job_ops[j]]  # fmt: skip
    finished = sorted(end for end in ends if end > problem.now)
    for n, j in enumerate(sorted(jobs, key=most_advanced_first), start=len(finished)):
        # every job K or more places earlier has finished
        admit = max([problem.now, *finished[: max(0, n - admitted_at_once + 1)]])
        for i in sorted((i for i in problem.job_ops[j] if problem.fixed(i) is None), key=position.__getitem__):
            floor = max(problem.now, problem.job_release[j], admit, free_at[machine[i]])
            ready = max([floor, *(start[a] + duration[a] + lag for a, lag in preds[i])])
            start[i] = _clear(blocked[machine[i]], ready, duration[i])
            free_at[machine[i]] = start[i] + duration[i]
        finished.append(max(start[i] + duration[i] for i in problem.job_ops[j]))
    return Timetable(tuple(machine), tuple(start), tuple(start[i] + duration[i] for i in range(problem.num_ops)))


def routing_successors(problem: ProblemData) -> list[list[tuple[int, int]]]:
    successors: list[list[tuple[int, int]]] = [[] for _ in range(problem.num_ops)]
    for a, b in problem.precedences:
        successors[a].append((b, 0))
    return successors
