"""Timelines for the lean KPIs: the line's shape, a plan's rows or the facts as runs."""

from __future__ import annotations

from collections.abc import Mapping

from scheduler.domain import Scenario
from scheduler.lean.kpis import BufferShape, Line, Run
from scheduler.problem import Position, ProblemData


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


def realised(fixed: Mapping[str, Position], now: int, scenario: Scenario) -> list[Run]:
    """What ran up to ``now``: the frozen operations that started, cut at now."""
    return [r for r in runs_of({op: (m, s, min(e, now)) for op, (m, s, e) in fixed.items() if s < now}, scenario)
            if r.end > r.start]  # fmt: skip
