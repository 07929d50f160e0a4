"""A live plan: it holds a schedule, takes shop-floor events, and answers each with a
repaired plan and a receipt.

At each event the engine moves "now" to the event's time (never backwards) and freezes what
the plan says has started by then; reported facts (an operation started or completed at
another time, a downtime, a slower station) override the plan. It then repairs the rest
with :func:`scheduler.repair.repair`. A duplicate event (same source and event_id) returns
the first answer again and changes nothing.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic_core import PydanticCustomError

from scheduler.check import CheckReport, Kpis, check
from scheduler.domain import InputError, Order, RepairPolicy, Scenario, Schedule
from scheduler.domain.events import (
    CycleTimeObserved,
    DowntimeEnded,
    DowntimeStarted,
    DowntimeUpdated,
    Event,
    OperationCompleted,
    OperationStarted,
    OrderAdded,
    OrderCancelled,
)
from scheduler.domain.state import RepairState
from scheduler.problem import (
    Position,
    ProblemData,
    Timetable,
    compile_problem,
    reference_of,
    rows_of,
    schedule_from_timetable,
)
from scheduler.problem.freeze import Situation, duration_factor, freeze, scaled_duration
from scheduler.problem.limits import check_magnitude
from scheduler.repair import Receipt, RepairConfig, change, repair
from scheduler.repair.receipt import make_receipt
from scheduler.solver import SolverConfig, StopToken, solve


@dataclass
class _Downtime:
    machine: str
    start: int
    end: int
    ended: bool = False


@dataclass(frozen=True)
class RepairResult:
    version: int
    schedule: Schedule
    receipt: Receipt
    problem: ProblemData
    """The problem the plan was checked against (frozen at the event's time)."""
    timetable: Timetable


def _within_range(plan: Timetable, scenario: Scenario, field: str) -> None:
    """A plan must end inside the time range a scenario can write (a slowed station can push it out)."""
    latest, most = max(plan.end, default=0), scenario.timebase.max_tick
    if latest > most:
        raise InputError.single(field, f"the plan would end at tick {latest}, beyond the plan's range (tick {most})")


def repair_config(policy: RepairPolicy, seed: int = 0) -> RepairConfig:
    s = policy.stability
    return RepairConfig(
        budget_ms=policy.budget_ms,
        margin_ms=policy.margin_ms,
        moved=s.moved_operations,
        shift=s.total_abs_shift,
        reassigned=s.machine_reassignments,
        efficiency_scale=s.efficiency_scale,
        neighbourhood=policy.neighbourhood,
        workers=policy.workers,
        seed=seed,
        deterministic=policy.deterministic,
    )


@dataclass
class LivePlan:
    scenario: Scenario
    plan: dict[str, Position]
    policy: RepairPolicy
    seed: int = 0
    now: int = 0
    version: int = 1
    facts: dict[str, Position] = field(default_factory=dict)
    interrupted: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Operation id -> (downtime id, work left when it resumes)."""
    downtimes: dict[str, _Downtime] = field(default_factory=dict)
    factors: dict[str, float] = field(default_factory=dict)
    machine_factors: dict[str, float] = field(default_factory=dict)
    answered: dict[tuple[str, str], RepairResult] = field(default_factory=dict)
    kpis: Kpis | None = None

    def __post_init__(self) -> None:
        self._problem = compile_problem(self.scenario)
        self._check_magnitude(self._problem, "scenario")
        report = check(self._problem, self.timetable(self._problem))
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
            result = solve(problem, config)
            if result.timetable is None:
                raise InputError.single("scenario", f"no initial plan: the solver ended {result.status.value}")
            _within_range(result.timetable, scenario, "scenario")
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
        key = (event.source, event.event_id)
        if key in self.answered:
            return self.answered[key]
        after, result = self.attempt(event, began, budget_ms, stop)
        self.take(after)
        self.answered[key] = result
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
        result = trial._apply(event, time.perf_counter() if began is None else began, budget_ms, stop)
        if not result.receipt.valid:
            raise InputError.single("event", f"no valid plan after this event: {result.receipt.violations[0]}")
        return trial, result

    def take(self, trial: LivePlan) -> None:
        """Commit the state of a fork made by :meth:`attempt`."""
        answered = self.answered
        self.__dict__.update(trial.__dict__)
        self.answered = answered

    def _apply(self, event: Event, began: float, budget_ms: int | None, stop: StopToken | None) -> RepairResult:
        problem, reference, seeds, unchanged = self._advance(event)
        assert self.kpis is not None
        if unchanged:
            plan = self.timetable(problem)
            report = check(problem, plan)
            latency = (time.perf_counter() - began) * 1000
            receipt = make_receipt(event.event_id, "none", "not_run", unchanged, latency, self.policy.budget_ms,
                                   self.kpis, report, change(problem, reference, plan), 0)  # fmt: skip
            result = RepairResult(self.version, schedule_from_timetable(problem, plan), receipt, problem, plan)
        else:
            seed_idx = {problem.op_index[s] for s in seeds if s in problem.op_index}
            result = self._repair(problem, reference, event.event_id, seed_idx, budget_ms, began, stop)
        return result

    def replay(self, event: Event, plan: dict[str, Position] | None) -> None:
        """Take a logged event again with the plan it produced then (None: it changed
        nothing), without repairing: how a restarted server gets back to where it was."""
        problem, _, _, _ = self._advance(event)
        if plan is not None:
            self._adopt(problem, self._timetable_of(problem, plan))

    def retune(self, kanban: dict[str, int], event_id: str, budget_ms: int | None = None) -> RepairResult:
        """Change kanban caps (buffer id ``UP->DOWN`` -> cap) and repair everything not yet
        started at the current "now" (a what-if on a fork)."""
        known = {b.id: b for b in self.scenario.plant.buffers}
        for k, buffer_id in enumerate(kanban):
            if buffer_id not in known:
                raise InputError.single(f"kanban_caps[{k}].buffer", f"unknown buffer {buffer_id!r}")
        buffers = [b.model_copy(update={"kanban": kanban.get(b.id, b.kanban)}) for b in self.scenario.plant.buffers]
        self.scenario = self.scenario.model_copy(
            update={"plant": self.scenario.plant.model_copy(update={"buffers": buffers})}
        )
        self._problem = compile_problem(self.scenario)
        problem = self.problem()
        seeds = {i for i in range(problem.num_ops) if problem.fixed(i) is None}
        return self._repair(problem, reference_of(problem, self.plan), event_id, seeds, budget_ms)

    def _repair(
        self,
        problem: ProblemData,
        reference: list[tuple[int, int] | None],
        event_id: str,
        seeds: set[int],
        budget_ms: int | None,
        began: float | None = None,
        stop: StopToken | None = None,
    ) -> RepairResult:
        """Repair at the current state within ``budget_ms`` (default: the policy's), adopt the result."""
        config = repair_config(self.policy, self.seed)
        if budget_ms is not None:
            config = replace(config, budget_ms=budget_ms)
        assert self.kpis is not None
        outcome = repair(problem, reference, self.kpis, config, event_id, seeds, began, stop)
        _within_range(outcome.plan, self.scenario, "event")
        self._adopt(problem, outcome.plan)
        return RepairResult(self.version, schedule_from_timetable(problem, outcome.plan), outcome.receipt,
                            problem, outcome.plan)  # fmt: skip

    def problem(self) -> ProblemData:
        """The problem as it stands now: facts frozen, downtimes and cycle times applied."""
        return freeze(self._problem, self._situation())

    def state(self) -> RepairState:
        """What the events made of the line, for ``check`` to verify the plan against."""
        s = self._situation()
        return RepairState(now=s.now, orders=self.scenario.orders, facts=dict(s.fixed),
                           downtimes=list(s.downtime), factors=dict(s.factors),
                           machine_factors=dict(s.machine_factors))  # fmt: skip

    def check(self) -> CheckReport:
        """The checker's verdict on the current plan in the current situation."""
        problem = self.problem()
        return check(problem, self.timetable(problem))

    def preview(self, event: Event) -> tuple[ProblemData, list[tuple[int, int] | None], str]:
        """The state ``event`` would be repaired in (the problem at its time, the plan per op,
        why nothing needs repair or ""), on a fork: this plan does not change."""
        problem, reference, _, unchanged = self.fork()._advance(event)
        return problem, reference, unchanged

    def fork(self) -> LivePlan:
        """An independent copy (a what-if): nothing done to it reaches this plan."""
        twin = copy.copy(self)
        twin.plan, twin.facts, twin.interrupted = dict(self.plan), dict(self.facts), dict(self.interrupted)
        twin.downtimes = {k: replace(d) for k, d in self.downtimes.items()}
        twin.factors, twin.machine_factors, twin.answered = dict(self.factors), dict(self.machine_factors), {}
        return twin

    def _advance(self, event: Event) -> tuple[ProblemData, list[tuple[int, int] | None], set[str], str]:
        """Validate ``event``, move now, freeze and absorb it: (the problem at now, the
        current plan per op, the operations it disturbs, why nothing needs repair or "")."""
        self._validate(event)
        self.now = max(self.now, event.time)
        self._freeze_started()
        seeds, unchanged = self._absorb(event)
        problem = self.problem()
        self._check_magnitude(problem, "event")
        return problem, reference_of(problem, self.plan), seeds, unchanged

    def _check_magnitude(self, problem: ProblemData, field: str) -> None:
        s = self.policy.stability
        check_magnitude(problem, field, s.efficiency_scale, s.moved_operations, s.total_abs_shift,
                        s.machine_reassignments)  # fmt: skip

    def _situation(self) -> Situation:
        return Situation(
            now=self.now,
            fixed=dict(self.facts),
            downtime=tuple((d.machine, d.start, d.end) for d in self.downtimes.values()),
            factors=dict(self.factors),
            machine_factors=dict(self.machine_factors),
        )

    def _adopt(self, problem: ProblemData, plan: Timetable) -> None:
        self.plan = {
            problem.op_ids[i]: (problem.machine_ids[plan.machine[i]], plan.start[i], plan.end[i])
            for i in range(problem.num_ops)
        }
        self.kpis = check(problem, plan).kpis
        self.version += 1

    @staticmethod
    def _timetable_of(problem: ProblemData, plan: dict[str, Position]) -> Timetable:
        rows = [plan[op_id] for op_id in problem.op_ids]
        return Timetable(
            tuple(problem.machine_index[m] for m, _, _ in rows),
            tuple(s for _, s, _ in rows),
            tuple(e for _, _, e in rows),
        )

    def _validate(self, event: Event) -> None:
        horizon = max((end for _, _, end in self.plan.values()), default=0)
        if event.time > 2 * horizon + self.policy.default_downtime:
            raise InputError.single(
                "event.time", f"time {event.time} is far in the future (the plan ends at {horizon})"
            )
        try:
            self.scenario.check_event(event)
        except PydanticCustomError as error:
            raise InputError.from_custom(error, "event") from None
        if isinstance(event, DowntimeStarted) and event.downtime_id in self.downtimes:
            raise InputError.single("event.downtime_id", f"downtime {event.downtime_id!r} has already started")
        if isinstance(event, DowntimeUpdated | DowntimeEnded):
            known = self.downtimes.get(event.downtime_id)
            if known is None or known.machine != event.machine:
                raise InputError.single("event.downtime_id", f"no downtime {event.downtime_id!r} on {event.machine!r}")
            if known.ended:
                raise InputError.single("event.downtime_id", f"downtime {event.downtime_id!r} has already ended")
        if isinstance(event, OperationStarted) and event.machine is not None:
            p = self._problem
            if p.duration(p.op_index[event.operation], p.machine_index[event.machine]) is None:
                raise InputError.single("event.machine", f"{event.machine!r} is not eligible for {event.operation!r}")

    def _freeze_started(self) -> None:
        """What the plan started before now has happened, unless the MES said otherwise."""
        for op_id, position in self.plan.items():
            if op_id not in self.facts and position[1] < self.now:
                self.facts[op_id] = position

    def _absorb(self, event: Event) -> tuple[set[str], str]:
        """Update the facts for ``event``: (operations it disturbs directly, reason for no repair or "")."""
        handlers: dict[type, Callable[[Any], tuple[set[str], str]]] = {
            DowntimeStarted: self._downtime_started,
            DowntimeUpdated: self._downtime_changed,
            DowntimeEnded: self._downtime_changed,
            CycleTimeObserved: self._takt,
            OperationStarted: self._started,
            OperationCompleted: self._completed,
            OrderAdded: self._added,
            OrderCancelled: self._cancelled,
        }
        return handlers[type(event)](event)

    def _downtime_started(self, event: DowntimeStarted) -> tuple[set[str], str]:
        duration = event.expected_duration or self.policy.default_downtime
        end = event.expected_end if event.expected_end is not None else self.now + duration
        self.downtimes[event.downtime_id] = _Downtime(event.machine, self.now, end)
        for op_id, (machine, start, stop) in list(self.facts.items()):
            if machine == event.machine and start < self.now < stop and op_id not in self.interrupted:
                left = stop - self.now if self.policy.interrupted == "resume" else stop - start
                self.interrupted[op_id] = (event.downtime_id, left)
        self._move_interrupted(event.downtime_id)
        return self._on_machine(event.machine) | self._held_by(event.downtime_id), ""

    def _downtime_changed(self, event: DowntimeUpdated | DowntimeEnded) -> tuple[set[str], str]:
        downtime = self.downtimes[event.downtime_id]
        downtime.end = max(self.now, event.expected_end if isinstance(event, DowntimeUpdated) else self.now)
        downtime.ended = isinstance(event, DowntimeEnded)
        self._move_interrupted(event.downtime_id)
        return self._on_machine(event.machine) | self._held_by(event.downtime_id), ""

    def _started(self, event: OperationStarted) -> tuple[set[str], str]:
        machine = event.machine or self.plan[event.operation][0]
        duration = self._duration(event.operation, machine)
        self.facts[event.operation] = (machine, self.now, self.now + duration)
        return self._on_machine(machine) | self._jobs_of([event.operation]), ""

    def _completed(self, event: OperationCompleted) -> tuple[set[str], str]:
        if event.operation in self.facts:
            machine, start, _ = self.facts[event.operation]
        else:  # never reported started: it ran for its duration up to now
            machine = self.plan[event.operation][0]
            start = max(0, self.now - self._duration(event.operation, machine))
        self.facts[event.operation] = (machine, start, max(self.now, start + 1))
        self.interrupted.pop(event.operation, None)
        return self._on_machine(machine) | self._jobs_of([event.operation]), ""

    def _added(self, event: OrderAdded) -> tuple[set[str], str]:
        """A rush order disturbs the work queued on every machine it may use: right-shift
        appends it after that work, and only moving it can bring the order forward
        (seeding just the new operations left CP-SAT nothing to move on ft10)."""
        self._replace_orders([*self.scenario.orders, event.order])
        p = self._problem
        machines = {p.machine_ids[m] for op in event.order.operations for m, _ in p.op_modes[p.op_index[op.id]]}
        return {op.id for op in event.order.operations}.union(*(self._on_machine(m) for m in machines)), ""

    def _cancelled(self, event: OrderCancelled) -> tuple[set[str], str]:
        return self._cancel(event.order_id), ""

    def _takt(self, event: CycleTimeObserved) -> tuple[set[str], str]:
        ratio = event.ratio
        within = abs(ratio - 1.0) <= self.policy.takt_tolerance
        factor = 1.0 if within else ratio
        table, key = (self.factors, event.station) if event.station else (self.machine_factors, event.machine)
        assert key is not None
        previous = table.get(key, 1.0)
        if factor == previous:
            tolerance = f"{self.policy.takt_tolerance:.0%}"
            return set(), (
                f"cycle time within tolerance: observed/planned = {ratio:.3f}, tolerance {tolerance}"
                if within
                else f"cycle time factor {ratio:.3f} already applied"
            )
        table[key] = factor
        station_of = self.scenario.plant.station_of_machine()
        hit = {m for m, s in station_of.items() if key in (m, s)}
        for op_id, (machine, start, stop) in list(self.facts.items()):
            if machine in hit and start < self.now < stop and op_id not in self.interrupted:
                self.facts[op_id] = (machine, start, self.now + scaled_duration(stop - self.now, factor / previous))
        return {op_id for op_id, (m, _, _) in self.plan.items() if m in hit}, ""

    def _move_interrupted(self, downtime_id: str) -> None:
        downtime = self.downtimes[downtime_id]
        for op_id, (held_by, left) in self.interrupted.items():
            if held_by == downtime_id:
                machine, start, _ = self.facts[op_id]
                self.facts[op_id] = (machine, start, downtime.end + left)

    def _duration(self, op_id: str, machine: str) -> int:
        """The operation's duration on ``machine`` at the observed cycle times."""
        p = self._problem
        m = p.machine_index[machine]
        base = p.duration(p.op_index[op_id], m)
        assert base is not None, "eligibility is checked in _validate"
        station = p.station_ids[p.machine_station[m]]
        return scaled_duration(base, duration_factor(self.factors, self.machine_factors, machine, station))

    def _on_machine(self, machine: str) -> set[str]:
        return {op_id for op_id, (m, start, _) in self.plan.items() if m == machine and op_id not in self.facts}

    def _held_by(self, downtime_id: str) -> set[str]:
        """The operations of the jobs whose operation this downtime interrupted."""
        return self._jobs_of(op for op, (held, _) in self.interrupted.items() if held == downtime_id)

    def _jobs_of(self, ops: Iterable[str]) -> set[str]:
        wanted = set(ops)
        return {
            op.id for o in self.scenario.orders if any(op.id in wanted for op in o.operations) for op in o.operations
        }

    def _replace_orders(self, orders: list[Order]) -> None:
        self.scenario = self.scenario.model_copy(update={"orders": orders})
        self._problem = compile_problem(self.scenario)

    def _cancel(self, order_id: str) -> set[str]:
        orders, freed_machines = [], set()
        for order in self.scenario.orders:
            if order.id != order_id:
                orders.append(order)
                continue
            kept = [op for op in order.operations if op.id in self.facts]
            freed_machines |= {self.plan[op.id][0] for op in order.operations if op.id not in self.facts}
            for op in order.operations:
                if op.id not in self.facts:
                    self.plan.pop(op.id, None)
            if kept:
                ids = {op.id for op in kept}
                kept = [op.model_copy(update={"after": [a for a in op.after if a in ids]}) for op in kept]
                orders.append(order.model_copy(update={"operations": kept}))
        self._replace_orders(orders)
        return set().union(*(self._on_machine(m) for m in freed_machines)) if freed_machines else set()
