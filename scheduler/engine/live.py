"""A live plan: it holds a schedule and the facts ledger, takes shop-floor events, and answers
each with a repaired plan and a receipt.

At each event the engine records its facts in the ledger at their true times (refusing a
contradiction), moves "now" to the latest event time (never backwards), derives what is
frozen at now from the ledger and the plan (``engine.situation``), and repairs the rest with
:func:`scheduler.repair.repair`. Every event is a transaction: it is applied to a fork,
which replaces the plan only when the answer passes the checker. A duplicate event (same
source and event_id) returns the first answer again and changes nothing; the same id with
another payload is an error.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import assert_never

from scheduler.check import CheckReport, Kpis, check
from scheduler.domain import InputError, RepairPolicy, Scenario, Schedule
from scheduler.domain.events import (
    CycleTimeObserved,
    DowntimeEnded,
    DowntimeStarted,
    DowntimeUpdated,
    Event,
    MaintenancePlanned,
    OperationCompleted,
    OperationStarted,
    OrderAdded,
    OrderCancelled,
    ParameterChanged,
    PlanImproved,
    RuleJudged,
    RuleRevised,
)
from scheduler.domain.rules import Expectation
from scheduler.domain.state import RepairState
from scheduler.domain.tiers import TierName
from scheduler.engine import degraded, parameters, rules, takt
from scheduler.engine.admit import admit
from scheduler.engine.ledger import Ledger
from scheduler.engine.orders import cancel, jobs_of, maintained, on_machines
from scheduler.engine.result import Answers, RepairResult, within_range
from scheduler.engine.situation import derive
from scheduler.problem import (
    Position,
    ProblemData,
    Timetable,
    compile_problem,
    reference_of,
    rows_of,
    schedule_from_timetable,
)
from scheduler.problem.freeze import Situation, freeze
from scheduler.problem.limits import check_magnitude
from scheduler.repair import change, repair
from scheduler.repair.gc_pause import keep_long_lived
from scheduler.repair.initial import initial_plan
from scheduler.repair.receipt import make_receipt
from scheduler.solver import SolverConfig, StopToken

Reference = list[tuple[int, int] | None]
Foresight = Callable[["LivePlan", ParameterChanged, int, Expectation], tuple[float, float] | None]
"""(the live plan, a rule's firing, horizon, what it expects) -> the expected KPI without and
with the firing (``twin.whatif.TwinCheck``), or None when it cannot say."""


@dataclass
class LivePlan:
    scenario: Scenario
    plan: dict[str, Position]
    policy: RepairPolicy
    seed: int = 0
    now: int = 0
    version: int = 1
    ledger: Ledger = field(default_factory=Ledger)
    answered: Answers = field(default_factory=Answers)
    kpis: Kpis | None = None
    rule_log: list[Event] = field(default_factory=list)
    """Parameter changes and the rules' records, in the order taken."""
    predict: Foresight | None = None
    """What ``verify: twin`` rules ask before they fire (None: they do not fire)."""

    def __post_init__(self) -> None:
        self._problem = compile_problem(self.scenario)
        self._check_magnitude(self._problem, "scenario")
        report = self.check()  # in the situation its ledger describes (a restored snapshot has one)
        if not report.valid:
            raise InputError.single("plan", f"the plan to repair is not valid: {report.violations[0].message}")
        self.kpis = report.kpis

    @classmethod
    def create(
        cls,
        scenario: Scenario,
        schedule: Schedule | None = None,
        policy: RepairPolicy | None = None,
        time_limit_s: float | None = None,
    ) -> LivePlan:
        """A live plan from the scenario's baseline, ``schedule``, or else a fresh solve
        (within the solver policy's time limit, or ``time_limit_s`` when that is shorter)."""
        schedule = schedule or scenario.baseline
        if schedule is None:
            settings = scenario.policy.solver
            problem = compile_problem(scenario)
            check_magnitude(problem, "scenario")
            limit = settings.time_limit_s if time_limit_s is None else min(settings.time_limit_s, time_limit_s)
            config = SolverConfig(limit, settings.workers, settings.seed, settings.deterministic)
            result = initial_plan(problem, config)
            assert result.timetable is not None  # the dispatch plan when CP-SAT has none
            within_range(result.timetable, scenario, "scenario")
            schedule = schedule_from_timetable(problem, result.timetable)
        return cls(scenario, rows_of(schedule), policy or scenario.policy.repair, seed=scenario.policy.solver.seed)

    def timetable(self, problem: ProblemData) -> Timetable:
        return self._timetable_of(problem, self.plan)

    def schedule(self) -> Schedule:
        return schedule_from_timetable(self._problem, self.timetable(self._problem))

    # ------------------------------------------------------------------ events

    def apply(
        self,
        event: Event,
        began: float | None = None,
        budget_ms: int | None = None,
        stop: StopToken | None = None,
    ) -> RepairResult:
        """Apply one event and repair within ``budget_ms`` (default: the policy's), counted
        from ``began`` (``time.perf_counter()``); ``stop`` ends CP-SAT early. An event that is
        invalid, or after which no valid plan was found, raises InputError and changes nothing."""
        first = self.answered.first(event)
        if isinstance(first, tuple):  # answered long ago: its receipt, the plan as it is now
            problem = self.problem()
            return RepairResult(first[0], first[1], problem, self.timetable(problem))
        if first is not None:
            return first
        after, result = self.attempt(event, began, budget_ms, stop)
        self.take(after)
        self.answered.add(event, result)
        return result

    def attempt(
        self,
        event: Event,
        began: float | None = None,
        budget_ms: int | None = None,
        stop: StopToken | None = None,
    ) -> tuple[LivePlan, RepairResult]:
        """``event`` applied and repaired on a fork: (the fork, its result). This plan does not
        change; :meth:`take` commits the fork (a transaction: nothing half-applied remains)."""
        trial = self.fork()
        began = time.perf_counter() if began is None else began
        result = trial._apply(event, began, budget_ms, stop)
        result = replace(result, receipt=result.receipt.stamped(began))
        if not result.receipt.valid:
            raise InputError.single("event", f"no valid plan after this event: {result.receipt.violations[0]}")
        return trial, result

    def take(self, trial: LivePlan) -> None:
        """Commit the state of a fork made by :meth:`attempt`."""
        answered = self.answered
        self.__dict__.update(trial.__dict__)
        self.answered = answered
        keep_long_lived()

    def _apply(self, event: Event, began: float, budget_ms: int | None, stop: StopToken | None) -> RepairResult:
        accounts = degraded.accounted(self, event)
        problem, reference, seeds, unchanged, warnings = self._advance(event)
        report = check(problem, self.timetable(problem)) if unchanged else None
        if report is not None and not report.valid:  # time moved on: an open downtime grew over planned work
            seeds |= {op for v in report.violations for op in v.ids if op in problem.op_index}
        if report is not None and report.valid:
            plan = self.timetable(problem)
            assert self.kpis is not None
            receipt = make_receipt(event.event_id, TierName.NONE, "not_run", unchanged, 0.0, self.policy.budget_ms,
                                   self.kpis, report, change(problem, reference, plan), 0)  # fmt: skip
            result = RepairResult(self.version, receipt, problem, plan)
        else:
            seed_idx = {problem.op_index[s] for s in seeds if s in problem.op_index}
            policy = parameters.careful(self.policy) if isinstance(event, ParameterChanged) else self.policy
            result = self._repair(problem, reference, event.event_id, seed_idx, budget_ms, began, stop, policy)
        flag = degraded.flagged(result.receipt, accounts, degraded.due_weight(problem), problem.weights)
        return replace(result, receipt=replace(result.receipt, warnings=tuple(warnings), degraded=flag))

    def replay(self, event: Event, plan: dict[str, Position] | None) -> None:
        """Take a logged event again with the plan it produced then (None: it changed
        nothing), without repairing: how a restarted server gets back to where it was."""
        problem, _, _, _, _ = self._advance(event)
        if plan is not None:
            self._adopt(problem, self._timetable_of(problem, plan))

    def _repair(
        self,
        problem: ProblemData,
        reference: Reference,
        event_id: str,
        seeds: set[int],
        budget_ms: int | None,
        began: float | None = None,
        stop: StopToken | None = None,
        policy: RepairPolicy | None = None,
    ) -> RepairResult:
        """Repair at the current state within ``budget_ms`` (default: the policy's), adopt the result."""
        policy = policy or self.policy
        if budget_ms is not None:
            policy = policy.model_copy(update={"budget_ms": budget_ms})
        assert self.kpis is not None
        outcome = repair(problem, reference, self.kpis, policy, event_id, seeds, began, stop, self.seed)
        within_range(outcome.plan, self.scenario, "event")
        self._adopt(problem, outcome.plan, outcome.report.kpis)
        return RepairResult(self.version, outcome.receipt, problem, outcome.plan)

    def derived(self) -> list[Event]:
        """Events the engine derives from the facts so far, not yet taken: the takt
        monitor's, then the rules' (judgements, revisions, firings)."""
        found: list[Event] = list(takt.derived_events(self.ledger, self._problem, self.scenario, self.now, self.policy))
        foresight = self.predict
        predict = None if foresight is None else lambda f, h, e: foresight(self, f, h, e)
        return found + list(rules.derived_events(self.scenario, self.policy, self.rule_log, self._problem,
                                                 lambda: self.situation()[0].fixed, self.now, predict))  # fmt: skip

    def watched(self) -> takt.Watched:
        """The takt monitor's view of the stations."""
        return takt.watched(self.ledger, self._problem, self.scenario, self.now, self.policy)

    # ------------------------------------------------------------------ the state

    def situation(self) -> tuple[Situation, tuple[str, ...]]:
        """What is frozen at now, from the ledger and the plan, and what that rests on."""
        seen = derive(self.ledger, self.plan, self.now, self._problem, self.policy)
        return seen.situation, seen.warnings

    def problem(self) -> ProblemData:
        """The problem as it stands now: facts frozen, downtimes and cycle times applied."""
        return freeze(self._problem, self.situation()[0])

    def state(self) -> RepairState:
        """What the events made of the line, for ``check`` to verify the plan against."""
        s = self.situation()[0]
        return RepairState(now=s.now, orders=self.scenario.orders, facts=dict(s.fixed),
                           downtimes=list(s.downtime), factors=dict(s.factors),
                           machine_factors=dict(s.machine_factors))  # fmt: skip

    def check(self) -> CheckReport:
        """The checker's verdict on the current plan in the current situation."""
        problem = self.problem()
        return check(problem, self.timetable(problem))

    def preview(self, event: Event) -> tuple[ProblemData, Reference, str]:
        """The state ``event`` would be repaired in (the problem at its time, the plan per op,
        why nothing needs repair or ""), on a fork: this plan does not change."""
        problem, reference, _, unchanged, _ = self.fork()._advance(event)
        return problem, reference, unchanged

    def fork(self) -> LivePlan:
        """An independent copy (a what-if): nothing done to it reaches this plan."""
        twin = copy.copy(self)
        twin.plan, twin.ledger, twin.answered = dict(self.plan), self.ledger.copy(), Answers()
        twin.rule_log = list(self.rule_log)
        return twin

    def _advance(self, event: Event) -> tuple[ProblemData, Reference, set[str], str, list[str]]:
        """Validate ``event``, record its facts, move now and derive the frozen state: (the
        problem at now, the current plan per op, the operations it disturbs, why nothing
        needs repair or "", warnings)."""
        admit(event, self.plan, self.scenario, self._problem, self.policy.default_downtime)
        before = self.situation()[0]
        machine = event.machine if isinstance(event, OperationStarted | OperationCompleted) else None
        if isinstance(event, OperationStarted | OperationCompleted) and machine is None:
            known = self.ledger.operations.get(event.operation)
            machine = known.machine if known is not None else self.plan[event.operation][0]
        warnings = self.ledger.record(event, self.now, machine, self.policy.completion_without_start == "infer")
        self.now = max(self.now, event.time)
        seeds, unchanged = self._absorb(event, before)
        situation, assumed = self.situation()
        problem = freeze(self._problem, situation)
        self._check_magnitude(problem, "event")
        seeds |= self._disturbed(situation, before)
        return problem, reference_of(problem, self.plan), seeds, unchanged, [*warnings, *assumed]

    def _disturbed(self, situation: Situation, before: Situation) -> set[str]:
        """Operations near a frozen one whose place the event changed (a late fact, an
        interruption): its job's and its machine's."""
        moved = {op for op, place in situation.fixed.items() if self.plan.get(op) != place or op not in before.fixed}
        machines = {situation.fixed[op][0] for op in moved}
        return jobs_of(self.scenario, moved) | on_machines(self.plan, machines)

    def _check_magnitude(self, problem: ProblemData, field: str) -> None:
        s = self.policy.stability
        check_magnitude(problem, field, s.efficiency_scale, s.moved_operations, s.total_abs_shift,
                        s.machine_reassignments)  # fmt: skip

    def _adopt(self, problem: ProblemData, plan: Timetable, kpis: Kpis | None = None) -> None:
        """Make ``plan`` the current one (``kpis``: its checker's KPIs, when already known)."""
        self.plan = {
            problem.op_ids[i]: (problem.machine_ids[plan.machine[i]], plan.start[i], plan.end[i])
            for i in range(problem.num_ops)
        }
        self.kpis = check(problem, plan).kpis if kpis is None else kpis
        self.version += 1

    @staticmethod
    def _timetable_of(problem: ProblemData, plan: dict[str, Position]) -> Timetable:
        rows = [plan[op_id] for op_id in problem.op_ids]
        return Timetable(
            tuple(problem.machine_index[m] for m, _, _ in rows),
            tuple(s for _, s, _ in rows),
            tuple(e for _, _, e in rows),
        )

    # ------------------------------------------------------------------ what an event disturbs

    def _absorb(self, event: Event, before: Situation) -> tuple[set[str], str]:  # noqa: PLR0911 (a case per kind)
        """Orders changed by ``event``: (operations it disturbs directly, why nothing needs repair or "")."""
        match event:
            case DowntimeStarted() | DowntimeUpdated() | DowntimeEnded():
                return on_machines(self.plan, {event.machine}), ""
            case MaintenancePlanned():
                self._set_scenario(maintained(self.scenario, event))
                return on_machines(self.plan, {event.machine}), ""
            case OperationStarted() | OperationCompleted():
                return jobs_of(self.scenario, [event.operation]) | on_machines(
                    self.plan, {self.plan[event.operation][0]}
                ), ""
            case CycleTimeObserved():
                return self._takt(event, before)
            case OrderAdded():
                return self._added(event), ""
            case OrderCancelled():
                return self._cancel(event.order_id, before), ""
            case ParameterChanged() | RuleJudged() | RuleRevised():
                return self._ruled(event, before)
            case PlanImproved():  # its plan comes with it from the log (engine.improve)
                return set(), "a background improvement's record: its plan comes with the version"
            case _:
                assert_never(event)

    def _takt(self, event: CycleTimeObserved, before: Situation) -> tuple[set[str], str]:
        after = self.situation()[0]
        if (after.factors, after.machine_factors) == (before.factors, before.machine_factors):
            within = abs(event.ratio - 1.0) <= self.policy.takt_tolerance
            return set(), (
                f"cycle time within tolerance: observed/planned = {event.ratio:.3f}, "
                f"tolerance {self.policy.takt_tolerance:.0%}"
                if within
                else f"cycle time factor {event.ratio:.3f} already applied"
            )
        station_of = self.scenario.plant.station_of_machine()
        hit = {m for m, s in station_of.items() if s == event.station} if event.station else {event.machine or ""}
        return on_machines(self.plan, hit), ""

    def _ruled(self, event: ParameterChanged | RuleJudged | RuleRevised, before: Situation) -> tuple[set[str], str]:
        """A parameter change re-plans what it touches under the new value (a kanban cap: the
        work of the buffer's two stations; the rest: everything not started); a rule's
        verdict or revision is only recorded."""
        self.rule_log.append(event)
        if not isinstance(event, ParameterChanged):
            return set(), f"a rule's record ({event.type}): nothing to repair"
        scenario, self.policy = parameters.changed(self.scenario, self.policy, event)
        self._set_scenario(scenario)
        machines = parameters.touched(self.scenario, event)
        return {op for op, (m, _, _) in self.plan.items() if op not in before.fixed
                and (machines is None or m in machines)}, ""  # fmt: skip

    def _added(self, event: OrderAdded) -> set[str]:
        """A rush order disturbs the work queued on every machine it may use: right-shift
        appends it after that work, and only moving it can bring the order forward."""
        self._set_scenario(self.scenario.model_copy(update={"orders": [*self.scenario.orders, event.order]}))
        p = self._problem
        machines = {p.machine_ids[m] for op in event.order.operations for m, _ in p.op_modes[p.op_index[op.id]]}
        return {op.id for op in event.order.operations} | on_machines(self.plan, machines)

    def _cancel(self, order_id: str, before: Situation) -> set[str]:
        """The order's operations not started by now leave the plan; what started stays."""
        scenario, self.plan, freed = cancel(
            self.scenario, self.plan, order_id, set(before.fixed) | set(self.ledger.operations)
        )
        self._set_scenario(scenario)
        return on_machines(self.plan, freed)

    def _set_scenario(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._problem = compile_problem(scenario)
