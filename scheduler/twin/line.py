"""The twin's line: SimPy processes, one per machine and one per machine's breakdowns.

Each machine runs the operations the latest plan gives it, in plan order: the first one
starts when its job's earlier operations are done, its planned start has come, and the
pull rules allow it: a kanban card of each buffer it feeds (a job holds the card from the
start of its operation upstream to the start of its operation downstream, so a buffer
never holds more than its cap) and, for a job's first operation, a CONWIP card. It takes
its planned time at factor 1, times seeded noise and the true slowdown of its station; a
breakdown pauses it, and it resumes its remaining work. The twin tells the engine only
what an MES would (starts, completions, downtimes started with no expected end, and
ended), at their times, and follows every plan the engine answers with.
"""

from __future__ import annotations

import math
import random
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

import simpy

from scheduler.domain import Scenario
from scheduler.domain.events import (
    CycleTimeObserved,
    DowntimeEnded,
    DowntimeStarted,
    Event,
    OperationCompleted,
    OperationStarted,
    OrderAdded,
    ParameterChanged,
)
from scheduler.domain.orders import Order
from scheduler.problem import Position, compile_problem
from scheduler.twin.disturbances import Disturbances, rush_order
from scheduler.twin.engines import Engine

Process = Generator[simpy.Event, Any, None]


@dataclass
class TwinRun:
    """What happened: the events reported, what the engine answered, the line as executed."""

    events: list[Event] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)
    detections: list[CycleTimeObserved] = field(default_factory=list)
    rule_events: list[Event] = field(default_factory=list)
    """The rules' firings, judgements and revisions the engine derived."""
    executed: dict[str, Position] = field(default_factory=dict)
    """Operation -> (machine, start, end) as it ran (completed ones)."""
    plan: Mapping[str, Position] = field(default_factory=dict)
    """The engine's latest plan."""
    predictions: list[tuple[int, dict[str, int]]] = field(default_factory=list)
    """(time, order -> predicted completion) after every report: what the plan promised then."""
    end: int = 0


@dataclass(frozen=True)
class Start:
    """Where a run takes over a live line: at ``now``, with what is done (operation ->
    (machine, start, end)) and what is running (operation -> (machine, start, planned end))."""

    now: int
    done: Mapping[str, Position]
    running: Mapping[str, Position]


