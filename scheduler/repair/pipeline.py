"""The repair pipeline: tier 0 right-shift always, tier 1 CP-SAT on the affected
neighbourhood within what is left of the budget, under a watchdog. The best
checker-valid candidate by the policy's objective answers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from scheduler.check import CheckReport, Kpis, check
from scheduler.problem import ProblemData, Timetable
from scheduler.problem.neighbourhood import affected_operations, earliest
from scheduler.repair.gap_repair import gap_repair
from scheduler.repair.gc_pause import gc_paused
from scheduler.repair.receipt import Change, Receipt, change, make_receipt
from scheduler.repair.right_shift import Reference, right_shift, serial
from scheduler.solver import SolverConfig, SolveResult, SolveStatus, Stability, StopToken, solve

_MIN_SOLVE_S = 0.02
"""Below this much time left, CP-SAT is not started: it could not even finish presolve."""
_STOP_GRACE_S = 0.015
_SOLVER_SHARE = 0.92
"""CP-SAT's own limit, as a share of the watchdog's: it overruns its limit a little, and a
stop at the very moment it finishes loses the solution it found."""


@dataclass(frozen=True)
class RepairConfig:
    """How to repair (the solver-side form of the domain's RepairPolicy)."""

    budget_ms: int = 500
    margin_ms: int = 25
    moved: int = 0
    shift: int = 0
    reassigned: int = 0
    efficiency_scale: int = 1
    neighbourhood: int = 600
    workers: int = 2
    seed: int = 0
    deterministic: bool = False


@dataclass
class _Candidate:
    tier: str
    plan: Timetable
    report: CheckReport
    moves: Change
    score: int


@dataclass
class RepairOutcome:
    plan: Timetable
    receipt: Receipt
    report: CheckReport
    solves: list[SolveResult] = field(default_factory=list)


def repair(
    problem: ProblemData,
    reference: Reference,
    before: Kpis,
    config: RepairConfig,
    event_id: str,
    seeds: Iterable[int],
    began: float | None = None,
    stop: StopToken | None = None,
) -> RepairOutcome:
    """Repair ``reference`` (the old plan, per op) for ``problem`` (frozen at now).

    ``began`` is when the event arrived (``time.perf_counter()``): the budget counts from
    there. ``stop`` ends the CP-SAT tier early (a cancelled call)."""
    began = time.perf_counter() if began is None else began
    deadline = began + config.budget_ms / 1000
    stability = Stability(tuple(reference), config.moved, config.shift, config.reassigned, config.efficiency_scale)

    with gc_paused():
        shifted = right_shift(problem, reference)
        best = _candidate("right_shift", problem, reference, shifted or serial(problem, reference), stability)
        if shifted is not None and not best.report.valid:  # a bug in right-shift must not reach the caller
            shifted, best = None, _candidate("right_shift", problem, reference, serial(problem, reference), stability)
        tier0 = best.plan
        cap = best.report.kpis.makespan  # no repair answers with a longer makespan than right-shift
        stable = gap_repair(problem, reference)
        if stable is not None:
            other = _candidate("gap_repair", problem, reference, stable, stability)
            if other.report.kpis.makespan <= cap and _better(other, best):
                best = other

    # After the serial fallback CP-SAT starts cold: hinted, it stays near that wasteful plan (decisions/0002).
    cold = shifted is None and best.tier != "gap_repair"
    if shifted is None:
        affected, size = {i for i in range(problem.num_ops) if problem.fixed(i) is None}, problem.num_ops
    else:
        affected, size = affected_operations(problem, tier0, seeds), config.neighbourhood
    windows = _rolling_windows(problem, reference, best.plan, affected, size) if stability.moved and shifted else None
    solves: list[SolveResult] = []
    status, reason = "not_run", ""
    touched: set[int] = set()
    while affected and (windows is None or len(solves) < len(windows)):
        if config.deterministic:  # reproducible: the same deterministic limit whatever the clock says
            left = max(_MIN_SOLVE_S, (config.budget_ms - config.margin_ms) / 1000)
        else:
            left = deadline - time.perf_counter() - config.margin_ms / 1000
        if left < _MIN_SOLVE_S:
            reason = reason or "no budget left for CP-SAT"
            break
        if windows is None:
            free, seconds = earliest(affected, best.plan, size), left
        else:
            free = windows[len(solves)]
            seconds = left / (len(windows) if config.deterministic else len(windows) - len(solves))
        pinned = {
            i: (best.plan.machine[i], best.plan.start[i], best.plan.end[i])
            for i in range(problem.num_ops)
            if i not in free and problem.fixed(i) is None
        }
        hint = None if cold and best.tier != "cp_sat" else best.plan
        result = _watched(problem, config, max(seconds, _MIN_SOLVE_S), hint, stability, pinned, cap, stop,
                          full_search=hint is None)  # fmt: skip
        solves.append(result)
        status, touched = result.status.value, touched | free
        if result.timetable is not None:
            found = _candidate("cp_sat", problem, reference, result.timetable, stability)
            if _better(found, best):
                best = found
        if stop and stop.stopped:
            break
        if windows is None:
            done = result.status not in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE)
            if done or len(free) == len(affected):
                break
            size *= 2  # solved (or proven infeasible) with time to spare: widen the neighbourhood
    free_count = len(touched)
    if not affected or windows == []:
        reason = "nothing affected"
    elif best.tier != "cp_sat" and not reason:
        reason = {
            "no_solution": "CP-SAT found nothing in time",
            "infeasible": "neighbourhood infeasible",
        }.get(status, "CP-SAT found nothing better")
    latency = (time.perf_counter() - began) * 1000
    receipt = make_receipt(
        event_id, best.tier, status, reason, latency, config.budget_ms, before, best.report, best.moves, free_count
    )
    return RepairOutcome(best.plan, receipt, best.report, solves)


