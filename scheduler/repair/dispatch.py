"""A plan without CP-SAT: the pull dispatcher (``repair.pull``) under each of its priorities,
the best by the problem's objective. Valid for any feasible scenario in milliseconds per
thousand operations: the plan of last resort when CP-SAT finds none in its limit, and
CP-SAT's hint otherwise (decisions/0010)."""

from __future__ import annotations

from scheduler.check import check
from scheduler.problem import ProblemData, Timetable
from scheduler.repair import pull
from scheduler.repair.gc_pause import gc_paused


def dispatch(problem: ProblemData, reference: pull.Reference | None = None) -> Timetable:
    """The best pull dispatch of ``problem`` (the order of ``reference`` among the priorities, when given)."""
    with gc_paused():
        line = pull.line_of(problem)
        rules = pull.rules_for(problem, reference is not None)
        best: tuple[int, Timetable] | None = None
        for _, plan in pull.race(line, rules, reference):
            report = check(problem, plan)
            if report.valid and (best is None or report.kpis.objective < best[0]):
                best = (report.kpis.objective, plan)
    if best is None:
        raise RuntimeError("the pull dispatcher found no valid plan: a bug")
    return best[1]
