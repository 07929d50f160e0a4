"""Build a fresh CP-SAT model per call, solve it within limits, extract a Timetable."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

from ortools.sat.python import cp_model

from scheduler.problem import ProblemData, Timetable, Weights
from scheduler.solver.constraints import add_all
from scheduler.solver.objective import set_objective
from scheduler.solver.variables import Variables, create_variables


class SolveStatus(StrEnum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"
    """No solution found within the limit (CP-SAT's UNKNOWN)."""

    @property
    def has_solution(self) -> bool:
        return self in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


@dataclass(frozen=True)
class SolverConfig:
    """How CP-SAT runs: ``deterministic`` makes ``time_limit_s`` CP-SAT's deterministic time."""

    time_limit_s: float = 10.0
    workers: int = 2
    seed: int = 0
    deterministic: bool = False
    log: bool = False


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


def solve(
    problem: ProblemData,
    config: SolverConfig,
    weights: Weights | None = None,
    hint: Timetable | None = None,
) -> SolveResult:
    """Optimise ``problem`` under ``weights`` (default: the problem's own).

    Outcomes are statuses; an invalid model is a bug in this package and raises.
    """
    began = time.perf_counter()
    model = cp_model.CpModel()
    variables = create_variables(model, problem)
    add_all(model, problem, variables)
    objective = set_objective(model, problem, variables, weights or problem.weights)
    if hint is not None:
        add_hint(model, problem, variables, hint)
    built = time.perf_counter()

    solver = cp_model.CpSolver()
    params = solver.parameters
    params.num_workers = config.workers
    params.random_seed = config.seed
    params.log_search_progress = config.log
    if config.deterministic:
        params.max_deterministic_time = config.time_limit_s
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
        # Not solver.objective_value: presolve relaxes the max/min equalities that the
        # objective pushes one way, so that value can exceed the returned solution's.
        objective=solver.value(objective) if status.has_solution else None,
        bound=solver.best_objective_bound if status.has_solution else None,
        wall_time_s=time.perf_counter() - began,
        build_time_s=built - began,
    )


def add_hint(model: cp_model.CpModel, problem: ProblemData, v: Variables, hint: Timetable) -> None:
    """Hint every operation's start, end and machine."""
    for i, modes in enumerate(problem.op_modes):
        model.add_hint(v.start[i], hint.start[i])
        model.add_hint(v.end[i], hint.end[i])
        if len(modes) > 1:
            for (m, _), lit in zip(modes, v.mode_present[i], strict=True):
                model.add_hint(lit, int(m == hint.machine[i]))  # type: ignore[arg-type]


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
