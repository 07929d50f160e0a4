"""Tier 0: right-shift repair, the previous plan patched. Always valid, deterministic, milliseconds.

Every operation keeps its machine and its place in its machine's sequence and its job's
routing; every job keeps its place in the order in which the plan passes the units of each
cap from one job to the next (a kanban card from the job leaving a buffer to the one
entering it after; a CONWIP card from a job finishing to the one starting after). With
those orders fixed, the caps are difference constraints like the routings: a job may end
upstream of a buffer once the job it follows on its unit has started downstream; it may
start in the line once the job it follows on its CONWIP unit has ended. Each operation then
starts at its old start or later, as late as the disruption forces: after its predecessors
(plus the bottleneck time buffer), after the previous operation on its machine, not before
now or its release, clear of downtime, maintenance and frozen work, and as those orders
require. A delay travels exactly as far as it must, and good news (an early return, a
shorter stop) leaves the plan as it was.

Facts may break an order (a job reported in a buffer before the one the plan had first):
facts never move, and what follows them waits for them. Facts that contradict each other
through the orders (a cycle) leave no right-shift: None, and the pull dispatcher
(``repair.pull``) answers. Operations the plan did not have (a rush order) go into every
order after everything the plan has (by their release), on the machine that is quickest for them. :func:`left_shift` is
the same construction without the old starts: a valid plan tightened under the checker's
exact reading of the caps, never later than it, operation by operation.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence

from scheduler.check import overload
from scheduler.problem import ProblemData, Timetable, cap_demands
from scheduler.problem.freeze import is_finished
from scheduler.repair import pull
from scheduler.repair.gc_pause import gc_paused
from scheduler.repair.pull_line import Gate, Line
from scheduler.repair.pull_play import _clear

Reference = Sequence[tuple[int, int] | None]
"""Per operation: (machine, start) in the plan being repaired, or None if it had none."""
_LAST = 1 << 50
"""Added to the order of operations the plan did not have: they come after all it has."""
_ROUNDS = 20
"""Relaxations per operation before the orders are taken to contradict the facts."""


def right_shift(
    problem: ProblemData, reference: Reference, line: Line | None = None, keep_starts: bool = True
) -> Timetable | None:
    """The right-shift repair of ``reference`` (None: the facts contradict its orders).
    Without ``keep_starts`` operations may also start before their old starts: :func:`left_shift`.
    ``line``: the problem as the pull dispatcher sees it, when already made."""
    line = line or pull.line_of(problem)
    machine, duration, key, lower = _placement(problem, reference, keep_starts)
    after: list[list[tuple[int, int]]] = [[] for _ in range(problem.num_ops)]
    """Per operation: (op, lag) it waits for: the op's end and the lag (-1 - lag < 0: the
    op's start less this one's duration: a card it takes when the op starts)."""
    for b, preds in enumerate(line.predecessors):
        after[b] += preds
    for ops in _sequences(problem, machine, key):
        for a, b in itertools.pairwise(ops):
            after[b].append((a, 0))
    for d_prev, u_next in _card_chains(problem, line, duration, key):
        after[u_next].append((d_prev, -1))
    for sink, source in _conwip_chains(problem, line, duration, key):
        after[source].append((sink, 0))
    return _earliest(problem, line, machine, duration, key, lower, after)


def left_shift(problem: ProblemData, plan: Timetable, line: Line | None = None) -> Timetable | None:
    """``plan`` with every sequence and order kept and each operation as early as they, the
    routings and the downtimes allow (a semi-active schedule), so that what a repair gained
    early reaches the end."""
    reference = [(plan.machine[i], plan.start[i]) for i in range(problem.num_ops)]
    return right_shift(problem, reference, line, keep_starts=False)


def tier_zero(problem: ProblemData, reference: Reference) -> Timetable:
    """Right-shift, or the pull dispatcher in the plan's order when right-shift has none: always valid."""
    with gc_paused():
        line = pull.line_of(problem)
        plan = right_shift(problem, reference, line) or pull.dispatch(line, pull.keys(line, pull.Rule.PLAN, reference))
        if plan is None:
            raise RuntimeError("the pull dispatcher found no plan: a bug")
        return plan


