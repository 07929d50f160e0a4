"""Repair at scale: the dispatch plan, the window problem, tiers as objects, the solver's
threads, truthful receipts, an early machine return."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from scheduler.check import check
from scheduler.domain import InputError, RepairPolicy, Scenario
from scheduler.domain.events import DowntimeEnded, DowntimeStarted
from scheduler.domain.files import load_scenario
from scheduler.domain.tiers import TierName
from scheduler.engine import LivePlan
from scheduler.jssp import scenario_from_matrices
from scheduler.problem import compile_problem, schedule_from_timetable
from scheduler.problem.neighbourhood import earliest
from scheduler.problem.window import window
from scheduler.repair import TIERS
from scheduler.repair.dispatch import dispatch
from scheduler.repair.initial import initial_plan
from scheduler.service.convert import pb
from scheduler.solver import SolverConfig, SolveStatus, StopToken, solve
from scheduler.solver.stability import Stability
from tests.helpers import job, line, scenario

ROOT = Path(__file__).resolve().parents[2]
DETERMINISTIC = SolverConfig(time_limit_s=1.0, workers=1, seed=0, deterministic=True, probing=False)


def _jssp(name: str) -> Scenario:
    return load_scenario(ROOT / "scenarios" / "jssp" / f"{name}.json")


def test_the_dispatch_plan_is_valid_on_job_shops_and_on_a_line_with_caps():
    for sc in (_jssp("ta21"), _jssp("la16"), load_scenario(ROOT / "scenarios" / "demo_line.yaml")):
        problem = compile_problem(sc)
        report = check(problem, dispatch(problem))
        assert report.valid, (sc.name, report.violations[:1])


def test_the_first_plan_falls_back_to_the_dispatch_plan_and_never_to_nothing():
    problem = compile_problem(_jssp("ta71"))  # 2 000 operations: CP-SAT cannot finish presolve in this limit
    result = initial_plan(problem, SolverConfig(time_limit_s=0.001, workers=1, deterministic=True))
    assert result.timetable is not None and check(problem, result.timetable).valid
    assert result.status in (SolveStatus.DISPATCH, SolveStatus.FEASIBLE)
    live = LivePlan.create(_jssp("ta71"), time_limit_s=0.01)  # raised "no initial plan" before
    assert live.check().valid


def test_a_window_is_solved_as_a_problem_of_its_own_and_merged_back_valid():
    sc = _jssp("la16")
    problem = compile_problem(sc)
    plan = dispatch(problem)
    makespan = max(plan.end)
    free = earliest(range(problem.num_ops), plan, 30)
    part = window(problem, plan, free, makespan)
    assert part is not None and len(part.ops) < problem.num_ops
    assert {i for k, i in enumerate(part.ops) if part.problem.fixed(k) is None and k not in part.pinned} == free
    stability = Stability(tuple((plan.machine[i], plan.start[i]) for i in part.ops), 0, 0, 0, 1)
    result = solve(part.problem, DETERMINISTIC, hint=part.restrict(plan), stability=stability, makespan_cap=makespan,
                   pinned=part.pinned, push_left=True)  # fmt: skip
    assert result.timetable is not None
    merged = part.merge(plan, result.timetable)
    report = check(problem, merged)
    assert report.valid, report.violations[:1]
    assert report.kpis.makespan <= makespan
    assert sum(merged.end[i] for i in free) <= sum(plan.end[i] for i in free)  # pushed left, never right


def test_a_window_on_a_capped_line_keeps_what_holds_its_caps_and_merges_back_valid():
    """Kanban, CONWIP and the drum's idle time couple jobs only within the span the free
    operations can reach: the window pins the jobs holding a cap then, and nothing else."""
    problem = compile_problem(load_scenario(ROOT / "scenarios" / "demo_line.yaml"))
    plan = dispatch(problem)
    makespan = max(plan.end)
    free = earliest(range(problem.num_ops), plan, 60)
    part = window(problem, plan, free, makespan)
    assert part is not None and len(part.ops) < problem.num_ops // 2
    assert not any(part.problem.fixed(k) for k in range(len(part.ops)))  # pinned work is not a fact
    result = solve(part.problem, DETERMINISTIC, hint=part.restrict(plan), makespan_cap=makespan, pinned=part.pinned)
    assert result.timetable is not None
    merged = part.merge(plan, result.timetable)
    report = check(problem, merged)
    assert report.valid, report.violations[:1]
    assert report.kpis.objective <= check(problem, plan).kpis.objective


def test_a_watchdog_stops_one_solve_not_the_call_it_serves():
    call = StopToken()
    solve_one = call.child()
    solve_one.stop()
    assert solve_one.stopped and not call.stopped
    solve_two = call.child()
    call.stop()
    assert solve_two.stopped
    assert call.child().stopped  # a solve asked for after the call was cancelled never starts


def test_no_solver_thread_outlives_an_answer_and_the_receipt_counts_the_whole_wait():
    sc = _jssp("ta21")
    live = LivePlan.create(sc, time_limit_s=1.0, policy=RepairPolicy(budget_ms=300))
    makespan = max(end for _, _, end in live.plan.values())
    for k, machine in enumerate(("M3", "M7", "M11")):
        event = DowntimeStarted(event_id=f"d{k}", time=makespan // 4 + 40 * k, machine=machine, downtime_id=f"d{k}",
                                expected_duration=makespan // 10)  # fmt: skip
        began = time.perf_counter()
        result = live.apply(event, began=began)
        waited = (time.perf_counter() - began) * 1000
        assert not [t for t in threading.enumerate() if t.name == "cp-sat-repair"]
        assert result.receipt.latency_ms <= waited and waited - result.receipt.latency_ms < 50  # generous guard
        assert check(result.problem, result.timetable).valid and result.receipt.valid


def test_an_early_machine_return_pulls_the_work_it_had_pushed_back_earlier():
    sc = scenario(line("A", "B"), [job(f"J{k}", ("A", 2), ("B", 4)) for k in range(4)])
    live = LivePlan.create(sc, policy=RepairPolicy(budget_ms=300, margin_ms=0, workers=1, deterministic=True))
    down = live.apply(DowntimeStarted(event_id="stop", time=3, machine="B", downtime_id="d", expected_duration=30))
    back = live.apply(DowntimeEnded(event_id="back", time=5, machine="B", downtime_id="d"))
    assert back.receipt.makespan_after < down.receipt.makespan_after
    assert back.receipt.tier in (TierName.LEFT_SHIFT, TierName.DISPATCH, TierName.CP_SAT)
    assert back.receipt.moved_operations > 0
    assert check(back.problem, back.timetable).valid


def test_with_time_to_spare_cp_sat_moves_more_than_the_affected_operations():
    orders = [job(f"J{k}", ("A", 2 + k % 3), ("B", 3), ("C", 2 + k % 2)) for k in range(8)]
    sc = scenario(line("A", "B", "C"), orders)
    live = LivePlan.create(sc, policy=RepairPolicy(budget_ms=500, margin_ms=0, workers=1, deterministic=True))
    result = live.apply(DowntimeStarted(event_id="stop", time=20, machine="C", downtime_id="d", expected_duration=6))
    free = sum(result.problem.fixed(i) is None for i in range(result.problem.num_ops))
    assert result.receipt.neighbourhood == free  # grown to the whole remaining plan
    assert check(result.problem, result.timetable).valid


def test_tiers_are_objects_with_names_and_the_modes_are_explicit():
    assert [t.name for t in TIERS] == [
        TierName.RIGHT_SHIFT,
        TierName.DISPATCH,
        TierName.GAP_REPAIR,
        TierName.LEFT_SHIFT,
        TierName.CP_SAT,
    ]
    stable = RepairPolicy().with_preset("stability")
    assert stable.mode == "windows" and stable.preset == "stability" and RepairPolicy().preset == "efficiency"
    assert RepairPolicy(mode="windows").preset == "custom"


def test_every_tier_name_has_its_proto_value():
    for tier in TierName:
        assert pb.RepairTier.Name(pb.RepairTier.Value(f"REPAIR_TIER_{tier.name}")) == f"REPAIR_TIER_{tier.name}"


def test_a_synthetic_job_shop_schedule_round_trips_through_the_unvalidated_builder():
    sc = scenario_from_matrices("syn", [[0, 1], [1, 0]], [[3, 2], [2, 4]])
    problem = compile_problem(sc)
    plan = dispatch(problem)
    schedule = schedule_from_timetable(problem, plan)
    sc.check_schedule(schedule)  # raises if an operation is missing or on a machine it cannot use
    assert [a.operation_id for a in schedule.assignments] == list(problem.op_ids)
    assert schedule.model_dump() == type(schedule).model_validate(schedule.model_dump()).model_dump()


def test_old_answers_keep_their_receipt_but_not_their_plan():
    sc = scenario(line("A", "B"), [job(f"J{k}", ("A", 2), ("B", 4)) for k in range(4)])
    live = LivePlan.create(sc, policy=RepairPolicy(budget_ms=100, margin_ms=0, workers=1, deterministic=True))
    live.answered.KEEP = 2  # what is kept whole, small for the test
    stops = [DowntimeStarted(event_id=f"s{k}", time=1 + k, machine="A", downtime_id=f"d{k}", expected_duration=1)
             for k in range(4)]  # fmt: skip
    first = [live.apply(event) for event in stops]
    again = live.apply(stops[0])  # answered long ago: first receipt and version, the plan of now
    assert (again.version, again.receipt) == (first[0].version, first[0].receipt)
    assert again.timetable == first[-1].timetable and check(again.problem, again.timetable).valid
    assert live.apply(stops[-1]) is first[-1]  # recent: the very answer
    changed = stops[0].model_copy(update={"machine": "B"})
    with pytest.raises(InputError):
        live.apply(changed)
