"""Build a fresh CP-SAT model per call, solve it within limits, extract a Timetable."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ortools.sat.python import cp_model

from scheduler import logs
from scheduler.problem import ProblemData, Timetable, Weights
from scheduler.problem.limits import MAX_OBJECTIVE, objective_bound
from scheduler.solver.constraints import add_all
from scheduler.solver.objective import set_objective
from scheduler.solver.stability import Stability
from scheduler.solver.variables import Variables, create_variables


class SolveStatus(StrEnum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"
    """No solution found within the limit (CP-SAT's UNKNOWN)."""
    DISPATCH = "dispatch"
    """CP-SAT found none within the limit: the plan is the dispatch construction's."""

    @property
    def has_solution(self) -> bool:
        return self in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


DETERMINISTIC_BACKSTOP_S = 5.0
_SEARCH_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class SolverConfig:
    """How CP-SAT runs: ``deterministic`` makes ``time_limit_s`` CP-SAT's deterministic time."""

    time_limit_s: float = 10.0
    workers: int = 2
    seed: int = 0
    deterministic: bool = False
    log: bool = False
    presolve: bool = True
    probing: bool = True
    """Presolve probing. Repairs turn it off: it can take most of a repair's budget (decisions/0003)."""
    improve_only: bool = False
    """For repairs that start from a complete hint: spend no worker on the full-problem
    LP search: the LNS workers improve the hint, it does not (decisions/0003)."""


@dataclass(frozen=True)
class SolveResult:
    status: SolveStatus
    timetable: Timetable | None
    objective: int | None
    bound: float | None
    wall_time_s: float
    build_time_s: float


_STATUS = {
    cp_model.OPTIMAL: SolveStatus.OPTIMAL,
    cp_model.FEASIBLE: SolveStatus.FEASIBLE,
    cp_model.INFEASIBLE: SolveStatus.INFEASIBLE,
    cp_model.UNKNOWN: SolveStatus.NO_SOLUTION,
}


class StopToken:
    """Stops a running solve from another thread (a watchdog, a cancelled call)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._solver: cp_model.CpSolver | None = None
        self._stopped = False
        self._children: list[StopToken] = []

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._solver is not None:
                self._solver.stop_search()
            children = list(self._children)
        for child in children:
            child.stop()

    def child(self) -> StopToken:
        """A token that this one stops too, but that stops alone: a watchdog stops one
        solve, not the call (and the events still to come in it)."""
        token = StopToken()
        with self._lock:
            if self._stopped:
                token._stopped = True
            else:
                self._children.append(token)
        return token

    @property
    def stopped(self) -> bool:
        return self._stopped

    def _attach(self, solver: cp_model.CpSolver) -> bool:
        """Register the solver; False when a stop came first."""
        with self._lock:
            self._solver = solver
            return not self._stopped


def solve(
    problem: ProblemData,
    config: SolverConfig,
    weights: Weights | None = None,
    hint: Timetable | None = None,
    stability: Stability | None = None,
    pinned: Mapping[int, tuple[int, int, int]] | None = None,
    makespan_cap: int | None = None,
    stop: StopToken | None = None,
    push_left: bool = False,
) -> SolveResult:
    """Optimise ``problem`` under ``weights`` (default: the problem's own).

    For repair: ``stability`` adds change terms against the old plan, ``pinned`` keeps
    operations outside the neighbourhood in place, ``makespan_cap`` bounds the makespan,
    and ``stop`` can end the search early. ``push_left`` breaks ties by the sum of the
    free operations' ends (a repair window: its makespan is mostly that of the work after
    it, so only starting earlier can gain there). Outcomes are statuses; an invalid model
    is a bug in this package and raises.
    """
    began = time.perf_counter()
    if stop is not None and stop.stopped:  # the model build cannot be interrupted: do not start it
        return SolveResult(SolveStatus.NO_SOLUTION, None, None, None, 0.0, 0.0)
    model = cp_model.CpModel()
    variables = create_variables(model, problem, pinned)
    add_all(model, problem, variables)
    objective = set_objective(model, problem, variables, weights or problem.weights, stability, makespan_cap)
    if push_left:
        _push_left(model, problem, variables, objective, makespan_cap or problem.horizon)
    if hint is not None:
        add_hint(model, problem, variables, hint, pinned or {})
    built = time.perf_counter()

    solver = cp_model.CpSolver()
    if stop is not None and not stop._attach(solver):
        return SolveResult(SolveStatus.NO_SOLUTION, None, None, None, time.perf_counter() - began, built - began)
    params = solver.parameters
    params.num_workers = config.workers
    params.random_seed = config.seed
    params.log_search_progress = config.log
    if _SEARCH_LOG.isEnabledFor(logging.DEBUG):
        _log_search(solver)
    if not config.presolve:
        params.cp_model_presolve = False
    if config.improve_only:
        params.ignore_subsolvers.append("default_lp")
    if not config.probing:
        params.cp_model_probing_level = 0
    if config.deterministic:
        params.max_deterministic_time = config.time_limit_s
        # A wall-clock backstop: on wide domains CP-SAT's search can stop counting
        # deterministic time and never end (decisions/0009).
        params.max_time_in_seconds = DETERMINISTIC_BACKSTOP_S + 10 * config.time_limit_s
    else:
        params.max_time_in_seconds = config.time_limit_s
    code = solver.solve(model)
    if code == cp_model.MODEL_INVALID:
        raise RuntimeError(f"CP-SAT rejected the model: {model.validate()}")
    status = _STATUS[code]
    timetable = extract(problem, solver, variables) if status.has_solution else None
    return SolveResult(
        status=status,
        timetable=timetable,
        # Not solver.objective_value: it can exceed the returned solution's value (decisions/0008).
        objective=solver.value(objective) if status.has_solution else None,
        bound=solver.best_objective_bound if status.has_solution else None,
        wall_time_s=time.perf_counter() - began,
        build_time_s=built - began,
    )


def _log_search(solver: cp_model.CpSolver) -> None:
    """CP-SAT's search log at DEBUG. Its workers call back from threads of their own, which
    the call's context does not reach: its log fields go along as ``extra``."""
    fields = logs.current()
    solver.parameters.log_search_progress = True
    solver.parameters.log_to_stdout = False
    solver.log_callback = lambda line: _SEARCH_LOG.debug("cp-sat: %s", line, extra=fields)


def _push_left(
    model: cp_model.CpModel, problem: ProblemData, v: Variables, objective: cp_model.LinearExprT, latest: int
) -> None:
    """Minimise ``objective``, then (lexicographically: ties only) the free operations' ends;
    the objective alone where the scaled one could leave CP-SAT's 64-bit range."""
    ends = [v.end[i] for i in range(problem.num_ops) if v.constant[i] is None]
    scale = len(ends) * latest + 1
    if scale * objective_bound(problem) > MAX_OBJECTIVE:
        return
    model.minimize(cp_model.LinearExpr.weighted_sum([objective, cp_model.LinearExpr.sum(ends)], [scale, 1]))


def add_hint(
    model: cp_model.CpModel, problem: ProblemData, v: Variables, hint: Timetable, pinned: Mapping[int, object]
) -> None:
    """Hint every free operation's start, end and machine (fixed and pinned ones are constants)."""
    for i, modes in enumerate(problem.op_modes):
        if problem.fixed(i) is not None or i in pinned:
            continue
        model.add_hint(v.start[i], hint.start[i])
        model.add_hint(v.end[i], hint.end[i])
        if len(modes) > 1:
            for (m, _), lit in zip(modes, v.mode_present[i], strict=True):
                model.add_hint(lit, int(m == hint.machine[i]))  # type: ignore[arg-type]
    for var, value in v.derived:
        model.add_hint(var, value(hint))


def extract(problem: ProblemData, solver: cp_model.CpSolver, v: Variables) -> Timetable:
    machines = [
        next(m for (m, _), lit in zip(modes, v.mode_present[i], strict=True) if _is_true(solver, lit))
        for i, modes in enumerate(problem.op_modes)
    ]
    return Timetable(
        machine=tuple(machines),
        start=tuple(solver.value(s) for s in v.start),
        end=tuple(solver.value(e) for e in v.end),
    )


def _is_true(solver: cp_model.CpSolver, literal: cp_model.IntVar | int) -> bool:
    return bool(literal) if isinstance(literal, int) else solver.boolean_value(literal)
