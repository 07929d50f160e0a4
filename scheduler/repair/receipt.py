"""The receipt every repair returns, and the change measures it reports."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace

from scheduler.check import CheckReport, Kpis
from scheduler.domain.tiers import TierName
from scheduler.problem import ProblemData, Timetable
from scheduler.repair.right_shift import Reference


@dataclass(frozen=True)
class Change:
    """How ``plan`` differs from ``reference`` over the operations the repair could move
    (frozen operations are facts, and new operations had no place before)."""

    moved_operations: int
    total_abs_shift: int
    machine_reassignments: int


def change(problem: ProblemData, reference: Reference, plan: Timetable) -> Change:
    moved = shift = reassigned = 0
    for i, ref in enumerate(reference):
        if ref is None or problem.fixed(i) is not None:
            continue
        machine, start = ref
        moved += plan.start[i] != start or plan.machine[i] != machine
        shift += abs(plan.start[i] - start)
        reassigned += plan.machine[i] != machine
    return Change(moved, shift, reassigned)


@dataclass(frozen=True)
class Receipt:
    event_id: str
    tier: TierName
    """``cp_sat``, ``right_shift``, ``gap_repair``, ``left_shift`` (tier 0), or ``none``
    (nothing to repair)."""
    solver_status: str
    """CP-SAT's status (``optimal``, ``feasible``, ``infeasible``, ``no_solution``), or
    ``not_run`` when no budget was left for it or there was nothing to repair."""
    reason: str
    latency_ms: float
    """From the event's arrival to the end of the engine's work on it (repair, checks):
    what the caller of the engine waits."""
    budget_ms: int
    makespan_before: int
    makespan_after: int
    weighted_tardiness_before: int
    weighted_tardiness_after: int
    bottleneck_idle_before: int
    bottleneck_idle_after: int
    moved_operations: int
    total_abs_shift: int
    machine_reassignments: int
    neighbourhood: int
    """Operations CP-SAT was allowed to move (0 when it did not run)."""
    valid: bool
    violations: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    """What the answer rests on that the caller should know: late facts and by how much,
    sequence gaps, assumed downtime ends, inferred starts."""
    degraded: str = ""
    """Why the answer grew the plan by more than its event accounts for (``engine.degraded``), or ""."""

    def stamped(self, began: float) -> Receipt:
        """This receipt with its latency measured from ``began`` (``time.perf_counter()``) to now."""
        return replace(self, latency_ms=round((time.perf_counter() - began) * 1000, 2))

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["violations"] = list(self.violations)
        data["warnings"] = list(self.warnings)
        return data


def make_receipt(
    event_id: str,
    tier: TierName,
    solver_status: str,
    reason: str,
    latency_ms: float,
    budget_ms: int,
    before: Kpis,
    report: CheckReport,
    moves: Change,
    neighbourhood: int,
) -> Receipt:
    after = report.kpis
    return Receipt(
        event_id=event_id,
        tier=tier,
        solver_status=solver_status,
        reason=reason,
        latency_ms=round(latency_ms, 2),
        budget_ms=budget_ms,
        makespan_before=before.makespan,
        makespan_after=after.makespan,
        weighted_tardiness_before=before.total_weighted_tardiness,
        weighted_tardiness_after=after.total_weighted_tardiness,
        bottleneck_idle_before=before.bottleneck_idle,
        bottleneck_idle_after=after.bottleneck_idle,
        moved_operations=moves.moved_operations,
        total_abs_shift=moves.total_abs_shift,
        machine_reassignments=moves.machine_reassignments,
        neighbourhood=neighbourhood,
        valid=report.valid,
        violations=tuple(f"{v.kind}: {v.message}" for v in report.violations),
    )
