"""A repair window as a problem of its own: the free operations, and only what bounds them.

Building the CP-SAT model of a 5 000-operation plan to move 200 of them costs more than a
200 ms budget (every pinned operation is still a variable, an interval and a precedence).
The window problem keeps the free operations; their jobs' other operations that touch them
(routing neighbours) and every job sink (completions, hence tardiness) pinned where the plan
has them; the latest-ending operation outside (the makespan's floor); and turns every other
operation into blocked time on its machine, inside the span the free ones can reach. Its
objective differs from the whole plan's by a constant, so its optimum is the window's.

Caps and the drum couple jobs across time, but only within the span the free operations can
reach: the window also pins, for a kanban cap, both ends of every job that waits in the
buffer during that span; for the CONWIP, the first and last operations of every job in the
line during it (and of the free operations' jobs); for the bottleneck's idle time, the
drum's first and last operations. On a capped line free work ends by a deadline (the
latest end of the free operations plus the longest of them), so that the span stays short.
Pinned operations are not facts: the caps bind them as the whole problem does (facts may
overfill a buffer, pinned work may not).
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, replace

from scheduler.problem.compile import merge_windows
from scheduler.problem.data import ProblemData, Timetable


@dataclass(frozen=True)
class Window:
    problem: ProblemData
    ops: tuple[int, ...]
    """Index in the window problem -> index in the whole problem."""
    pinned: dict[int, tuple[int, int, int]]
    """Window index -> (machine, start, end): kept where the plan has it (not a fact)."""

    def restrict(self, plan: Timetable) -> Timetable:
        return Timetable(*(tuple(column[i] for i in self.ops) for column in (plan.machine, plan.start, plan.end)))

    def merge(self, plan: Timetable, solved: Timetable) -> Timetable:
        """``plan`` with the window's operations where ``solved`` (a window plan) has them."""
        machine, start, end = list(plan.machine), list(plan.start), list(plan.end)
        for k, i in enumerate(self.ops):
            machine[i], start[i], end[i] = solved.machine[k], solved.start[k], solved.end[k]
        return Timetable(tuple(machine), tuple(start), tuple(end))


def window(problem: ProblemData, plan: Timetable, free: Set[int], cap: int) -> Window | None:
    """The window problem of ``free`` in ``plan``, makespan at most ``cap`` (None when
    nothing outside would be left out, or it would keep more than half the operations)."""
    keep = set(free)
    capped = bool(problem.buffers) or problem.conwip is not None
    for i in free:
        job = problem.op_job[i]
        keep.update(problem.predecessors[i])
        keep.update(b for b in problem.job_ops[job] if i in problem.predecessors[b])
        keep.update(problem.job_sinks[job])
        if problem.conwip is not None:
            keep.update(problem.job_sources[job])
    outside = [i for i in range(problem.num_ops) if i not in keep]
    if not outside:
        return None
    keep.add(max(outside, key=lambda i: (plan.end[i], i)))
    reach, deadline = _reach(problem, plan, free, cap), None
    if capped:  # free work stays near where it is: what holds the caps then is all there is to pin
        deadline = max(plan.end[i] for i in free) + max(max(d for _, d in problem.op_modes[i]) for i in free)
        reach = min(reach, deadline)
        keep |= _coupled(problem, plan, keep, _earliest(problem, plan, keep), reach)
    if problem.weights.bottleneck_idle:
        drum = [i for i in range(problem.num_ops) if problem.op_station[i] == problem.bottleneck_idx]
        if drum:
            keep.update((min(drum, key=lambda i: (plan.start[i], i)), max(drum, key=lambda i: (plan.end[i], i))))
    for j in {problem.op_job[i] for i in keep}:  # every job kept whole in its completion (and span)
        keep.update(problem.job_sinks[j])
        if problem.conwip is not None:
            keep.update(problem.job_sources[j])
    if len(keep) > problem.num_ops // 2:
        return None
    ops = tuple(sorted(keep))
    pinned = {k: _place(problem, plan, i) for k, i in enumerate(ops) if i not in free and problem.fixed(i) is None}
    return Window(replace(_subproblem(problem, plan, ops, reach), deadline=deadline), ops, pinned)


def _place(problem: ProblemData, plan: Timetable, i: int) -> tuple[int, int, int]:
    return problem.fixed(i) or (plan.machine[i], plan.start[i], plan.end[i])


