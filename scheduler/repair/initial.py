"""The first plan of a scenario: the pull dispatcher's best construction, then CP-SAT over
the whole problem; on a capped line for half the limit, then the repair's windows as a
large-neighbourhood search for the rest (wall-clock runs only); on a line without caps (a
job shop) for the whole limit, where the windows were measured to cost more than they gain.
The best plan found answers, so it is never worse than the construction: a valid plan for
any feasible scenario (5 000 operations in well under a second). CP-SAT is hinted with the
construction (or a given baseline, when better) on capped lines, where on its own it finds
poor plans, and from 1 000 operations, where on its own it finds none in time; a smaller
job shop it solves best unhinted (decisions/0014)."""

from __future__ import annotations

import time
from dataclasses import replace

from scheduler.check import CheckReport, check
from scheduler.domain import RepairPolicy
from scheduler.problem import ProblemData, Timetable
from scheduler.repair.cp_sat_tier import CpSat
from scheduler.repair.dispatch import dispatch
from scheduler.repair.pipeline import Given, repair
from scheduler.solver import SolverConfig, SolveResult, SolveStatus, solve

HINT_FROM = 1000
WINDOWS_SHARE = 0.5
"""The share of a wall-clock limit the windows get after CP-SAT's whole-problem search (capped lines)."""


def initial_plan(problem: ProblemData, config: SolverConfig, hint: Timetable | None = None) -> SolveResult:
    """The best plan found within ``config``'s limit (the construction's time included)."""
    began = time.perf_counter()
    construction = dispatch(problem)
    best, report = construction, check(problem, construction)
    if hint is not None and (given := check(problem, hint)).valid and given.kpis.objective < report.kpis.objective:
        best, report = hint, given
    capped = bool(problem.buffers) or problem.conwip is not None
    whole = config
    if capped and not config.deterministic:
        left = config.time_limit_s - (time.perf_counter() - began)
        whole = replace(config, time_limit_s=max(0.01, left * (1 - WINDOWS_SHARE)))
    result = solve(problem, whole, hint=best if capped or problem.num_ops >= HINT_FROM or hint is not None else None)
    if result.timetable is not None:
        found = check(problem, result.timetable)
        if not found.valid:  # the checker is the specification: a solver answer that breaks it is a bug
            raise RuntimeError(f"CP-SAT's plan is not valid: {found.violations[0].message}")
        if found.kpis.objective <= report.kpis.objective:
            best, report = result.timetable, found
    if capped and not config.deterministic and result.status is not SolveStatus.OPTIMAL:
        best, report = _windows(problem, best, report, config, began + config.time_limit_s)
    wall = time.perf_counter() - began
    if best == construction and result.timetable != construction:
        return SolveResult(SolveStatus.DISPATCH, best, report.kpis.objective, None, wall, result.build_time_s)
    status = result.status if best == result.timetable else SolveStatus.FEASIBLE
    bound = result.bound if status is SolveStatus.OPTIMAL else None
    return SolveResult(status, best, report.kpis.objective, bound, wall, result.build_time_s)


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
    outcome = repair(problem, reference, report.kpis, policy, "initial", range(problem.num_ops), seed=config.seed,
                     tiers=(Given(plan), CpSat()))  # fmt: skip
    if outcome.report.valid and outcome.report.kpis.objective <= report.kpis.objective:
        return outcome.plan, outcome.report
    return plan, report
