"""The live plan: events in, repaired plans and receipts out (real CP-SAT, reproducible)."""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import pytest

from scheduler.check import check
from scheduler.domain import InputError, RepairPolicy, Schedule
from scheduler.domain.events import (
    CycleTimeObserved,
    DowntimeEnded,
    DowntimeStarted,
    DowntimeUpdated,
    OperationCompleted,
    OperationStarted,
    OrderAdded,
    OrderCancelled,
)
from scheduler.domain.files import load_scenario
from scheduler.engine import LivePlan, RepairResult
from scheduler.problem import Timetable, compile_problem, reference_of, rows_of, schedule_from_timetable
from scheduler.repair import change, right_shift, tier_zero
from scheduler.repair.dispatch import dispatch
from scheduler.solver import SolverConfig
from tests.helpers import solve_checked

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "demo_line.yaml"
# Reproducible: deterministic CP-SAT time, one worker, no watchdog.
REPRO = RepairPolicy(budget_ms=300, margin_ms=0, workers=1, deterministic=True)


@cache
def demo_plan() -> Schedule:
    scenario = load_scenario(DEMO)
    problem = compile_problem(scenario)
    result, _ = solve_checked(problem, config=SolverConfig(time_limit_s=1.0, workers=1, deterministic=True))
    assert result.timetable is not None
    return schedule_from_timetable(problem, result.timetable)


def live(policy: RepairPolicy = REPRO) -> LivePlan:
    return LivePlan.create(load_scenario(DEMO), demo_plan(), policy)


positions = rows_of


def checked(result: RepairResult) -> RepairResult:
    """Every repaired plan goes through the checker, and the receipt must agree with it."""
    report = check(result.problem, result.timetable)
    assert report.valid, report.violations
    assert result.receipt.valid and result.receipt.violations == ()
    assert result.receipt.makespan_after == report.kpis.makespan
    assert result.receipt.weighted_tardiness_after == report.kpis.total_weighted_tardiness
    assert result.receipt.bottleneck_idle_after == report.kpis.bottleneck_idle
    return result


def running_on(schedule: Schedule, machine: str, after: int) -> tuple[str, int, int, int]:
    """The first operation on ``machine`` starting at ``after`` or later, and a moment in its middle."""
    a = min((a for a in schedule.assignments if a.machine_id == machine and a.start >= after), key=lambda a: a.start)
    return a.operation_id, a.start, a.end, (a.start + a.end) // 2


def test_frozen_operations_never_move_and_the_interrupted_one_resumes():
    plan = live()
    before = positions(plan.schedule())
    op, start, end, now = running_on(plan.schedule(), "WELD-1", 300)
    result = checked(plan.apply(DowntimeStarted(event_id="e1", time=now, machine="WELD-1", downtime_id="d1",
                                                expected_duration=60)))  # fmt: skip
    after = positions(result.schedule)
    for op_id, (machine, s, e) in before.items():
        if s < now and op_id != op:
            assert after[op_id] == (machine, s, e), op_id  # started before now: frozen
    assert after[op] == ("WELD-1", start, now + 60 + (end - now))  # holds the machine, resumes the rest
    for op_id, (machine, s, e) in after.items():
        if machine == "WELD-1" and op_id != op:
            assert e <= now or s >= after[op][2]  # nothing else runs on the welder while it is down
    assert result.version == 2
    assert result.receipt.makespan_before == max(e for _, _, e in before.values())


def test_restart_policy_redoes_the_interrupted_operation():
    plan = live(REPRO.model_copy(update={"interrupted": "restart"}))
    op, start, end, now = running_on(plan.schedule(), "WELD-1", 300)
    result = checked(plan.apply(DowntimeStarted(event_id="e1", time=now, machine="WELD-1", downtime_id="d1",
                                                expected_duration=60)))  # fmt: skip
    assert positions(result.schedule)[op] == ("WELD-1", start, now + 60 + (end - start))


def test_downtime_updates_and_end_move_the_resumption():
    plan = live()
    op, _, end, now = running_on(plan.schedule(), "WELD-1", 300)
    plan.apply(DowntimeStarted(event_id="e1", time=now, machine="WELD-1", downtime_id="d1", expected_duration=60))
    longer = checked(plan.apply(DowntimeUpdated(event_id="e2", time=now + 10, machine="WELD-1", downtime_id="d1",
                                                expected_end=now + 100)))  # fmt: skip
    assert positions(longer.schedule)[op][2] == now + 100 + (end - now)
    back = checked(plan.apply(DowntimeEnded(event_id="e3", time=now + 30, machine="WELD-1", downtime_id="d1")))
    assert positions(back.schedule)[op][2] == now + 30 + (end - now)
    assert back.version == 4


