"""The repair pipeline: a list of tiers run in order on one :class:`Attempt` (right-shift,
the pull dispatcher, gap repair, left-shift, CP-SAT windows), under the budget's clock.
The best checker-valid candidate by the policy's objective answers. A new tier is a class
with ``name`` and ``run(attempt)``, and a place in :data:`TIERS`."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from scheduler.check import CheckReport, Kpis
from scheduler.domain import RepairPolicy
from scheduler.domain.tiers import TierName
from scheduler.problem import ProblemData, Timetable
from scheduler.repair import pull
from scheduler.repair.attempt import Attempt, Tier, better
from scheduler.repair.cp_sat_tier import CpSat
from scheduler.repair.gap_repair import gap_repair
from scheduler.repair.gc_pause import gc_paused
from scheduler.repair.receipt import Receipt, make_receipt
from scheduler.repair.right_shift import Reference, left_shift, right_shift
from scheduler.solver import SolveResult, StopToken


class RightShift:
    """Tier 0, the previous plan patched (``repair.right_shift``): every sequence and every
    order of the caps kept, pushed later only as far as the event forces. None only when
    the facts contradict the plan's orders: the dispatcher answers then."""

    name = TierName.RIGHT_SHIFT

    def run(self, a: Attempt) -> None:
        began = time.perf_counter()
        with gc_paused():
            shifted = right_shift(a.problem, a.reference, a.line)
            if shifted is not None:
                a.consider(self.name, shifted, trusted=True)
        a.shifted = shifted
        a.reserve_s = 1.5 * (time.perf_counter() - began)  # a left-shift and a check, with room


class Dispatch:
    """Tier 0, always an answer: the pull dispatcher (``repair.pull``) under several
    priorities, the previous plan's order first: its first :data:`pull.CORE` while the
    budget lasts, more while its first :data:`RACE_SHARE` does (all with ``deterministic``);
    the best by the policy's objective stays. The best plan's makespan caps every later tier's."""

    name = TierName.DISPATCH

    def run(self, a: Attempt) -> None:
        began = time.perf_counter()
        until = a.began + RACE_SHARE * a.policy.budget_ms / 1000
        with gc_paused():
            planned = any(ref is not None for ref in a.reference)
            last = began
            for k, (_, plan) in enumerate(pull.race(a.line, pull.rules_for(a.problem, planned), a.reference)):
                a.consider(self.name, plan, trusted=True)
                now = time.perf_counter()
                took, last = now - last, now
                if not a.policy.deterministic and now + took > (until if k + 1 >= pull.CORE else a.deadline):
                    break
        if a.best is None:  # an invalid best stays: facts that break a rule are named by the checker
            raise RuntimeError("the pull dispatcher found no plan: a bug")
        a.cap = a.best.report.kpis.makespan
        if not a.reserve_s:
            a.reserve_s = 1.5 * (time.perf_counter() - began) / 2


class GapRepair:
    """Tier 0, stable variant: kept when it scores better within right-shift's makespan.
    Without move costs it rarely wins, so it runs then only when CP-SAT can spare the time."""

    name = TierName.GAP_REPAIR

    def run(self, a: Attempt) -> None:
        if a.best is None or a.left_s() <= 0 or not (a.counts_moves or a.spares()):
            return
        with gc_paused():
            plan = gap_repair(a.problem, a.reference)
            found = None if plan is None else a.candidate(self.name, plan)
        if found is not None and found.report.kpis.makespan <= a.cap and better(found, a.best):
            a.best = found


class LeftShift:
    """Tier 0 for a regular objective (no move costs, no earliness): the best plan so far
    started as early as its sequences allow: an early machine return pulls work earlier.
    Where tier 0 pushed work back it runs only when CP-SAT can spare the time."""

    name = TierName.LEFT_SHIFT

    def run(self, a: Attempt) -> None:
        if a.best is None or not a.compacts or a.left_s() <= 0:
            return
        if a.best.moves.moved_operations and not a.spares():
            return
        with gc_paused():
            plan = left_shift(a.problem, a.best.plan, a.line)
            if plan is not None:
                a.consider(self.name, plan)


RACE_SHARE = 0.4
"""The dispatcher plays another priority while the budget's first 40% last (every one with
``deterministic``): the rest is CP-SAT's."""


class Given:
    """Tier 0 for a plan that is already good (the background improver's, the first plan's
    search): the plan as it is, the candidate to beat (it caps the makespan, as tier 0 does)."""

    name = TierName.NONE

    def __init__(self, plan: Timetable) -> None:
        self.plan = plan

    def run(self, a: Attempt) -> None:
        began = time.perf_counter()
        found = a.consider(self.name, self.plan)
        a.shifted, a.cap = self.plan, found.report.kpis.makespan
        a.reserve_s = 1.5 * (time.perf_counter() - began)


TIERS: tuple[Tier, ...] = (RightShift(), Dispatch(), GapRepair(), LeftShift(), CpSat())


@dataclass
class RepairOutcome:
    plan: Timetable
    receipt: Receipt
    report: CheckReport
    solves: list[SolveResult] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    """Milliseconds each tier took (where the budget went)."""


def repair(
    problem: ProblemData,
    reference: Reference,
    before: Kpis,
    policy: RepairPolicy,
    event_id: str,
    seeds: Iterable[int],
    began: float | None = None,
    stop: StopToken | None = None,
    seed: int = 0,
    tiers: Sequence[Tier] = TIERS,
) -> RepairOutcome:
    """Repair ``reference`` (the old plan, per op) for ``problem`` (frozen at now) under
    ``policy``. ``began`` is when the event arrived (``time.perf_counter()``): the budget
    counts from there. ``stop`` ends the CP-SAT tier early (a cancelled call)."""
    began = time.perf_counter() if began is None else began
    a = Attempt(problem, reference, policy, set(seeds), began, seed, stop)
    for tier in tiers:
        started = time.perf_counter()
        tier.run(a)
        a.timings[tier.name.value] = round((time.perf_counter() - started) * 1000, 2)
        if tier.name is not TierName.RIGHT_SHIFT:  # later tiers compare with a checked best
            a.settle()
    best = a.best
    assert best is not None, "the first tier always answers"
    receipt = make_receipt(event_id, best.tier, a.status, a.reason, 0.0, policy.budget_ms, before, best.report,
                           best.moves, len(a.free)).stamped(began)  # fmt: skip
    return RepairOutcome(best.plan, receipt, best.report, a.solves, a.timings)
