"""The line as it runs: realised KPIs from the ledger's facts, planned KPIs of plan versions
(one set of definitions, ``lean.kpis``), and the takt monitor's view of each station."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from scheduler.domain import Scenario
from scheduler.engine.live import LivePlan
from scheduler.engine.takt import Watched
from scheduler.lean.kpis import BufferShape, Line, LineKpis, Run, line_kpis
from scheduler.problem import Position, ProblemData


@dataclass(frozen=True)
class LineState:
    now: int
    window: tuple[int, int]
    """The realised window [now - window, now)."""
    realised: LineKpis
    baseline: LineKpis | None
    """The first plan over the same window: how the line does against what was planned."""
    planned: LineKpis
    """The latest plan over [now, now + window): what it expects next."""
    watched: Watched


def line_of(scenario: Scenario, problem: ProblemData) -> Line:
    station = {op.id: op.station for order in scenario.orders for op in order.operations}
    precedences = tuple((a, b) for order in scenario.orders for a, b in order.precedences())
    drum = problem.station_ids[problem.bottleneck_idx] if problem.bottleneck_idx is not None else None
    return Line(
        precedences=precedences,
        precedence_stations=tuple((station[a], station[b]) for a, b in precedences),
        job_release={o.id: o.release for o in scenario.orders},
        job_ops={o.id: tuple(op.id for op in o.operations) for o in scenario.orders},
        buffers=tuple(BufferShape(b.id, b.upstream, b.downstream, b.kanban) for b in scenario.plant.buffers),
        drum=drum,
        drum_machines=len(problem.bottleneck_machines()),
        takt=scenario.plant.takt or _demand_takt(scenario),
    )  # fmt: skip


def _demand_takt(scenario: Scenario) -> float | None:
    """Ticks per order the due dates ask for: from the earliest release to the latest due."""
    due = [o for o in scenario.orders if o.due is not None]
    if len(due) < 2:
        return None
    span = max(o.due for o in due if o.due is not None) - min(o.release for o in scenario.orders)
    return span / len(due) if span > 0 else None


def runs_of(rows: Mapping[str, Position], scenario: Scenario) -> list[Run]:
    """A plan's rows (or frozen operations) as timeline runs."""
    where = {op.id: (order.id, op.station) for order in scenario.orders for op in order.operations}
    return [Run(op, *where[op], m, s, e) for op, (m, s, e) in rows.items() if op in where]


def realised(live: LivePlan) -> list[Run]:
    """What ran up to now: the frozen operations that started, cut at now."""
    fixed = live.situation()[0].fixed
    return [r for r in runs_of({op: (m, s, min(e, live.now)) for op, (m, s, e) in fixed.items() if s < live.now},
                               live.scenario) if r.end > r.start]  # fmt: skip


def line_state(live: LivePlan, baseline: Mapping[str, Position] | None, window: int | None = None) -> LineState:
    """Realised KPIs over the last ``window`` ticks (None: since the start), the first plan
    over the same window, the latest plan over the next ``window`` ticks, the monitor."""
    problem = live.problem()
    line = line_of(live.scenario, problem)
    start = 0 if window is None else max(0, live.now - window)
    ahead = (window or max(1, live.now)) + live.now
    first = {op: s for op, (_, s, _) in baseline.items()} if baseline else None
    return LineState(
        now=live.now,
        window=(start, live.now),
        realised=line_kpis(realised(live), line, start, live.now, first),
        baseline=line_kpis(runs_of(baseline, live.scenario), line, start, live.now) if baseline else None,
        planned=line_kpis(runs_of(live.plan, live.scenario), line, live.now, ahead),
        watched=live.watched(),
    )
