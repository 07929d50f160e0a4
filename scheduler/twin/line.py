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
)
from scheduler.problem import Position, compile_problem
from scheduler.twin.disturbances import Disturbances
from scheduler.twin.engines import Engine

Process = Generator[simpy.Event, Any, None]


@dataclass
class TwinRun:
    """What happened: the events reported, what the engine answered, the line as executed."""

    events: list[Event] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)
    detections: list[CycleTimeObserved] = field(default_factory=list)
    executed: dict[str, Position] = field(default_factory=dict)
    """Operation -> (machine, start, end) as it ran (completed ones)."""
    plan: Mapping[str, Position] = field(default_factory=dict)
    """The engine's latest plan."""
    predictions: list[tuple[int, dict[str, int]]] = field(default_factory=list)
    """(time, order -> predicted completion) after every report: what the plan promised then."""
    end: int = 0


class Twin:
    def __init__(self, scenario: Scenario, plan: Mapping[str, Position], engine: Engine,
                 disturbances: Disturbances, progress: Any = None) -> None:  # fmt: skip
        self.scenario, self.engine, self.disturbances, self.progress = scenario, engine, disturbances, progress
        problem = compile_problem(scenario)
        self.base = {(problem.op_ids[i], problem.machine_ids[m]): d for i, modes in enumerate(problem.op_modes)
                     for m, d in modes}  # fmt: skip
        self.station = {op.id: op.station for o in scenario.orders for op in o.operations}
        self.job = {op.id: o.id for o in scenario.orders for op in o.operations}
        self.job_ops = {o.id: [op.id for op in o.operations] for o in scenario.orders}
        self.before: dict[str, list[str]] = {op.id: [] for o in scenario.orders for op in o.operations}
        feeds: dict[str, list[str]] = {op: [] for op in self.before}
        caps = {(b.upstream, b.downstream): b for b in scenario.plant.buffers}
        for o in scenario.orders:
            for a, b in o.precedences():
                self.before[b].append(a)
                if (shape := caps.get((self.station[a], self.station[b]))) is not None:
                    feeds[a].append(shape.id)
        self.feeds, self.cap = feeds, {b.id: b.kanban for b in scenario.plant.buffers}
        self.held = {b: 0 for b in self.cap}
        self.conwip, self.in_process = scenario.plant.conwip, 0
        self.env = simpy.Environment()
        self.rng = random.Random(disturbances.seed)
        self.machines = [m.id for s in scenario.plant.stations for m in s.machines]
        self.down: dict[str, int] = {m: 0 for m in self.machines}
        """Per machine, how many stops hold it now (a breakdown, planned maintenance)."""
        self.windows = {m: [(w.start, w.end) for w in scenario.plant.unavailability if w.machine == m]
                        for m in self.machines}  # fmt: skip
        self.broken = {m: self.env.event() for m in self.machines}
        self.repaired = {m: self.env.event() for m in self.machines}
        self.changed = self.env.event()
        self.started: set[str] = set()
        self.done: set[str] = set()
        self.run = TwinRun(plan=dict(plan))
        self.queues = self._queues(plan)

    # ------------------------------------------------------------------ running

    def simulate(self, until: int | None = None) -> TwinRun:
        for k, machine in enumerate(self.machines):
            self.env.process(self._machine(machine))
            self.env.process(self._maintenance(machine))
            if self.disturbances.mtbf and self.disturbances.mttr:
                self.env.process(self._breakdowns(machine, random.Random(self.disturbances.seed * 1009 + k)))
        total = len(self.station)
        horizon = until if until is not None else 100 * max((e for _, _, e in self.run.plan.values()), default=1)
        while len(self.done) < total and self.env.peek() < horizon:
            self.env.step()
        self.run.end = int(min(self.env.now, horizon))
        return self.run

    def _machine(self, machine: str) -> Process:
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
        factor = self.disturbances.noise_factor(self.rng) * self.disturbances.slowdown(self.station[op], start)
        left = max(1, math.floor(self.base[(op, machine)] * factor + 0.5))  # nearest: no bias for short work
        while left > 0:
            began, stop = self.env.now, self.broken[machine]
            result = yield self.env.timeout(left) | stop
            left -= int(self.env.now - began)
            if stop in result and left > 0:
                yield self.repaired[machine]
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
        self.run.plan = dict(answer.plan)
        self.queues = self._queues(self.run.plan)
        self.run.predictions.append((int(self.env.now), self._promised()))
        if self.progress is not None:
            self.progress(len(self.done), len(self.station), int(self.env.now))
        self.changed.succeed()
        self.changed = self.env.event()

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
