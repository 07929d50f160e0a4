"""What a planner's screen reads of a live plan: the problem at now with the reported
downtime, frozen work, the facts, and KPI series before and after now."""

from __future__ import annotations

from scheduler.domain.events import DowntimeStarted, OperationStarted
from scheduler.engine.board import board_of, series_of
from tests.engine.test_live import live


def test_the_board_has_the_downtime_the_frozen_work_and_the_facts() -> None:
    plan = live()
    first = min(plan.plan, key=lambda op: (plan.plan[op][1], op))
    machine, start, _ = plan.plan[first]
    plan.apply(OperationStarted(event_id="s", time=start + 1, operation=first, machine=machine), budget_ms=50)
    plan.apply(DowntimeStarted(event_id="d", time=start + 5, machine="WELD-1", downtime_id="d1",
                               expected_duration=30), budget_ms=50)  # fmt: skip
    board = board_of(plan)
    assert board.now == start + 5
    assert board.actual[first] == (start + 1, None)  # running: no end reported
    assert first in board.frozen
    weld = board.problem.machine_index["WELD-1"]
    assert any(a <= start + 5 < b for a, b in board.problem.unavailability[weld])


def test_series_split_at_now_into_facts_and_plan() -> None:
    plan = live()
    plan.apply(DowntimeStarted(event_id="d", time=120, machine="WELD-1", downtime_id="d1",
                               expected_duration=30), budget_ms=50)  # fmt: skip
    series = series_of(plan, 8)
    assert len(series.planned) == 8
    assert 1 <= len(series.realised) <= 8
    assert series.realised[-1].end == plan.now == series.planned[0].start
    assert all(k.end - k.start <= series.bucket for k in series.realised + series.planned)