def _rolling_windows(
    problem: ProblemData, reference: Reference, plan: Timetable, affected: set[int], size: int
) -> list[set[int]]:
    """For policies that count moves: the affected operations tier 0 moved, in the order of
    their old starts, in windows of ``size``, solved one after another with the rest pinned.
    Small models converge within their share of the budget, one model of them all does not;
    old starts, so that a far-moved operation does not hold its new slot (decisions/0001)."""
    moved = sorted(
        (ref[1], i) for i in affected if (ref := reference[i]) is not None and (plan.machine[i], plan.start[i]) != ref
    )
    return [{i for _, i in moved[k : k + size]} for k in range(0, len(moved), size)]


def _better(found: _Candidate, best: _Candidate) -> bool:
    """Valid beats invalid, then the lower policy score wins."""
    return found.report.valid and (not best.report.valid or found.score < best.score)


def _candidate(
    tier: str, problem: ProblemData, reference: Reference, plan: Timetable, stability: Stability
) -> _Candidate:
    report = check(problem, plan)
    moves = change(problem, reference, plan)
    score = (
        stability.efficiency_scale * report.kpis.objective
        + stability.moved * moves.moved_operations
        + stability.shift * moves.total_abs_shift
        + stability.reassigned * moves.machine_reassignments
    )
    return _Candidate(tier, plan, report, moves, score)


def _watched(
    problem: ProblemData,
    config: RepairConfig,
    seconds: float,
    hint: Timetable | None,
    stability: Stability,
    pinned: dict[int, tuple[int, int, int]],
    cap: int,
    stop: StopToken | None,
    full_search: bool = False,
) -> SolveResult:
    """CP-SAT in a worker thread, stopped when ``seconds`` are up whatever it is doing
    (its own limit can overrun in presolve); no answer in time is a status, not a wait."""
    token = stop or StopToken()
    solver_config = SolverConfig(
        time_limit_s=seconds if config.deterministic else seconds * _SOLVER_SHARE,
        workers=config.workers,
        seed=config.seed,
        deterministic=config.deterministic,
        probing=False,
        # Both workers improve the hint unless moves count or the start is cold (decisions/0003).
        improve_only=not (full_search or stability.moved or stability.shift or stability.reassigned),
    )
    box: list[SolveResult] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            box.append(
                solve(
                    problem,
                    solver_config,
                    hint=hint,
                    stability=stability,
                    pinned=pinned,
                    makespan_cap=cap,
                    stop=token,
                )
            )
        except BaseException as error:  # handed to the caller: a bug must not pass as "no answer"
            failure.append(error)

    began = time.perf_counter()
    worker = threading.Thread(target=run, name="cp-sat-repair", daemon=True)
    worker.start()
    worker.join(None if config.deterministic else seconds)
    if worker.is_alive():
        token.stop()
        worker.join(_STOP_GRACE_S)
    if failure:
        raise failure[0]
    if box:
        return box[0]
    return SolveResult(SolveStatus.NO_SOLUTION, None, None, None, time.perf_counter() - began, 0.0)
