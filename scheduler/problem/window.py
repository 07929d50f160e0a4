"""A repair window as a problem of its own: the free operations, and only what bounds them.

Building the CP-SAT model of a 5 000-operation plan to move 200 of them costs more than a
200 ms budget (every pinned operation is still a variable, an interval and a precedence).
The window problem keeps the free operations; their jobs' other operations that touch them
(routing neighbours) and every job sink (completions, hence tardiness) as fixed operations;
the latest-ending operation outside (the makespan's floor); and turns every other
operation into blocked time on its machine, inside the span the free ones can reach. Its
objective differs from the whole plan's by a constant, so its optimum is the window's.

Caps (kanban, CONWIP) and bottleneck idle couple every job across time: for those the
window is not exact and :func:`window` returns None (the caller builds the whole model).
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

    def restrict(self, plan: Timetable) -> Timetable:
        return Timetable(*(tuple(column[i] for i in self.ops) for column in (plan.machine, plan.start, plan.end)))

    def merge(self, plan: Timetable, solved: Timetable) -> Timetable:
        """``plan`` with the window's operations where ``solved`` (a window plan) has them."""
        machine, start, end = list(plan.machine), list(plan.start), list(plan.end)
        for k, i in enumerate(self.ops):
            machine[i], start[i], end[i] = solved.machine[k], solved.start[k], solved.end[k]
        return Timetable(tuple(machine), tuple(start), tuple(end))


def window(problem: ProblemData, plan: Timetable, free: Set[int], cap: int) -> Window | None:
    """The window problem of ``free`` in ``plan``, makespan at most ``cap`` (None when the problem has caps or weighs
    bottleneck idle time, or nothing outside would be left out)."""
    if problem.buffers or problem.conwip is not None or problem.weights.bottleneck_idle:
        return None
    keep = set(free)
    for i in free:
        keep.update(problem.predecessors[i])
        keep.update(b for b in problem.job_ops[problem.op_job[i]] if i in problem.predecessors[b])
        keep.update(problem.job_sinks[problem.op_job[i]])
    outside = [i for i in range(problem.num_ops) if i not in keep]
    if not outside or len(keep) > problem.num_ops // 2:
        return None
    keep.add(max(outside, key=lambda i: (plan.end[i], i)))
    ops = tuple(sorted(keep))
    return Window(_subproblem(problem, plan, free, ops, cap), ops)


def _subproblem(problem: ProblemData, plan: Timetable, free: Set[int], ops: tuple[int, ...], cap: int) -> ProblemData:
    index = {i: k for k, i in enumerate(ops)}
    jobs = sorted({problem.op_job[i] for i in ops})
    job_index = {j: k for k, j in enumerate(jobs)}
    kept = set(ops)
    reach = _reach(problem, plan, free, cap)
    blocked = [list(w) for w in problem.unavailability]
    for i in range(problem.num_ops):
        if i in kept:
            continue
        place = problem.fixed(i) or (plan.machine[i], plan.start[i], plan.end[i])
        if place[2] > problem.now and place[1] < reach:
            blocked[place[0]].append((place[1], place[2]))
    fixed = [None if i in free else (problem.fixed(i) or (plan.machine[i], plan.start[i], plan.end[i])) for i in ops]

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
        op_fixed=tuple(fixed),
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
