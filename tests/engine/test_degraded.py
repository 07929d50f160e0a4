"""A degraded answer: the plan grew by more than its event accounts for, and the receipt says so."""

from __future__ import annotations

import dataclasses
import math
from functools import cache
from pathlib import Path

from scheduler.domain import RepairPolicy
from scheduler.domain.events import CycleTimeObserved, DowntimeEnded, DowntimeStarted, OrderCancelled
from scheduler.domain.files import load_scenario
from scheduler.engine import LivePlan
from scheduler.engine.degraded import accounted, flagged
from scheduler.problem import Weights, compile_problem, schedule_from_timetable
from scheduler.repair.dispatch import dispatch

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "demo_line.yaml"
POLICY = RepairPolicy(budget_ms=300, margin_ms=0, workers=1, deterministic=True)


@cache
def _demo() -> tuple[object, object]:
    scenario = load_scenario(DEMO)
    return scenario, schedule_from_timetable(compile_problem(scenario), dispatch(compile_problem(scenario)))


def _live() -> LivePlan:
    scenario, plan = _demo()
    return LivePlan.create(scenario, plan, POLICY)  # type: ignore[arg-type]


def test_what_each_event_accounts_for():
    live = _live()
    stop = DowntimeStarted(event_id="s", time=100, machine="WELD-1", downtime_id="d", expected_duration=45)
    assert accounted(live, stop) == 45
    assert accounted(live, DowntimeStarted(event_id="u", time=100, machine="WELD-1", downtime_id="u")) == 30
    live.apply(stop)
    assert accounted(live, DowntimeEnded(event_id="e", time=120, machine="WELD-1", downtime_id="d")) == 0  # early
    assert accounted(live, DowntimeEnded(event_id="e", time=160, machine="WELD-1", downtime_id="d")) == 15  # late
    assert accounted(live, OrderCancelled(event_id="c", time=120, order_id="O040")) == 0
    fixed = live.situation()[0].fixed
    paint = sum(e - s for op, (m, s, e) in live.plan.items() if m == "PAINT-1" and op not in fixed)
    slower = CycleTimeObserved(event_id="t", time=120, station="paint", factor=1.25)
    assert accounted(live, slower) == math.ceil(paint * 0.25)


def test_a_receipt_is_flagged_only_beyond_twice_what_the_event_accounts_for():
    receipt = _live().apply(DowntimeStarted(event_id="s", time=100, machine="WELD-1", downtime_id="d",
                                            expected_duration=45)).receipt  # fmt: skip
    assert receipt.degraded == ""
    grown = dataclasses.replace(receipt, makespan_before=800, makespan_after=899)
    weights = Weights()
    assert "makespan grew by 99, more than twice the 45" in flagged(grown, 45, 10, weights)
    within = dataclasses.replace(receipt, makespan_before=800, makespan_after=898)  # 2 x 45 and 1% of 800
    assert flagged(within, 45, 10, weights) == ""
    later = dataclasses.replace(grown, makespan_after=800, weighted_tardiness_before=0, weighted_tardiness_after=981)
    assert "weighted tardiness grew by 981" in flagged(later, 45, 10, weights)
    assert flagged(grown, None, 10, weights) == ""  # a planner's change is not judged
    traded = dataclasses.replace(grown, weighted_tardiness_before=500, weighted_tardiness_after=0)
    assert flagged(traded, 45, 10, weights) == ""  # the policy scores the trade a gain


def test_no_event_of_the_demo_shift_is_degraded():
    live = _live()
    for event in live.scenario.events:
        receipt = live.apply(event).receipt
        assert receipt.valid and receipt.degraded == "", (event.event_id, receipt.degraded)
