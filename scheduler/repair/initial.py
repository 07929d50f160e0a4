"""The first plan of a scenario: CP-SAT over the whole problem for part of the limit, then
the repair's windows as a large-neighbourhood search for the rest (wall-clock runs only),
and the dispatch plan when CP-SAT finds none in time: a valid plan for any feasible
scenario (ta71 at 1 s, 5 000 operations at 10 s). From 1 000 operations the dispatch plan
is also CP-SAT's hint (or a given baseline is): below that CP-SAT finds a first solution
in milliseconds on its own."""

from __future__ import annotations

import time
from dataclasses import replace

from scheduler.check import CheckReport, check
from scheduler.domain import RepairPolicy
from scheduler.problem import ProblemData, Timetable
from scheduler.repair.dispatch import dispatch
from scheduler.repair.pipeline import repair
from scheduler.solver import SolverConfig, SolveResult, SolveStatus, solve

HINT_FROM = 1000
WINDOWS_SHARE = 0.5
"""The share of a wall-clock limit the windows get after CP-SAT's whole-problem search."""


def initial_plan(problem: ProblemData, config: SolverConfig, hint: Timetable | None = None) -> SolveResult:
    """The best plan found within ``config``'s limit (the dispatch plan's time included)."""
    began = time.perf_counter()
    fallback = dispatch(problem)
    if hint is None and problem.num_ops >= HINT_FROM:
        hint = fallback
    whole = config
    if not config.deterministic:
        left = config.time_limit_s - (time.perf_counter() - began)
        whole = replace(config, time_limit_s=max(0.01, left * (1 - WINDOWS_SHARE)))
    result = solve(problem, whole, hint=hint)
    plan = result.timetable if result.timetable is not None else fallback
    report = check(problem, plan)
    if not report.valid:  # dispatch keeps every rule the checker knows; this is a bug, not an answer
        raise RuntimeError(f"the initial plan is not valid: {report.violations[0].message}")
    if not config.deterministic and result.status is not SolveStatus.OPTIMAL:
        plan, report = _windows(problem, plan, report, config, began + config.time_limit_s)
    wall = time.perf_counter() - began
    if result.timetable is None:
        return SolveResult(SolveStatus.DISPATCH, plan, report.kpis.objective, None, wall, result.build_time_s)
    status = result.status if plan == result.timetable else SolveStatus.FEASIBLE
    bound = result.bound if status is SolveStatus.OPTIMAL else None
    return SolveResult(status, plan, report.kpis.objective, bound, wall, result.build_time_s)


def _windows(
    problem: ProblemData, plan: Timetable, report: CheckReport, config: SolverConfig, deadline: float
) -> tuple[Timetable, CheckReport]:
    """The repair's CP-SAT windows over every operation until ``deadline``, from ``plan``
    (``report``: its checker's verdict)."""
    budget_ms = int((deadline - time.perf_counter()) * 1000)
    if budget_ms < 50:
        return plan, report
    policy = RepairPolicy(budget_ms=max(10, budget_ms), margin_ms=10, workers=config.workers)
    reference = [(plan.machine[i], plan.start[i]) for i in range(problem.num_ops)]
    outcome = repair(problem, reference, report.kpis, policy, "initial", range(problem.num_ops), seed=config.seed)
    return outcome.plan, outcome.report
