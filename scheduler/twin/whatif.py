"""``verify: twin``: the twin runs the next H ticks from the live state, with and without a
rule's action, and says which way the rule's expected KPI goes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from scheduler.domain import InputError
from scheduler.domain.events import Event, ParameterChanged
from scheduler.domain.rules import PER_BUFFER, Expectation
from scheduler.engine import LivePlan
from scheduler.engine.timeline import line_of, runs_of
from scheduler.lean.kpis import line_kpis
from scheduler.problem import Position
from scheduler.twin.disturbances import Disturbances
from scheduler.twin.engines import Reported
from scheduler.twin.line import Start, Twin


class Still:
    """An engine that keeps its plan: the line runs it as it stands."""

    def __init__(self, plan: Mapping[str, Position]) -> None:
        self.plan = plan

    def report(self, event: Event) -> Reported:
        return Reported(self.plan)


@dataclass(frozen=True)
class TwinCheck:
    """The prediction a ``verify: twin`` rule asks for: the expected KPI over [now, now + H)
    without and with the firing, each the mean of ``replications`` seeded runs with noise."""

    noise: float = 0.1
    replications: int = 2
    seed: int = 0

    def __call__(self, live: LivePlan, firing: ParameterChanged, horizon: int,
                 expect: Expectation) -> tuple[float, float] | None:  # fmt: skip
        without = self._expected(live.fork(), horizon, expect)
        trial = live.fork()
        try:
            trial.apply(firing)
        except InputError:  # a change the engine cannot plan is no improvement
            return None
        with_it = self._expected(trial, horizon, expect)
        return None if without is None or with_it is None else (without, with_it)

    def _expected(self, live: LivePlan, horizon: int, expect: Expectation) -> float | None:
        now, fixed = live.now, live.situation()[0].fixed
        start = Start(now, {op: p for op, p in fixed.items() if p[2] <= now},
                      {op: p for op, p in fixed.items() if p[1] < now < p[2]})  # fmt: skip
        line = line_of(live.scenario, live.problem())
        values = []
        for r in range(self.replications):
            noise = Disturbances(noise=self.noise, seed=self.seed + r)
            run = Twin(live.scenario, live.plan, Still(live.plan), noise, start=start).simulate(now + horizon)
            kpis = line_kpis(runs_of(run.executed, live.scenario), line, now, now + horizon)
            value = getattr(kpis, expect.kpi)
            value = value.get(expect.buffer or "") if expect.kpi in PER_BUFFER else value
            if value is not None:
                values.append(float(value))
        return sum(values) / len(values) if values else None
