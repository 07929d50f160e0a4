"""The weighted objective. Every term is defined exactly (max/min equalities), so the value
CP-SAT reports equals what ``scheduler.check.kpis`` recomputes, for any feasible solution."""

from __future__ import annotations

from ortools.sat.python import cp_model

from scheduler.problem import ProblemData, Weights
from scheduler.solver.variables import Variables


def set_objective(
    model: cp_model.CpModel, problem: ProblemData, v: Variables, weights: Weights
) -> cp_model.LinearExprT:
    """Minimise the weighted sum of the terms with a non-zero weight; returns the expression."""
    terms: list[cp_model.LinearExprT] = []
    if weights.makespan:
        makespan = model.new_int_var(0, problem.horizon, "makespan")
        model.add_max_equality(makespan, v.end)
        terms.append(weights.makespan * makespan)
    if weights.weighted_tardiness or weights.earliness:
        for j, due in enumerate(problem.job_due):
            if due is None:
                continue
            if weights.weighted_tardiness:
                late = model.new_int_var(0, problem.horizon, f"tardiness_{j}")
                model.add_max_equality(late, [v.completion[j] - due, 0])
                terms.append(weights.weighted_tardiness * problem.job_weight[j] * late)
            if weights.earliness:
                early = model.new_int_var(0, max(0, due), f"earliness_{j}")
                model.add_max_equality(early, [due - v.completion[j], 0])
                terms.append(weights.earliness * early)
    if weights.bottleneck_idle:
        terms.append(weights.bottleneck_idle * bottleneck_idle(model, problem, v))
    objective = sum(terms)
    model.minimize(objective)
    return objective


def bottleneck_idle(model: cp_model.CpModel, problem: ProblemData, v: Variables) -> cp_model.LinearExprT:
    """machines x (last end - first start) - processing time, over the bottleneck's operations."""
    drum = [i for i, s in enumerate(problem.op_station) if s == problem.bottleneck_idx]
    if not drum:
        return 0
    first = model.new_int_var(0, problem.horizon, "drum_first")
    last = model.new_int_var(0, problem.horizon, "drum_last")
    model.add_min_equality(first, [v.start[i] for i in drum])
    model.add_max_equality(last, [v.end[i] for i in drum])
    busy = sum(
        duration * present
        for i in drum
        for (_, duration), present in zip(problem.op_modes[i], v.mode_present[i], strict=True)
    )
    return len(problem.bottleneck_machines()) * (last - first) - busy
