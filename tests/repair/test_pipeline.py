"""The repair pipeline: tier 0 always answers validly; CP-SAT only improves on it."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from scheduler.check import check
from scheduler.domain import InputError, RepairPolicy, Scenario
from scheduler.domain.events import CycleTimeObserved, DowntimeStarted, OperationCompleted, OperationStarted
from scheduler.domain.files import load_scenario
from scheduler.engine import LivePlan
from scheduler.problem import compile_problem, reference_of, schedule_from_timetable
from scheduler.problem.freeze import Situation, freeze
from scheduler.repair import change, repair, right_shift, tier_zero
from scheduler.repair.gap_repair import gap_repair
from scheduler.solver import StopToken
from tests.helpers import job, line, scenario, solve_checked
from tests.solver.test_properties import PROPERTY, plants

ROOT = Path(__file__).resolve().parents[2]
REPRO = RepairPolicy(budget_ms=300, margin_ms=0, workers=1, deterministic=True)


def _flow():
    """Three jobs through A -> B, planned back to back; B goes down at 3 for 5."""
    sc = scenario(line("A", "B"), [job(f"J{k}", ("A", 2), ("B", 3)) for k in range(3)])
    problem = compile_problem(sc)
    result, _ = solve_checked(problem)
    assert result.timetable is not None
    reference = [(result.timetable.machine[i], result.timetable.start[i]) for i in range(problem.num_ops)]
    fixed = {problem.op_ids[i]: (problem.machine_ids[m], s, e) for i, (m, s, e) in
             enumerate(zip(result.timetable.machine, result.timetable.start, result.timetable.end, strict=True))
             if s < 3}  # fmt: skip
    for op, (m, s, e) in fixed.items():  # the one running on B at 3 is interrupted, and resumes at 8
        if m == "B" and s < 3 < e:
            fixed[op] = (m, s, 8 + e - 3)
    frozen = freeze(problem, Situation(now=3, fixed=fixed, downtime=(("B", 3, 8),)))
    return problem, frozen, reference, result


def test_right_shift_keeps_sequences_and_is_valid():
    _, frozen, reference, _ = _flow()
    shifted = right_shift(frozen, reference)
    assert shifted is not None and check(frozen, shifted).valid
    for m in range(len(frozen.machine_ids)):
        old = sorted((s, i) for i, (mm, s) in enumerate(reference) if mm == m)
        new = sorted((shifted.start[i], i) for i in range(frozen.num_ops) if shifted.machine[i] == m)
        assert [i for _, i in old] == [i for _, i in new]
    assert all(shifted.start[i] >= reference[i][1] for i in range(frozen.num_ops))


def test_gap_repair_is_valid_when_it_answers():
    _, frozen, reference, _ = _flow()
    plan = gap_repair(frozen, reference)
    assert plan is not None and check(frozen, plan).valid


def test_cp_sat_stopped_before_it_starts_still_answers_with_tier_0():
    _, frozen, reference, result = _flow()
    before = check(compile_problem(scenario(line("A", "B"), [job(f"J{k}", ("A", 2), ("B", 3)) for k in range(3)])),
                   result.timetable).kpis  # fmt: skip
    stop = StopToken()
    stop.stop()
    outcome = repair(frozen, reference, before, REPRO, "e1", range(frozen.num_ops), stop=stop)
    assert outcome.receipt.tier in ("right_shift", "gap_repair")
    assert outcome.receipt.solver_status == "no_solution"
    assert outcome.receipt.reason == "CP-SAT found nothing in time"
    assert outcome.receipt.valid and check(frozen, outcome.plan).valid


def test_no_budget_left_means_tier_0_answers_at_once():
    _, frozen, reference, _result = _flow()
    config = RepairPolicy(budget_ms=10, margin_ms=40)
    kpis = check(frozen, tier_zero(frozen, reference)).kpis
    outcome = repair(frozen, reference, kpis, config, "e1", range(frozen.num_ops))
    assert (outcome.receipt.tier, outcome.receipt.solver_status) in {
        ("right_shift", "not_run"),
        ("gap_repair", "not_run"),
    }
    assert outcome.receipt.reason == "no budget left for CP-SAT"
    assert outcome.solves == [] and outcome.receipt.valid


def test_cp_sat_improves_on_right_shift_when_it_can():
    _, frozen, reference, _result = _flow()
    kpis = check(frozen, tier_zero(frozen, reference)).kpis
    outcome = repair(frozen, reference, kpis, REPRO, "e1", range(frozen.num_ops))
    shifted = check(frozen, tier_zero(frozen, reference)).kpis.makespan
    assert outcome.receipt.valid
    assert outcome.receipt.makespan_after <= shifted
    assert outcome.receipt.moved_operations == change(frozen, reference, outcome.plan).moved_operations


@st.composite
def events(draw: st.DrawFn, plan: dict[str, tuple[str, int, int]], machines: list[str], stations: list[str]):
    horizon = max(e for _, _, e in plan.values())
    time = draw(st.integers(0, horizon))
    kind = draw(st.sampled_from(["down", "takt", "started", "completed"]))
    if kind == "down":
        return DowntimeStarted(event_id="e", time=time, machine=draw(st.sampled_from(machines)), downtime_id="d",
                               expected_duration=draw(st.integers(1, 10)))  # fmt: skip
    if kind == "takt":
        return CycleTimeObserved(event_id="e", time=time, station=draw(st.sampled_from(stations)),
                                 factor=draw(st.sampled_from([0.5, 1.02, 1.5, 2.0])))  # fmt: skip
    op = draw(st.sampled_from(sorted(plan)))
    if kind == "started":
        return OperationStarted(event_id="e", time=time, operation=op)
    return OperationCompleted(event_id="e", time=max(time, plan[op][1] + 1), operation=op)


@PROPERTY
@given(plants(), st.data())
def test_a_random_event_on_a_random_valid_plan_yields_a_valid_plan_or_a_named_refusal(data, draw):
    sc = Scenario.model_validate(data)
    problem = compile_problem(sc)
    result, _ = solve_checked(problem)
    assert result.timetable is not None
    schedule = schedule_from_timetable(problem, result.timetable)
    live = LivePlan.create(sc, schedule, REPRO)
    machines = [m.id for s in sc.plant.stations for m in s.machines]
    event = draw.draw(events(live.plan, machines, [s.id for s in sc.plant.stations]))
    try:
        repaired = live.apply(event)
    except InputError as refused:  # a fact no plan can keep (a start before its predecessor could run)
        assert refused.problems[0].field.startswith("event") and live.check().valid
        return
    report = check(repaired.problem, repaired.timetable)
    assert report.valid, (event, report.violations)
    assert repaired.receipt.valid and repaired.receipt.makespan_after == report.kpis.makespan


def test_nothing_moved_by_tier_0_leaves_the_stability_windows_empty():
    _, frozen, reference, _ = _flow()
    unchanged = freeze(frozen, Situation(now=frozen.now))  # no new fact: the plan still holds
    plan = tier_zero(unchanged, reference)
    kpis = check(unchanged, plan).kpis
    stable = RepairPolicy(budget_ms=300, margin_ms=0, workers=1, deterministic=True, neighbourhood=150, mode="windows")
    stable = stable.model_copy(update={"stability": stable.stability.model_copy(update={"moved_operations": 100})})
    outcome = repair(unchanged, [(plan.machine[i], plan.start[i]) for i in range(unchanged.num_ops)], kpis,
                     stable, "e", range(unchanged.num_ops))  # fmt: skip
    assert outcome.receipt.valid and outcome.receipt.moved_operations == 0
    assert outcome.receipt.reason == "nothing affected" and outcome.solves == []


def test_a_weld_stop_on_the_demo_line_costs_at_most_twice_its_length():
    """Behind full buffers kept sequences used to deadlock right-shift on the demo line, and
    a serial fallback doubled the plan. Right-shift now keeps the plan's order of every cap
    too and always answers; the answer is no worse than it, and the makespan grows by at
    most twice the stop's length."""
    demo = load_scenario(ROOT / "scenarios" / "demo_line.yaml")
    solver = demo.policy.solver.model_copy(update={"deterministic": True, "workers": 1, "seed": 3, "time_limit_s": 3})
    planned = LivePlan.create(demo.model_copy(update={"policy": demo.policy.model_copy(update={"solver": solver})}))
    live = LivePlan.create(demo, planned.schedule(), RepairPolicy(budget_ms=500, margin_ms=0, workers=1,
                                                                 deterministic=True))  # fmt: skip
    stop = demo.events[0]
    assert isinstance(stop, DowntimeStarted) and stop.machine == "WELD-1" and stop.expected_duration
    result = live.apply(stop)
    reference = reference_of(result.problem, planned.plan)
    shifted = right_shift(result.problem, reference)
    assert shifted is not None
    patched = check(result.problem, shifted)
    assert patched.valid, patched.violations[:1]
    assert check(result.problem, result.timetable).valid and result.receipt.valid
    assert check(result.problem, result.timetable).kpis.objective <= patched.kpis.objective
    assert result.receipt.makespan_after <= result.receipt.makespan_before + 2 * stop.expected_duration