def _placement(
    p: ProblemData, reference: Reference, keep_starts: bool
) -> tuple[list[int], list[int], list[int], list[int]]:
    """Per operation: its machine, duration, place in the orders (its old start, or its
    release for a new one) and earliest start."""
    machine, duration, key, lower = [], [], [], []
    for i in range(p.num_ops):
        fixed = p.fixed(i)
        if fixed is not None:
            machine.append(fixed[0])
            duration.append(fixed[2] - fixed[1])
            key.append(fixed[1])
            lower.append(fixed[1])
            continue
        floor = max(p.now, p.job_release[p.op_job[i]])
        ref = reference[i]
        if ref is not None and p.duration(i, ref[0]) is not None:
            m, old = ref
        else:  # new: after everything the plan has, in every order
            m, old = min(p.op_modes[i], key=lambda mode: (mode[1], mode[0]))[0], _LAST + floor
        machine.append(m)
        duration.append(p.duration(i, m) or 1)
        key.append(old)
        lower.append(max(floor, old) if keep_starts and old < _LAST else floor)
    return machine, duration, key, lower


def _sequences(p: ProblemData, machine: list[int], key: list[int]) -> list[list[int]]:
    on: list[list[int]] = [[] for _ in p.machine_ids]
    for i in range(p.num_ops):
        if p.fixed(i) is None:
            on[machine[i]].append(i)
    return [sorted(ops, key=lambda i: (key[i], i)) for ops in on]


def _card_chains(p: ProblemData, line: Line, duration: list[int], key: list[int]) -> list[tuple[int, int]]:
    """(an operation downstream, an operation upstream whose end must wait for its start):
    per buffer, its units passed from job to job in the order the plan fills it."""
    edges = []
    for k, buffer in enumerate(p.buffers):
        waits = [(key[u] + duration[u], key[d], p.committed((u, d)), u, d) for u, d in buffer.pairs]
        edges += _passed(waits, line.buffers[k].copy())
    return edges


def _conwip_chains(p: ProblemData, line: Line, duration: list[int], key: list[int]) -> list[tuple[int, int]]:
    """(a sink of a job, a source of a job that may start once it has ended): the CONWIP's
    units passed from job to job in the order the plan starts them."""
    if line.conwip is None:
        return []
    spans = [(min(key[i] for i in ops), max(key[i] + duration[i] for i in ops), line.job_in[j], j, j)
             for j, ops in enumerate(p.job_ops) if not is_finished(p, j)]  # fmt: skip
    return [(sink, source) for prev, job in _passed(spans, line.conwip.copy())
            for sink in p.job_sinks[prev] for source in p.job_sources[job]]  # fmt: skip


def _passed(spans: list[tuple[int, int, bool, int, int]], gate: Gate) -> list[tuple[int, int]]:
    """(who left, who may enter after) for ``spans`` of (enter, leave, committed, enterer,
    leaver) sharing ``gate``: swept in time, leaving before entering; committed holders are
    in from the start. A job that passes through a full buffer without waiting (it starts
    downstream as it ends upstream) keeps doing so: its end waits for its own start
    downstream. A new holder that finds no unit free otherwise waits for the next to leave."""
    leaves = [(leave, leaver, True) for _, leave, committed, _, leaver in spans if committed]
    heapq.heapify(leaves)
    edges: list[tuple[int, int]] = []
    for enter, leave, _, enterer, leaver in sorted((s for s in spans if not s[2]), key=lambda s: (s[0], s[1], s[3])):
        while leaves and leaves[0][0] <= enter:
            _, by, committed = heapq.heappop(leaves)
            gate.give(by, committed)
        if not gate.admits() and enter == leave:
            edges.append((leaver, enterer))
            continue
        while leaves and not gate.admits():
            _, by, committed = heapq.heappop(leaves)
            gate.give(by, committed)
        if gate.admits():  # else the plan overfills (facts moved) and nothing is there to follow
            edges += [(by, enterer) for by in gate.take() if by >= 0]
            heapq.heappush(leaves, (leave, leaver, False))
    return edges


