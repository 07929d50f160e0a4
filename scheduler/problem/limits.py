"""Whether the solver can weigh a problem: CP-SAT's arithmetic is 64-bit, and a horizon or
an objective beyond it makes the model invalid. Field bounds (``domain.bounds``) keep each
number in range; their combination is checked here."""

from __future__ import annotations

from scheduler.domain import InputError
from scheduler.problem.data import ProblemData

MAX_HORIZON = 2**40
MAX_OBJECTIVE = 2**60
"""With room below 2**63 for CP-SAT's own sums over the objective's terms."""


def objective_bound(problem: ProblemData, scale: int = 1, moved: int = 0, shift: int = 0, reassigned: int = 0) -> int:
    """An upper bound on the (repair) objective over every plan within the horizon."""
    w = problem.weights
    due = [weight for weight, d in zip(problem.job_weight, problem.job_due, strict=True) if d is not None]
    per_tick = (
        w.makespan
        + w.weighted_tardiness * sum(due)
        + w.earliness * len(due)
        + w.bottleneck_idle * max(1, len(problem.bottleneck_machines()))
    )
    n = problem.num_ops
    return scale * per_tick * problem.horizon + (moved + reassigned) * n + shift * n * problem.horizon


def check_magnitude(
    problem: ProblemData, field: str, scale: int = 1, moved: int = 0, shift: int = 0, reassigned: int = 0
) -> None:
    """InputError at ``field`` when the solver could not hold the problem's numbers."""
    if problem.horizon > MAX_HORIZON:
        raise InputError.single(
            field, f"the plan's horizon would reach {problem.horizon} ticks, over the solver's {MAX_HORIZON}"
        )
    bound = objective_bound(problem, scale, moved, shift, reassigned)
    if bound > MAX_OBJECTIVE:
        raise InputError.single(
            field,
            f"the objective could reach {bound:.3g}, beyond the solver's 64-bit range "
            f"({MAX_OBJECTIVE:.3g}): lower the weights or the times",
        )
