"""A plan without CP-SAT: a priority dispatch (Giffler-Thompson active schedules, most work
remaining first), then right-shifted to keep the caps. Valid for any feasible scenario in
milliseconds per thousand operations: the plan of last resort when CP-SAT finds none in
its limit, and CP-SAT's hint otherwise (decisions/0010)."""

from __future__ import annotations

from scheduler.problem import ProblemData, Timetable
from scheduler.repair.gc_pause import gc_paused
from scheduler.repair.right_shift import Reference, _clear, blocked_intervals, right_shift, serial


def dispatch(problem: ProblemData) -> Timetable:
    """The dispatch plan, its caps kept by right-shift (or the serial schedule when they do not settle)."""
    with gc_paused():
        reference = _active_schedule(problem)
        return right_shift(problem, reference) or serial(problem, reference)


def _active_schedule(problem: ProblemData) -> Reference:
    """(machine, start) per operation, caps ignored: at each step the operation that can
    finish first fixes a machine; among those that could start there before it finishes,
    the one whose job has the most work left goes first (ties: the lower index)."""
    n = problem.num_ops
    preds = problem.predecessors
    succs: list[list[int]] = [[] for _ in range(n)]
    for a, b in problem.precedences:
        succs[a].append(b)
    blocked = blocked_intervals(problem)
    shortest = [min(d for _, d in modes) for modes in problem.op_modes]
    work_left = [0] * len(problem.job_ids)
    for i in range(n):
        if problem.fixed(i) is None:
            work_left[problem.op_job[i]] += shortest[i]
    placed: list[tuple[int, int] | None] = [None] * n
    end = [0] * n
    free_at = [problem.now] * len(problem.machine_ids)
    waiting = [len(preds[i]) for i in range(n)]
    for i in range(n):
        fixed = problem.fixed(i)
        if fixed is not None:
            placed[i], end[i] = (fixed[0], fixed[1]), fixed[2]
    for i in range(n):
        if placed[i] is not None:
            for b in succs[i]:
                waiting[b] -= 1
    ready = [i for i in range(n) if placed[i] is None and waiting[i] == 0]

    def earliest(i: int) -> tuple[int, int, int]:
        """(completion, start, machine) of ``i``'s best mode now."""
        floor = max(
            [problem.now, problem.job_release[problem.op_job[i]], *(end[a] + problem.lag(a, i) for a in preds[i])]
        )
        best = (1 << 62, 0, 0)
        for m, d in problem.op_modes[i]:
            s = _clear(blocked[m], max(floor, free_at[m]), d)
            best = min(best, (s + d, s, m))
        return best

    options = {i: earliest(i) for i in ready}
    while options:
        finish, _, machine = min(options.values())
        rivals = [i for i, (_, s, m) in options.items() if m == machine and s < finish]
        chosen = max(rivals, key=lambda i: (work_left[problem.op_job[i]], -i))
        _, start, _ = options[chosen]
        duration = problem.duration(chosen, machine) or 1
        placed[chosen], end[chosen] = (machine, start), start + duration
        free_at[machine] = max(free_at[machine], start + duration)
        work_left[problem.op_job[chosen]] -= shortest[chosen]
        del options[chosen]
        for i in options:  # only what could use this machine has a new earliest
            if any(m == machine for m, _ in problem.op_modes[i]):
                options[i] = earliest(i)
        for b in succs[chosen]:
            waiting[b] -= 1
            if waiting[b] == 0 and placed[b] is None:
                options[b] = earliest(b)
    return placed