class Twin:
    def __init__(self, scenario: Scenario, plan: Mapping[str, Position], engine: Engine,
                 disturbances: Disturbances, progress: Any = None, start: Start | None = None) -> None:  # fmt: skip
        self.scenario, self.engine, self.disturbances, self.progress = scenario, engine, disturbances, progress
        problem = compile_problem(scenario)
        self.base = {(problem.op_ids[i], problem.machine_ids[m]): d for i, modes in enumerate(problem.op_modes)
                     for m, d in modes}  # fmt: skip
        self.station: dict[str, str] = {}
        self.job: dict[str, str] = {}
        self.job_ops: dict[str, list[str]] = {}
        self.before: dict[str, list[str]] = {}
        self.feeds: dict[str, list[str]] = {}
        self.cap = {b.id: b.kanban for b in scenario.plant.buffers}
        for order in scenario.orders:
            self._add(order)
        self.held = {b: 0 for b in self.cap}
        self.conwip, self.in_process = scenario.plant.conwip, 0
        self.env = simpy.Environment(initial_time=start.now if start else 0)
        self.machines = [m.id for s in scenario.plant.stations for m in s.machines]
        self.down: dict[str, int] = {m: 0 for m in self.machines}
        """Per machine, how many stops hold it now (a breakdown, planned maintenance)."""
        self.windows = {m: [(w.start, w.end) for w in scenario.plant.unavailability
                            if w.machine == m and w.end > self.env.now] for m in self.machines}  # fmt: skip
        self.broken = {m: self.env.event() for m in self.machines}
        self.repaired = {m: self.env.event() for m in self.machines}
        self.changed = self.env.event()
        self.started: set[str] = set()
        self.done: set[str] = set()
        self.run = TwinRun(plan=dict(plan))
        self.running: dict[str, Position] = {}
        """Per machine, the operation it runs at the start: (operation, start, planned end)."""
        if start is not None:
            self._take_over(start)
        self.queues = self._queues(plan)

    def _take_over(self, start: Start) -> None:
        """Begin from a live state: what is done stays done, what runs finishes as planned,
        and the cards in use are held (CONWIP by the jobs begun and not finished)."""
        self.done, self.run.executed = set(start.done), dict(start.done)
        self.started = set(start.done) | set(start.running)
        for op, (machine, began, end) in start.running.items():
            self.running[machine] = (op, began, max(end, int(self.env.now) + 1))
        for op in self.started:
            for b in self.feeds[op]:
                self.held[b] += not any(self._feeds(op, nxt, b) and nxt in self.started for nxt in self._after(op))
        begun = [ops for ops in self.job_ops.values() if any(o in self.started for o in ops)]
        self.in_process = sum(1 for ops in begun if not all(o in self.done for o in ops))

    def _add(self, order: Order) -> None:
        """The line learns an order: its operations, their order and the buffers they fill."""
        caps = {(b.upstream, b.downstream): b.id for b in self.scenario.plant.buffers}
        self.job_ops[order.id] = [op.id for op in order.operations]
        for op in order.operations:
            self.station[op.id], self.job[op.id], self.before[op.id], self.feeds[op.id] = op.station, order.id, [], []
        for a, b in order.precedences():
            self.before[b].append(a)
            if (buffer := caps.get((self.station[a], self.station[b]))) is not None:
                self.feeds[a].append(buffer)

    def _after(self, op: str) -> list[str]:
        return [nxt for nxt, before in self.before.items() if op in before]

    # ------------------------------------------------------------------ running

    def simulate(self, until: int | None = None) -> TwinRun:
        for k, machine in enumerate(self.machines):
            self.env.process(self._machine(machine))
            self.env.process(self._maintenance(machine))
            if self.disturbances.mtbf and self.disturbances.mttr:
                self.env.process(self._breakdowns(machine, random.Random(self.disturbances.seed * 1009 + k)))
        if self.disturbances.rush_orders > 0:
            self.env.process(self._rush_orders(random.Random(f"{self.disturbances.seed}/rush")))
        horizon = until if until is not None else 100 * max((e for _, _, e in self.run.plan.values()), default=1)
        while len(self.done) < len(self.station) and self.env.peek() < horizon:  # rush orders add operations
            self.env.step()
        self.run.end = int(min(self.env.now, horizon))
        return self.run

    def _machine(self, machine: str) -> Process:
        if machine in self.running:
            running, began, end = self.running[machine]
            yield self.env.timeout(end - self.env.now)
            self._finish(machine, running, began)
        while True:
            op = self._ready(machine)
            if op is None:
                waits = [self.changed]
                head = self.queues.get(machine, [])
                if head and (planned := self.run.plan[head[0]][1]) > self.env.now:
                    waits.append(self.env.timeout(planned - self.env.now))
                yield self.env.any_of(waits)
                continue
            yield from self._work(machine, op)

    def _ready(self, machine: str) -> str | None:
        queue = self.queues.get(machine, [])
        if not queue or self.down[machine]:
            return None
        op = queue[0]
        if self.run.plan[op][1] > self.env.now or any(p not in self.done for p in self.before[op]):
            return None
        if any(self.held[b] >= self.cap[b] for b in self.feeds[op]):
            return None
        first = not any(o in self.started for o in self.job_ops[self.job[op]])
        if first and self.conwip is not None and self.in_process >= self.conwip:
            return None
        return op

    def _work(self, machine: str, op: str) -> Process:
        job_first = not any(o in self.started for o in self.job_ops[self.job[op]])
        self.queues[machine].remove(op)
        self.started.add(op)
        self.in_process += job_first
        for b in self.feeds[op]:
            self.held[b] += 1
        for pred in self.before[op]:  # its job leaves the buffers it waited in
            for b in self.feeds[pred]:
                if self._feeds(pred, op, b):
                    self.held[b] -= 1
        start = int(self.env.now)
        self._report(OperationStarted(event_id=f"s-{op}", time=start, operation=op, machine=machine))
        factor = self.disturbances.noise_factor(op) * self.disturbances.slowdown(self.station[op], start)
        left = max(1, math.floor(self.base[(op, machine)] * factor + 0.5))  # nearest: no bias for short work
        while left > 0:
            began, stop = self.env.now, self.broken[machine]
            result = yield self.env.timeout(left) | stop
            left -= int(self.env.now - began)
            if stop in result and left > 0:
                yield self.repaired[machine]
        self._finish(machine, op, start)

    def _finish(self, machine: str, op: str, start: int) -> None:
        self.done.add(op)
        if all(o in self.done for o in self.job_ops[self.job[op]]):
            self.in_process -= 1
        end = int(self.env.now)
        self.run.executed[op] = (machine, start, end)
        self._report(OperationCompleted(event_id=f"c-{op}", time=end, operation=op, machine=machine))

    def _feeds(self, pred: str, op: str, buffer_id: str) -> bool:
        upstream, downstream = buffer_id.split("->", 1)
        return self.station[pred] == upstream and self.station[op] == downstream

    def _breakdowns(self, machine: str, rng: random.Random) -> Process:
        assert self.disturbances.mtbf and self.disturbances.mttr
        count = 0
        while True:
            yield self.env.timeout(max(1, round(rng.expovariate(1 / self.disturbances.mtbf))))
            count += 1
            stop = f"{machine}-b{count}"
            self._stop(machine)
            self._report(DowntimeStarted(event_id=f"ds-{stop}", time=int(self.env.now), machine=machine,
                                         downtime_id=stop))  # fmt: skip
            yield self.env.timeout(max(1, round(rng.expovariate(1 / self.disturbances.mttr))))
            self._report(DowntimeEnded(event_id=f"de-{stop}", time=int(self.env.now), machine=machine,
                                       downtime_id=stop))  # fmt: skip
            self._back(machine)

    def _rush_orders(self, rng: random.Random) -> Process:
        """Orders arriving unplanned: a copy of one of the scenario's, released on arrival and
        due after half its planned lead."""
        templates = self.scenario.orders
        count = 0
        while templates:
            yield self.env.timeout(max(1, round(rng.expovariate(self.disturbances.rush_orders))))
            count += 1
            template = rng.choice(templates)
            order = rush_order(template, f"R{count}", int(self.env.now))
            for new, old in zip(order.operations, template.operations, strict=True):
                self.base.update({(new.id, m): d for (o, m), d in list(self.base.items()) if o == old.id})
            self._add(order)
            self._report(OrderAdded(event_id=f"rush-{count}", time=int(self.env.now), order=order))

    def _maintenance(self, machine: str) -> Process:
        """Planned unavailability stops the machine too; the plan knows it, so nobody reports it."""
        for start, end in sorted(self.windows[machine]):
            if start > self.env.now:
                yield self.env.timeout(start - self.env.now)
            self._stop(machine)
            yield self.env.timeout(max(0, end - self.env.now))
            self._back(machine)

    def _stop(self, machine: str) -> None:
        self.down[machine] += 1
        if self.down[machine] == 1:
            self.broken[machine].succeed()
            self.broken[machine] = self.env.event()

    def _back(self, machine: str) -> None:
        self.down[machine] -= 1
        if self.down[machine] == 0:
            self.repaired[machine].succeed()
            self.repaired[machine] = self.env.event()
            self.changed.succeed()
            self.changed = self.env.event()

    # ------------------------------------------------------------------ the engine

    def _report(self, event: Event) -> None:
        answer = self.engine.report(event)
        self.run.events.append(event)
        self.run.receipts += answer.receipts
        self.run.detections += answer.detections
        self._follow([e for e in answer.derived if not isinstance(e, CycleTimeObserved)])
        self.run.plan = dict(answer.plan)
        self.queues = self._queues(self.run.plan)
        self.run.predictions.append((int(self.env.now), self._promised()))
        if self.progress is not None:
            self.progress(len(self.done), len(self.station), int(self.env.now))
        self.changed.succeed()
        self.changed = self.env.event()

    def _follow(self, ruled: list[Event]) -> None:
        """The line takes the caps the engine changed (a rule's firing) from now on."""
        self.run.rule_events += ruled
        for e in ruled:
            if isinstance(e, ParameterChanged) and e.parameter == "kanban" and e.buffer in self.cap:
                self.cap[e.buffer] = e.value or self.cap[e.buffer]
            elif isinstance(e, ParameterChanged) and e.parameter == "conwip":
                self.conwip = e.value

    def _queues(self, plan: Mapping[str, Position]) -> dict[str, list[str]]:
        """Per machine, the operations not started yet, in the plan's order."""
        queues: dict[str, list[str]] = {}
        for op, (machine, _, _) in sorted(plan.items(), key=lambda item: (item[1][1], item[0])):
            if op not in self.started:
                queues.setdefault(machine, []).append(op)
        return queues

    def _promised(self) -> dict[str, int]:
        """Each order's completion as the latest plan has it."""
        return {job: max(self.run.plan[op][2] for op in ops if op in self.run.plan)
                for job, ops in self.job_ops.items() if any(op in self.run.plan for op in ops)}  # fmt: skip
