"""What a planner's screen shows of a live plan beyond its versions: the problem at now
(downtimes and frozen work applied), what the ledger says actually ran, and the line's KPIs
as time series (the console's charts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from scheduler.engine.live import LivePlan
from scheduler.engine.timeline import line_of, realised, runs_of
from scheduler.lean.kpis import LineKpis, line_kpis
from scheduler.problem import ProblemData


@dataclass(frozen=True)
class Board:
    now: int
    problem: ProblemData
    """The problem at now: unavailability includes the downtimes reported."""
    frozen: frozenset[str]
    actual: Mapping[str, tuple[int, int | None]]
    """Per operation reported started: (start, end or None while running)."""


def board_of(live: LivePlan) -> Board:
    situation = live.situation()[0]
    actual = {op: (f.start, f.end) for op, f in live.ledger.operations.items() if f.start is not None}
    return Board(live.now, live.problem(), frozenset(situation.fixed), actual)


@dataclass(frozen=True)
class Series:
    """The same KPIs over consecutive buckets: realised up to now, then planned."""

    bucket: int
    realised: list[LineKpis]
    planned: list[LineKpis]


def series_of(live: LivePlan, points: int) -> Series:
    """Up to ``points`` buckets before now from the facts and ``points`` after it from the plan."""
    line = line_of(live.scenario, live.problem())
    ahead = max((e for _, _, e in live.plan.values()), default=1) - live.now
    bucket = max(1, -(-max(live.now, ahead) // points))
    done = realised(live.situation()[0].fixed, live.now, live.scenario)
    plan = runs_of(live.plan, live.scenario)
    before = [
        line_kpis(done, line, max(0, live.now - (k + 1) * bucket), live.now - k * bucket)
        for k in reversed(range(points))
        if live.now - k * bucket > 0
    ]
    after = [line_kpis(plan, line, live.now + k * bucket, live.now + (k + 1) * bucket) for k in range(points)]
    return Series(bucket, before, after)