def _earliest(problem: ProblemData, plan: Timetable, keep: Set[int]) -> int:
    """The earliest time a kept job's wait or span can begin: now, or the end of a kept
    operation upstream of a buffer, or a kept job's first start."""
    starts = [plan.end[u] for b in problem.buffers for u, d in b.pairs if u in keep and d in keep]
    if problem.conwip is not None:
        starts += [plan.start[i] for i in keep if i in problem.job_sources[problem.op_job[i]]]
    return min([problem.now, *starts])


def _coupled(problem: ProblemData, plan: Timetable, keep: Set[int], lo: int, hi: int) -> set[int]:
    """Operations outside ``keep`` whose jobs hold a cap somewhere in [lo, hi): both ends of
    a buffer wait, the first and last operations of a job in the line."""
    found: set[int] = set()
    for b in problem.buffers:
        for u, d in b.pairs:
            if (u not in keep or d not in keep) and plan.end[u] < hi and plan.start[d] > lo:
                found.update((u, d))
    if problem.conwip is not None:
        for j, ops in enumerate(problem.job_ops):
            first = min(plan.start[i] for i in ops)
            last = max(plan.end[i] for i in ops)
            if first < hi and last > lo and last > problem.now:
                found.update(problem.job_sources[j])
                found.update(problem.job_sinks[j])
    return found - set(keep)


def _subproblem(problem: ProblemData, plan: Timetable, ops: tuple[int, ...], reach: int) -> ProblemData:
    index = {i: k for k, i in enumerate(ops)}
    jobs = sorted({problem.op_job[i] for i in ops})
    job_index = {j: k for k, j in enumerate(jobs)}
    blocked = [list(w) for w in problem.unavailability]
    for i in range(problem.num_ops):
        if i in index:
            continue
        m, start, end = _place(problem, plan, i)
        if end > problem.now and start < reach:
            blocked[m].append((start, end))

    def job_field(ids: tuple[tuple[int, ...], ...]) -> tuple[tuple[int, ...], ...]:
        return tuple(tuple(index[i] for i in ids[j] if i in index) for j in jobs)

    return replace(
        problem,
        unavailability=tuple(merge_windows(w) for w in blocked),
        job_ids=tuple(problem.job_ids[j] for j in jobs),
        job_family=tuple(problem.job_family[j] for j in jobs),
        job_release=tuple(problem.job_release[j] for j in jobs),
        job_due=tuple(problem.job_due[j] for j in jobs),
        job_weight=tuple(problem.job_weight[j] for j in jobs),
        job_ops=job_field(problem.job_ops),
        job_sources=job_field(problem.job_sources),
        job_sinks=job_field(problem.job_sinks),
        op_ids=tuple(problem.op_ids[i] for i in ops),
        op_job=tuple(job_index[problem.op_job[i]] for i in ops),
        op_station=tuple(problem.op_station[i] for i in ops),
        op_modes=tuple(problem.op_modes[i] for i in ops),
        precedences=tuple((index[a], index[b]) for a, b in problem.precedences if a in index and b in index),
        buffers=tuple(
            replace(b, pairs=tuple((index[u], index[d]) for u, d in b.pairs if u in index and d in index))
            for b in problem.buffers
        ),
        op_fixed=tuple(problem.fixed(i) for i in ops) if problem.op_fixed else (),
        op_index={problem.op_ids[i]: k for k, i in enumerate(ops)},
    )


def _reach(problem: ProblemData, plan: Timetable, free: Set[int], cap: int) -> int:
    """How late a free operation can end: before the earliest start of an operation outside
    the window that it precedes (through free ones), or at ``cap`` (the makespan cap) when
    a chain of free operations ends its job. Blocked time after that cannot meet one."""
    successors: dict[int, list[int]] = {}
    for a, b in problem.precedences:
        if a in free:
            successors.setdefault(a, []).append(b)
    reach = 0
    for i in free:
        bound, stack, seen = None, [i], {i}
        while stack and bound != cap:
            a = stack.pop()
            outs = successors.get(a, [])
            if not outs:
                bound = cap
            for b in outs:
                if b in free:
                    if b not in seen:
                        seen.add(b)
                        stack.append(b)
                else:
                    bound = min(bound if bound is not None else cap, plan.start[b])
        reach = max(reach, cap if bound is None else bound)
    return reach
