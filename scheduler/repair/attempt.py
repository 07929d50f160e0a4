"""What one repair carries from tier to tier: the state it repairs, the policy and its
clock, and the best checker-valid candidate so far. A tier is any object with a ``name``
and a ``run(attempt)`` that may offer candidates (:class:`Tier`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Set
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Protocol

from scheduler.check import CheckReport, check, kpis
from scheduler.domain import RepairPolicy
from scheduler.domain.tiers import TierName
from scheduler.problem import ProblemData, Timetable
from scheduler.repair import pull
from scheduler.repair.receipt import Change, change
from scheduler.repair.right_shift import Reference
from scheduler.solver import SolveResult, Stability, StopToken

_LOG = logging.getLogger(__name__)
MIN_SOLVE_S = 0.02
"""Below this much time left, CP-SAT is not started: it could not even finish presolve."""


@dataclass(frozen=True)
class Candidate:
    tier: TierName
    plan: Timetable
    report: CheckReport
    moves: Change
    score: int
    """The policy's repair objective: efficiency x scale + the stability terms."""


@dataclass
class Attempt:
    problem: ProblemData
    reference: Reference
    policy: RepairPolicy
    seeds: Set[int]
    """The operations the event disturbed (indices)."""
    began: float
    """When the event arrived (``time.perf_counter()``): the budget counts from there."""
    seed: int = 0
    stop: StopToken | None = None
    best: Candidate | None = None
    shifted: Timetable | None = None
    """Right-shift's plan: the previous plan patched (None when the facts contradict its orders)."""
    cap: int = 0
    """No answer has a longer makespan than tier 0's."""
    solves: list[SolveResult] = field(default_factory=list)
    status: str = "not_run"
    reason: str = ""
    free: set[int] = field(default_factory=set)
    """Every operation CP-SAT was allowed to move, over all its models."""
    timings: dict[str, float] = field(default_factory=dict)
    candidates: list[Candidate] = field(default_factory=list)
    unchecked: list[Candidate] = field(default_factory=list)
    """Candidates scored on their KPIs alone, not yet checked."""
    reserve_s: float = 0.0
    """Kept back from every solver's time for what follows its answer (a left-shift and a
    check of the whole plan): half as long again as tier 0's right-shift and check took."""

    def __post_init__(self) -> None:
        s = self.policy.stability
        self.stability = Stability(tuple(self.reference), s.moved_operations, s.total_abs_shift,
                                   s.machine_reassignments, s.efficiency_scale)  # fmt: skip

    @cached_property
    def line(self) -> pull.Line:
        """What the pull dispatcher knows of the problem (computed once for tier 0)."""
        return pull.line_of(self.problem)

    @property
    def deadline(self) -> float:
        return self.began + self.policy.budget_ms / 1000

    def left_s(self) -> float:
        """Seconds a solver may still use: the budget less the elapsed time and the margin
        (with ``deterministic``, the whole budget whatever the clock says: reproducible)."""
        if self.policy.deterministic:
            return (self.policy.budget_ms - self.policy.margin_ms) / 1000
        return self.deadline - time.perf_counter() - self.policy.margin_ms / 1000 - self.reserve_s

    def spares(self) -> bool:
        """One more pass of tier 0 (about as long as the reserve) still leaves CP-SAT its
        minimum: at 5 000 operations and 200 ms it does not, and CP-SAT gets the time.
        Always with ``deterministic`` (not on the clock) and while the best plan is invalid."""
        if self.policy.deterministic or (self.best is not None and not self.best.report.valid):
            return True
        return self.left_s() - self.reserve_s >= MIN_SOLVE_S

    @property
    def counts_moves(self) -> bool:
        s = self.stability
        return bool(s.moved or s.shift or s.reassigned)

    @property
    def compacts(self) -> bool:
        """Starting earlier never hurts the objective: no move costs and no earliness term."""
        return not self.counts_moves and not self.problem.weights.earliness

    def consider(self, tier: TierName, plan: Timetable, trusted: bool = False) -> Candidate:
        """Check and score ``plan``; it becomes the best when valid and better. ``trusted``: a
        construction that keeps every rule by design (right-shift, the dispatcher) is scored
        on its KPIs alone and checked only if it answers (:meth:`settle`)."""
        found = self.candidate(tier, plan, trusted)
        self.candidates.append(found)
        if trusted:
            self.unchecked.append(found)
        if self.best is None or better(found, self.best):
            self.best = found
        return found

    def candidate(self, tier: TierName, plan: Timetable, trusted: bool = False) -> Candidate:
        problem = self.problem
        report = CheckReport((), kpis(problem, plan, problem.weights)) if trusted else check(problem, plan)
        moves = change(self.problem, self.reference, plan)
        s = self.stability
        score = (s.efficiency_scale * report.kpis.objective + s.moved * moves.moved_operations
                 + s.shift * moves.total_abs_shift + s.reassigned * moves.machine_reassignments)  # fmt: skip
        return Candidate(tier, plan, report, moves, score)

    def settle(self) -> None:
        """The best candidate checked: one that breaks a rule gives way to the next best,
        which is checked in turn (all break one only when the facts do)."""
        while self.best is not None and any(c is self.best for c in self.unchecked):
            best = self.best
            self.unchecked = [c for c in self.unchecked if c is not best]
            report = check(self.problem, best.plan)
            checked = replace(best, report=report)
            self.candidates = [checked if c is best else c for c in self.candidates]
            if not report.valid:
                _LOG.warning("a %s plan breaks a rule: %s", best.tier.value, report.violations[0].message)
            self.best = min(self.candidates, key=lambda c: (not c.report.valid, c.score))


def better(found: Candidate, best: Candidate) -> bool:
    """Valid beats invalid, then the lower policy score wins."""
    return found.report.valid and (not best.report.valid or found.score < best.score)


class Tier(Protocol):
    """One step of the pipeline: it reads the attempt and may offer candidates."""

    name: TierName

    def run(self, attempt: Attempt) -> None: ...
