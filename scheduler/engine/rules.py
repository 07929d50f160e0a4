"""The engine's side of the lean decision rules: realised KPIs over any window from the
facts, the parameters as they stand, and the rules' events due now (source ``rules``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from scheduler.domain import RepairPolicy, Scenario
from scheduler.domain.events import Event
from scheduler.domain.rules import PER_BUFFER, Kpi
from scheduler.engine import parameters
from scheduler.engine.timeline import line_of, realised
from scheduler.lean.kpis import Line, LineKpis, Run, line_kpis
from scheduler.lean.rules import Measure, Predict, RuleRecord, evaluate
from scheduler.problem import Position, ProblemData


def measure_of(scenario: Scenario, problem: ProblemData, fixed: Callable[[], Mapping[str, Position]],
               now: int) -> Measure:  # fmt: skip
    """Realised KPIs over [start, end) from what ran up to ``now`` (``fixed``: the frozen
    operations, asked for at the first KPI a rule needs); each window computed once."""
    cache: dict[tuple[int, int], LineKpis] = {}
    timeline: list[tuple[list[Run], Line]] = []

    def measure(kpi: Kpi, buffer: str | None, start: int, end: int) -> float | None:
        end = min(end, now)
        if end <= start:
            return None
        if not timeline:
            timeline.append((realised(fixed(), now, scenario), line_of(scenario, problem)))
        if (start, end) not in cache:
            cache[(start, end)] = line_kpis(*timeline[0], start, end)
        value = getattr(cache[(start, end)], kpi)
        if kpi in PER_BUFFER:
            value = value.get(buffer or "")
        return None if value is None else float(value)

    return measure


def derived_events(
    scenario: Scenario,
    policy: RepairPolicy,
    log: Sequence[Event],
    problem: ProblemData,
    fixed: Callable[[], Mapping[str, Position]],
    now: int,
    predict: Predict | None,
) -> list[RuleRecord]:
    """The rules' judgements, revisions and firings due at ``now`` (none without rules)."""
    if not scenario.rules:
        return []
    measure = measure_of(scenario, problem, fixed, now)
    return evaluate(scenario.rules, log, now, measure, lambda a: parameters.current(scenario, policy, a), predict)
