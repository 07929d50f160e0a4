"""One run of a sweep: a configuration applied to a fork of the origin (the engine takes it
as it takes a planner's ``parameter_changed``), then the twin runs the line for the horizon
with the engine in the loop, under the replication's seeded disturbances. Deterministic for
its (origin, configuration, seed): the engine repairs in deterministic time on one worker."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

from scheduler.domain import InputError
from scheduler.domain.events import ParameterChanged
from scheduler.engine import LivePlan
from scheduler.engine.timeline import line_of, runs_of
from scheduler.lean.kpis import line_kpis
from scheduler.problem import Position, compile_problem
from scheduler.sweep.grid import Configuration, Value
from scheduler.sweep.spec import KPIS, SweepSpec
from scheduler.twin import Disturbances, InProcess, Slowdown, Twin
from scheduler.twin.line import Start

SOURCE = "sweep"
log = logging.getLogger(__name__)
Kpis = dict[str, float | None]


@dataclass(frozen=True)
class Origin:
    """Where every run of a sweep starts: a live plan (at its ``now``) and the line's state
    then (None: nothing has started)."""

    live: LivePlan
    start: Start | None = None

    @classmethod
    def at(cls, live: LivePlan) -> Origin:
        """Where ``live`` stands now, on a fork of it (nothing a run does reaches it). The fork
        counts only reported starts, as the twin reports every start it makes, and asks no
        twin before a rule fires (as a sweep's own plans do not)."""
        fork = live.fork()
        fork.policy = fork.policy.model_copy(update={"started": "reported"})
        fork.predict = None
        now, fixed = fork.now, fork.situation()[0].fixed
        reported = sorted((fixed[op][1], op, f.machine) for op, f in fork.ledger.operations.items()
                          if f.end is None and op in fixed)  # fmt: skip
        runs = set({machine: op for _, op, machine in reported}.values())  # an earlier one there has ended
        done = {op: p for op, p in fixed.items() if op not in runs and p[2] <= now}
        return cls(fork, Start(now, done, {op: fixed[op] for op in runs}))

    @property
    def digest(self) -> str:
        """The origin's content: the scenario, the plan, the state (part of every run's key)."""
        live, start = self.live, self.start
        content = {
            "scenario": live.scenario.model_dump(mode="json", exclude_none=True),
            "plan": sorted([op, *place] for op, place in live.plan.items()),
            "now": live.now,
            "start": None if start is None else [sorted(start.done.items()), sorted(start.running.items())],
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True, default=list).encode()).hexdigest()


@dataclass(frozen=True)
class Task:
    configuration: Configuration
    replication: int

    def key(self, origin_digest: str, spec: SweepSpec) -> str:
        """Content address of the run: the origin, what the run meets, the configuration, the seed."""
        run = spec.model_dump(mode="json", include={"disturbances", "horizon", "repair_budget_ms"})
        content = [origin_digest, run, list(self.configuration.values), seed_of(spec.seed, self.replication)]
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


def seed_of(sweep_seed: int, replication: int) -> int:
    """The disturbances' seed of a replication: the same for every configuration."""
    return sweep_seed * 100_003 + replication


def run_one(origin: Origin, spec: SweepSpec, task: Task) -> Kpis:
    """The realised KPIs of one (configuration, replication) over the horizon."""
    live = configured(origin.live.fork(), task.configuration, spec.repair_budget_ms)
    now = live.now
    d = spec.disturbances
    disturbances = Disturbances(
        noise=d.noise,
        slowdowns=tuple(Slowdown(s.station, s.factor, now + s.start) for s in d.slowdowns),
        mtbf=d.breakdowns.mtbf if d.breakdowns else None,
        mttr=d.breakdowns.mttr if d.breakdowns else None,
        rush_orders=d.rush_orders,
        seed=seed_of(spec.seed, task.replication),
    )
    run = Twin(live.scenario, dict(live.plan), InProcess(live), disturbances, start=origin.start)
    try:
        executed = run.simulate(now + spec.horizon).executed
    except InputError as error:  # the engine refused a fact: the run failed, not the sweep
        log.warning("%s replication %d failed: %s", task.configuration.key, task.replication, error.summary())
        return dict.fromkeys(KPIS)
    return kpis_of(live, executed, now, now + spec.horizon)


def timed_run(origin: Origin, spec: SweepSpec, task: Task) -> tuple[Kpis, float]:
    """:func:`run_one` and the seconds it took (what an executor adds is measured against it)."""
    began = time.perf_counter()
    return run_one(origin, spec, task), round(time.perf_counter() - began, 4)


def configured(live: LivePlan, configuration: Configuration, budget_ms: int) -> LivePlan:
    """``live`` with the configuration's values, each a ``parameter_changed`` at now (values
    equal to the current ones change nothing), repaired in deterministic time."""
    live.policy = live.policy.model_copy(update={"deterministic": True, "workers": 1, "budget_ms": budget_ms})
    for k, (name, value) in enumerate(configuration.values):
        if name == "rules":
            live.scenario = live.scenario if value else live.scenario.model_copy(update={"rules": []})
            continue
        change = _change(live, name, value, f"{SOURCE}-{k}")
        if change is not None:
            try:
                live.apply(change)
            except InputError as error:
                raise InputError.single(f"axes.{name}", f"{value}: {error.summary()}") from None
    return live


def _change(live: LivePlan, name: str, value: Value, event_id: str) -> ParameterChanged | None:
    plant = live.scenario.plant
    common = {"event_id": event_id, "source": SOURCE, "time": live.now, "reason": "sweep configuration"}
    if name.startswith("kanban:"):
        buffer = name.removeprefix("kanban:")
        if next(b.kanban for b in plant.buffers if b.id == buffer) == value:
            return None
        return ParameterChanged(parameter="kanban", buffer=buffer, value=value, **common)
    if name == "preset":
        return None if live.policy.preset == value else ParameterChanged(parameter="preset", preset=value, **common)
    parameter, current = ("conwip", plant.conwip) if name == "conwip" else ("drum_buffer", plant.bottleneck_buffer)
    return None if current == value else ParameterChanged(parameter=parameter, value=value, **common)


def kpis_of(live: LivePlan, executed: Mapping[str, Position], start: int, end: int) -> Kpis:
    """The KPIs a sweep ranks on, over [start, end): ``wip_mean`` is all buffers together."""
    scenario = live.scenario
    line = line_of(scenario, compile_problem(scenario))
    measured = line_kpis(runs_of(executed, scenario), line, start, end).as_dict()
    wip = measured["wip_mean"]
    assert isinstance(wip, dict)
    measured["wip_mean"] = round(math.fsum(wip.values()), 4)
    return {k: _number(measured[k]) for k in KPIS}


def _number(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
