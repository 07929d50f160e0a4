"""The seeded capped flow lines and the capped suite's shift of events."""

from __future__ import annotations

import sys
from pathlib import Path

from scheduler.check import check
from scheduler.domain import RepairPolicy
from scheduler.engine import LivePlan
from scheduler.lines import DRUM, STATIONS, SUITE, flow_line
from scheduler.problem import compile_problem, schedule_from_timetable
from scheduler.repair.dispatch import dispatch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from disruptions import lean_stream


def test_a_flow_line_is_seeded_and_capped() -> None:
    sc = flow_line(30, 4)
    assert sc == flow_line(30, 4) and sc != flow_line(30, 5)
    plant = sc.plant
    assert [s.id for s in plant.stations] == list(STATIONS)
    assert plant.bottleneck == DRUM and plant.conwip == 12
    assert plant.buffers and all(1 <= b.kanban <= 4 for b in plant.buffers if b.kanban is not None)
    assert len(sc.orders) == 30 and all(o.due is not None for o in sc.orders)
    assert [o.release for o in sc.orders] == sorted(o.release for o in sc.orders)


def test_the_suite_lines_have_the_sizes_the_docs_give() -> None:
    sizes = {name: compile_problem(flow_line(orders, 0)).num_ops for name, orders in SUITE.items() if orders < 200}
    assert 280 <= sizes["flow300"] <= 320 and 950 <= sizes["flow1000"] <= 1050, sizes


def test_the_lean_stream_is_ordered_seeded_and_applies_validly() -> None:
    sc = flow_line(20, 0)
    problem = compile_problem(sc)
    plan = dispatch(problem)
    events = lean_stream(sc, max(plan.end), 10, 0)
    assert events == lean_stream(sc, max(plan.end), 10, 0) and len(events) == 10
    assert [e.time for e in events] == sorted(e.time for e in events)
    live = LivePlan.create(sc, schedule_from_timetable(problem, plan),
                           RepairPolicy(budget_ms=100, margin_ms=0, workers=1, deterministic=True))  # fmt: skip
    for event in events:
        result = live.apply(event)
        report = check(result.problem, result.timetable)
        assert report.valid, (event.event_id, report.violations[:3])
