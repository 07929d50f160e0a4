"""A stop announced ahead (maintenance_planned): planned unavailability, not a fact."""

from __future__ import annotations

import pytest

from scheduler.check import check
from scheduler.domain import InputError, RepairPolicy
from scheduler.domain.events import DowntimeStarted, MaintenancePlanned
from scheduler.engine import LivePlan
from tests.helpers import job, line, scenario

POLICY = RepairPolicy(budget_ms=200, margin_ms=0, workers=1, deterministic=True)


def _live() -> LivePlan:
    orders = [job(f"J{k}", ("A", 4), ("B", 5)) for k in range(8)]
    return LivePlan.create(scenario(line("A", "B"), orders), policy=POLICY)


def _on(live: LivePlan, machine: str) -> list[tuple[int, int]]:
    return sorted((s, e) for m, s, e in live.plan.values() if m == machine)


def test_an_announced_stop_moves_no_clock_freezes_nothing_and_is_kept_clear():
    live = _live()
    result = live.apply(MaintenancePlanned(event_id="m1", time=3, machine="B", maintenance_id="pm-1",
                                           start=20, end=32))  # fmt: skip
    assert live.now == 3  # the announcement's time, not the stop's
    fixed = live.situation()[0].fixed
    assert all(s < 3 for _, s, _ in fixed.values())  # only what had started by 3 is frozen
    assert all(e <= 20 or s >= 32 for s, e in _on(live, "B")), _on(live, "B")
    assert check(result.problem, result.timetable).valid and result.receipt.valid


def test_a_stop_as_a_downtime_dated_ahead_would_move_now_there():
    """What the event is for: the same stop sent as a downtime moves now to its start."""
    live = _live()
    live.apply(DowntimeStarted(event_id="d1", time=20, machine="B", downtime_id="d", expected_duration=12))
    assert live.now == 20


def test_sent_again_the_window_moves_and_an_empty_one_withdraws_it():
    live = _live()
    live.apply(MaintenancePlanned(event_id="m1", time=1, machine="B", maintenance_id="pm", start=10, end=40))
    pushed = max(e for _, e in _on(live, "B"))
    live.apply(MaintenancePlanned(event_id="m2", time=2, machine="B", maintenance_id="pm", start=50, end=60))
    assert [w.start for w in live.scenario.plant.unavailability if w.id == "pm"] == [50]
    assert all(e <= 50 or s >= 60 for s, e in _on(live, "B"))
    live.apply(MaintenancePlanned(event_id="m3", time=3, machine="B", maintenance_id="pm", start=50, end=50))
    assert not [w for w in live.scenario.plant.unavailability if w.id == "pm"]
    assert max(e for _, e in _on(live, "B")) < pushed  # the work came back
    assert live.check().valid


def test_an_announcement_of_a_stop_already_under_way_is_refused_by_name():
    with pytest.raises(ValueError, match="downtime_started"):
        MaintenancePlanned(event_id="m", time=30, machine="B", maintenance_id="pm", start=20, end=40)
    live = _live()
    with pytest.raises(InputError, match="machine"):
        live.apply(MaintenancePlanned(event_id="m", time=1, machine="Z", maintenance_id="pm", start=5, end=9))