def test_kanban_caps_and_conwip_hold_after_repair():
    plan = live()
    scenario = plan.scenario
    result = checked(plan.apply(DowntimeStarted(event_id="e1", time=250, machine="PAINT-1", downtime_id="d1",
                                                expected_duration=90)))  # fmt: skip
    report = check(result.problem, result.timetable)
    caps = {f"{b.upstream}->{b.downstream}": b.kanban for b in scenario.plant.buffers}
    assert {b.buffer_id: b.cap for b in result.problem.buffers} == caps  # no fact overfilled a buffer here
    for buffer, peak in report.kpis.peak_wip.items():
        assert peak <= caps[buffer]
    assert scenario.plant.conwip is not None and report.kpis.peak_conwip <= scenario.plant.conwip


def test_a_deviation_within_tolerance_changes_nothing():
    plan = live()
    before = positions(plan.schedule())
    result = checked(plan.apply(CycleTimeObserved(event_id="t1", time=200, station="weld", observed=1.03, planned=1.0)))
    assert result.receipt.tier == "none" and result.receipt.solver_status == "not_run"
    assert "within tolerance" in result.receipt.reason and "1.030" in result.receipt.reason
    assert result.version == 1 and result.receipt.moved_operations == 0
    assert positions(result.schedule) == before


def test_a_slower_station_stretches_its_remaining_operations():
    plan = live()
    scenario = plan.scenario
    result = checked(plan.apply(CycleTimeObserved(event_id="t1", time=200, station="paint", factor=1.5)))
    durations = scenario.eligible_machines()
    for a in result.schedule.assignments:
        if a.machine_id == "PAINT-1" and a.start >= 200:
            assert a.end - a.start == math.ceil(durations[a.operation_id]["PAINT-1"] * 1.5 - 1e-9)


def test_a_duplicate_event_has_no_second_effect():
    plan = live()
    event = DowntimeStarted(event_id="e1", time=300, machine="WELD-1", downtime_id="d1", expected_duration=60)
    first = plan.apply(event)
    again = plan.apply(event)
    assert again is first and plan.version == 2


@pytest.mark.parametrize(
    ("event", "field", "text"),
    [
        (
            DowntimeStarted(event_id="x", time=300, machine="WELD-9", downtime_id="d9"),
            "event.machine",
            "unknown machine 'WELD-9'",
        ),
        (
            DowntimeEnded(event_id="x", time=300, machine="WELD-1", downtime_id="d9"),
            "event.downtime_id",
            "no downtime 'd9'",
        ),
        (
            OperationStarted(event_id="x", time=300, operation="O999-cut"),
            "event.operation",
            "unknown operation 'O999-cut'",
        ),
        (
            OperationStarted(event_id="x", time=300, operation="O001-weld", machine="CUT-1"),
            "event.machine",
            "not eligible",
        ),
        (OrderCancelled(event_id="x", time=300, order_id="O999"), "event.order_id", "unknown order 'O999'"),
        (
            CycleTimeObserved(event_id="x", time=300, station="polish", factor=2.0),
            "event.station",
            "unknown station 'polish'",
        ),
    ],
)
def test_invalid_events_are_rejected_by_name_and_change_nothing(event, field, text):
    plan = live()
    before = positions(plan.schedule())
    with pytest.raises(InputError) as caught:
        plan.apply(event)
    assert caught.value.problems[0].field == field and text in caught.value.problems[0].message
    assert plan.version == 1 and plan.now == 0 and positions(plan.schedule()) == before


def test_a_rush_order_is_scheduled():
    plan = live()
    rush = {
        "id": "RUSH1", "family": "frame", "release": 200, "due": 400, "weight": 5, "quantity": 2,
        "operations": [{"id": f"RUSH1-{s}", "station": s, "duration": 8} for s in ("cut", "bend", "weld", "paint")],
    }  # fmt: skip
    result = checked(plan.apply(OrderAdded.model_validate({"event_id": "r1", "time": 200, "order": rush})))
    rows = positions(result.schedule)
    assert all(f"RUSH1-{s}" in rows for s in ("cut", "bend", "weld", "paint"))
    assert rows["RUSH1-cut"][1] >= 200


