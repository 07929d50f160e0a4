"""Shared helpers: tiny scenarios and a reproducible solve that always runs the checker."""

from __future__ import annotations

from typing import Any

from scheduler.check import CheckReport, check
from scheduler.domain import Scenario
from scheduler.problem import ProblemData, Timetable, Weights, compile_problem
from scheduler.solver import SolverConfig, SolveResult, SolveStatus, solve

# Reproducible: one worker, fixed seed, CP-SAT deterministic time (not wall clock).
REPRODUCIBLE = SolverConfig(time_limit_s=5.0, workers=1, seed=0, deterministic=True)


def line(*stations: str | tuple[str, int]) -> dict[str, Any]:
    """A plant dict: each station with one machine named after it, or (station, n machines)."""
    out = []
    for item in stations:
        name, count = (item, 1) if isinstance(item, str) else item
        machines = [name] if count == 1 else [f"{name}{k + 1}" for k in range(count)]
        out.append({"id": name, "machines": [{"id": m} for m in machines]})
    return {"stations": out}


def job(job_id: str, *steps: tuple[str, int], **fields: Any) -> dict[str, Any]:
    """An order through (station, duration) steps in sequence; op ids ``{job_id}-{k}``."""
    ops = [{"id": f"{job_id}-{k}", "station": s, "duration": d} for k, (s, d) in enumerate(steps)]
    return {"id": job_id, "operations": ops, **fields}


def scenario(plant: dict[str, Any], orders: list[dict[str, Any]], **fields: Any) -> Scenario:
    fields.setdefault("time_unit", "tick")
    fields.setdefault("policy", {"objective": {"makespan": 1, "weighted_tardiness": 0}})
    return Scenario.model_validate({"plant": plant, "orders": orders, **fields})


def solve_checked(
    problem: ProblemData,
    weights: Weights | None = None,
    config: SolverConfig = REPRODUCIBLE,
    hint: Timetable | None = None,
) -> tuple[SolveResult, CheckReport]:
    """Solve, then check: the schedule must be valid and the objective must be what the
    checker recomputes from the timetable alone."""
    result = solve(problem, config, weights=weights, hint=hint)
    assert result.status.has_solution, result.status
    assert result.timetable is not None
    report = check(problem, result.timetable, weights)
    assert report.valid, report.violations
    assert result.objective == report.kpis.objective
    return result, report


def optimum(sc: Scenario, weights: Weights | None = None) -> tuple[SolveResult, CheckReport]:
    result, report = solve_checked(compile_problem(sc), weights)
    assert result.status is SolveStatus.OPTIMAL
    return result, report


def timetable(problem: ProblemData, rows: dict[str, tuple[str, int]]) -> Timetable:
    """A timetable from {op id: (machine id, start)}, each op taking its duration there."""
    machine, start, end = [], [], []
    for i, op_id in enumerate(problem.op_ids):
        m_id, s = rows[op_id]
        m = problem.machine_index[m_id]
        duration = problem.duration(i, m)
        machine.append(m)
        start.append(s)
        end.append(s + (duration if duration is not None else 1))
    return Timetable(tuple(machine), tuple(start), tuple(end))
