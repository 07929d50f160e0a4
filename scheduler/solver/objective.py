"""The weighted objective. Every term is defined exactly (max/min equalities), so the value
CP-SAT reports equals what ``scheduler.check.kpis`` recomputes, for any feasible solution."""

from __future__ import annotations

from collections.abc import Callable

from ortools.sat.python import cp_model

from scheduler.problem import ProblemData, Timetable, Weights
from scheduler.solver.stability import Stability, stability_terms
from scheduler.solver.variables import Variables, earliest_start, latest_end


def set_objective(
    model: cp_model.CpModel,
    problem: ProblemData,
    v: Variables,
    weights: Weights,
    stability: Stability | None = None,
    makespan_cap: int | None = None,
) -> cp_model.LinearExprT:
    """Minimise the weighted sum of the terms with a non-zero weight (efficiency terms times
    ``stability.efficiency_scale``, plus the stability terms); returns the expression.
    ``makespan_cap`` is a hard upper bound on the makespan."""
    terms: list[cp_model.LinearExprT] = []
    if weights.makespan or makespan_cap is not None:
        makespan = v.derive(
            model.new_int_var(0, problem.horizon if makespan_cap is None else makespan_cap, "makespan"),
            lambda t: max(t.end),
        )
        model.add_max_equality(makespan, v.end)
        terms.append(weights.makespan * makespan)
    if weights.weighted_tardiness or weights.earliness:
        for j, due in enumerate(problem.job_due):
            if due is None:
                continue
            if weights.weighted_tardiness:
                late = v.derive(
                    model.new_int_var(0, problem.horizon, f"tardiness_{j}"),
                    _lateness(problem.job_sinks[j], due, 1),
                )
                model.add_max_equality(late, [v.completion[j] - due, 0])
                terms.append(weights.weighted_tardiness * problem.job_weight[j] * late)
            if weights.earliness:
                early = v.derive(
                    model.new_int_var(0, max(0, due), f"earliness_{j}"),
                    _lateness(problem.job_sinks[j], due, -1),
                )
                model.add_max_equality(early, [due - v.completion[j], 0])
                terms.append(weights.earliness * early)
    if weights.bottleneck_idle:
        terms.append(weights.bottleneck_idle * bottleneck_idle(model, problem, v))
    objective = cp_model.LinearExpr.sum(terms)
    if stability is not None:
        change = cp_model.LinearExpr.sum(stability_terms(model, problem, v, stability))
        objective = cp_model.LinearExpr.weighted_sum([objective, change], [stability.efficiency_scale, 1])
    model.minimize(objective)
    return objective


def bottleneck_idle(model: cp_model.CpModel, problem: ProblemData, v: Variables) -> cp_model.LinearExprT:
    """machines x (last end - first start) - processing time, over the bottleneck's operations."""
    drum = [i for i, s in enumerate(problem.op_station) if s == problem.bottleneck_idx]
    if not drum:
        return 0
    first = v.derive(model.new_int_var(0, problem.horizon, "drum_first"), earliest_start(drum))
    last = v.derive(model.new_int_var(0, problem.horizon, "drum_last"), latest_end(drum))
    model.add_min_equality(first, [v.start[i] for i in drum])
    model.add_max_equality(last, [v.end[i] for i in drum])
    busy = sum(
        duration * present
        for i in drum
        for (_, duration), present in zip(problem.op_modes[i], v.mode_present[i], strict=True)
    )
    return len(problem.bottleneck_machines()) * (last - first) - busy


def _lateness(sinks: tuple[int, ...], due: int, sign: int) -> Callable[[Timetable], int]:
    """max(0, completion - due) (tardiness, sign 1) or max(0, due - completion) (earliness, -1)."""
    return lambda t: max(0, sign * (max(t.end[i] for i in sinks) - due))