def _earliest(
    p: ProblemData,
    line: Line,
    machine: list[int],
    duration: list[int],
    key: list[int],
    lower: list[int],
    after: list[list[tuple[int, int]]],
) -> Timetable | None:
    """The least start of every free operation under its bounds: relaxed in the plan's
    order (most bounds point forward in it, so one pass meets them), an operation again
    whenever one it waits for moved later. Starts only grow, so this ends at the least
    solution, or (the facts contradicting the orders) runs out of rounds."""
    n = p.num_ops
    start = list(lower)
    dependents: list[list[int]] = [[] for _ in range(n)]
    for b, bounds in enumerate(after):
        for a, _ in bounds:
            dependents[a].append(b)
    fixed = line.fixed
    queue = [(key[i], i) for i in range(n) if not fixed[i]]
    heapq.heapify(queue)
    queued = [not f for f in fixed]
    budget = _ROUNDS * n + 100
    while queue:
        budget -= 1
        if budget < 0:
            return None
        _, i = heapq.heappop(queue)
        queued[i] = False
        floor = lower[i]
        for a, lag in after[i]:
            bound = start[a] + duration[a] + lag if lag >= 0 else start[a] - duration[i]
            floor = max(floor, bound)
        blocked = line.blocked[machine[i]]
        s = _clear(blocked, floor, duration[i]) if blocked else floor
        if s == start[i]:
            continue
        start[i] = s
        for b in dependents[i]:
            if not queued[b] and not fixed[b]:
                queued[b] = True
                heapq.heappush(queue, (key[b], b))
    return Timetable(tuple(machine), tuple(start), tuple(start[i] + duration[i] for i in range(n)))


def within_caps(problem: ProblemData, t: Timetable) -> bool:
    """``t`` keeps the caps in the form the solver states them (stricter than the checker's
    when facts overfill), so that CP-SAT accepts it as a hint."""
    for buffer in problem.buffers:
        demands, capacity = cap_demands([problem.committed(pair) for pair in buffer.pairs], buffer.cap)
        if overload([(t.end[u], t.start[d], w) for (u, d), w in zip(buffer.pairs, demands, strict=True)], capacity):
            return False
    if problem.conwip is None:
        return True
    live = [j for j in range(len(problem.job_ids)) if not is_finished(problem, j)]
    demands, capacity = cap_demands([problem.job_committed(j) for j in live], problem.conwip)
    spans = [(min(t.start[i] for i in problem.job_ops[j]), max(t.end[i] for i in problem.job_ops[j])) for j in live]
    return overload([(*span, w) for span, w in zip(spans, demands, strict=True)], capacity) is None


def blocked_intervals(problem: ProblemData) -> list[list[tuple[int, int]]]:
    """Per machine: sorted windows and frozen work that free operations must avoid."""
    blocked = [list(w) for w in problem.unavailability]
    for i in range(problem.num_ops):
        fixed = problem.fixed(i)
        if fixed is not None:
            blocked[fixed[0]].append((fixed[1], fixed[2]))
    return [sorted(w) for w in blocked]


def topological(problem: ProblemData, successors: list[list[tuple[int, int]]], reference: Reference) -> list[int]:
    """Operations in an order that keeps ``successors``, earliest old start first."""
    indegree = [0] * problem.num_ops
    for outs in successors:
        for b, _ in outs:
            indegree[b] += 1
    rank = [(ref[1], i) if (ref := reference[i]) is not None else (1 << 62, i) for i in range(problem.num_ops)]
    ready = [(rank[i], i) for i in range(problem.num_ops) if indegree[i] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, a = heapq.heappop(ready)
        order.append(a)
        for b, _ in successors[a]:
            indegree[b] -= 1
            if indegree[b] == 0:
                heapq.heappush(ready, (rank[b], b))
    if len(order) != problem.num_ops:
        raise ValueError("the routings form a cycle")
    return order


def routing_successors(problem: ProblemData) -> list[list[tuple[int, int]]]:
    successors: list[list[tuple[int, int]]] = [[] for _ in range(problem.num_ops)]
    for a, b in problem.precedences:
        successors[a].append((b, 0))
    return successors