def test_a_rush_order_can_overtake_queued_work():
    """Right-shift appends a new order behind every queued job; the default repair may move
    the queue, so the order comes forward (on a job shop with a makespan objective)."""
    sc = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "jssp" / "ft06.json")
    problem = compile_problem(sc)
    base, _ = solve_checked(problem, config=SolverConfig(time_limit_s=5, workers=1, deterministic=True))
    assert base.timetable is not None
    plan = LivePlan.create(sc, schedule_from_timetable(problem, base.timetable), REPRO)
    template = sc.orders[0]
    rush = template.model_copy(update={"id": "RUSH", "release": 10, "operations": [
        op.model_copy(update={"id": f"RUSH-{k}"}) for k, op in enumerate(template.operations)]})  # fmt: skip
    event = OrderAdded(event_id="rush", time=10, order=rush)
    problem_at, reference, _ = plan.preview(event)
    appended = check(problem_at, tier_zero(problem_at, reference)).kpis.makespan
    result = checked(plan.apply(event))
    assert result.receipt.tier == "cp_sat" and result.receipt.moved_operations > 0
    assert result.receipt.makespan_after < appended


def test_a_cancelled_order_leaves_the_plan():
    plan = live()
    late = max(plan.schedule().assignments, key=lambda a: a.start).job_id
    assert late is not None
    result = checked(plan.apply(OrderCancelled(event_id="c1", time=100, order_id=late)))
    assert not any(a.job_id == late for a in result.schedule.assignments)


def test_started_and_completed_operations_become_facts():
    plan = live()
    upcoming = min((a for a in plan.schedule().assignments if a.start > 150), key=lambda a: a.start)
    started = checked(plan.apply(OperationStarted(event_id="s1", time=150, operation=upcoming.operation_id)))
    _, start, _ = positions(started.schedule)[upcoming.operation_id]
    assert start == 150
    done = checked(plan.apply(OperationCompleted(event_id="s2", time=190, operation=upcoming.operation_id)))
    assert positions(done.schedule)[upcoming.operation_id][1:] == (150, 190)


def test_the_receipt_counts_what_changed():
    plan = live()
    reference_plan = plan.schedule()
    result = checked(plan.apply(DowntimeStarted(event_id="e1", time=300, machine="WELD-1", downtime_id="d1",
                                                expected_duration=60)))  # fmt: skip
    problem = result.problem
    reference = reference_of(problem, rows_of(reference_plan))
    moves = change(problem, reference, result.timetable)
    receipt = result.receipt
    assert (receipt.moved_operations, receipt.total_abs_shift, receipt.machine_reassignments) == (
        moves.moved_operations, moves.total_abs_shift, moves.machine_reassignments)  # fmt: skip
    assert receipt.budget_ms == 300 and receipt.latency_ms > 0
    assert receipt.tier in ("cp_sat", "right_shift", "dispatch", "gap_repair")
    assert receipt.makespan_after <= check(problem, tier_zero(problem, reference)).kpis.makespan


def test_the_stability_preset_moves_less_than_the_efficiency_one_and_scores_no_worse_than_right_shift():
    weights = RepairPolicy().stability.model_copy(update={"moved_operations": 100, "machine_reassignments": 100})
    stop = DowntimeStarted(event_id="e1", time=300, machine="WELD-1", downtime_id="d1", expected_duration=60)
    plan = live(REPRO.model_copy(update={"stability": weights}))
    before = dict(plan.plan)
    result = checked(plan.apply(stop))
    reference = reference_of(result.problem, before)
    efficient = checked(live().apply(stop))
    assert result.receipt.moved_operations < efficient.receipt.moved_operations
    problem = result.problem
    shifted = right_shift(problem, reference)
    assert shifted is not None

    def score(t: Timetable) -> int:
        moves = change(problem, reference, t)
        return check(problem, t).kpis.objective + 100 * (moves.moved_operations + moves.machine_reassignments)

    assert score(result.timetable) <= score(shifted)


def test_tier_0_is_valid_through_the_demo_shift():
    """Right-shift (when it settles) and the pull dispatcher keep every rule, also when a
    long stop leaves a buffer overfilled by facts."""
    plan = live()
    scenario = plan.scenario
    for event in scenario.events[:5]:
        before = dict(plan.plan)
        result = checked(plan.apply(event))
        problem = result.problem
        reference = reference_of(problem, before)
        fallback = check(problem, dispatch(problem, reference))
        assert fallback.valid, (event.event_id, fallback.violations[:3])
        shifted = right_shift(problem, reference)
        assert shifted is None or check(problem, shifted).valid
