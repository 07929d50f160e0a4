"""The pull dispatcher and right-shift on capped lines: every plan they make keeps every rule
the checker knows, with and without facts, and good news never makes a plan worse."""

from __future__ import annotations

from collections import deque

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.check import check
from scheduler.domain import RepairPolicy
from scheduler.domain.events import DowntimeEnded, DowntimeStarted, Event
from scheduler.engine import LivePlan
from scheduler.lines import flow_line
from scheduler.problem import ProblemData, Timetable, compile_problem, schedule_from_timetable
from scheduler.repair import pull
from scheduler.repair.dispatch import dispatch
from scheduler.repair.pull_line import Gate
from scheduler.repair.right_shift import left_shift, right_shift, tier_zero
from tests.helpers import job, line, scenario

POLICY = RepairPolicy(budget_ms=200, margin_ms=0, workers=1, deterministic=True)
LINES = st.tuples(st.integers(3, 25), st.integers(0, 40), st.integers(2, 12))


def _valid(problem: ProblemData, plan: Timetable | None) -> Timetable:
    assert plan is not None
    report = check(problem, plan)
    assert report.valid, report.violations[:3]
    return plan


def _reference(plan: Timetable) -> list[tuple[int, int] | None]:
    return [(m, s) for m, s in zip(plan.machine, plan.start, strict=True)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LINES)
def test_every_rule_dispatches_a_valid_plan_and_the_shop_rules_too(drawn: tuple[int, int, int]) -> None:
    orders, seed, conwip = drawn
    problem = compile_problem(flow_line(orders, seed, conwip))
    pl = pull.line_of(problem)
    for rule in pull.Rule:
        played = _valid(problem, pull.dispatch(pl, pull.keys(pl, rule)))
        assert sorted(set(played.machine)) != []
    for rule in (pull.Rule.FIFO, pull.Rule.EDD):
        _valid(problem, pull.shop(pl, rule))
    best = _valid(problem, dispatch(problem))
    raced = [check(problem, plan).kpis.objective for _, plan in pull.race(pl, pull.rules_for(problem, False))]
    assert check(problem, best).kpis.objective == min(raced)  # the best of the race


@settings(max_examples=25, deadline=None)
@given(LINES)
def test_right_shift_of_a_valid_plan_keeps_it_and_left_shift_never_delays(drawn: tuple[int, int, int]) -> None:
    orders, seed, conwip = drawn
    problem = compile_problem(flow_line(orders, seed, conwip))
    plan = _valid(problem, dispatch(problem))
    kept = _valid(problem, right_shift(problem, _reference(plan)))
    assert kept.start == plan.start and kept.machine == plan.machine  # nothing happened: nothing moves
    tight = _valid(problem, left_shift(problem, plan))
    assert all(a <= b for a, b in zip(tight.end, plan.end, strict=True))


def _live(orders: int, seed: int) -> LivePlan:
    sc = flow_line(orders, seed)
    problem = compile_problem(sc)
    return LivePlan.create(sc, schedule_from_timetable(problem, dispatch(problem)), POLICY)


def _busy(live: LivePlan, station: str, at: int) -> str:
    """A machine of ``station`` working at ``at`` in the plan (so a stop there disturbs)."""
    rows = [
        a for a in live.schedule().assignments if a.machine_id.lower().startswith(station) and a.start <= at < a.end
    ]
    return rows[0].machine_id if rows else f"{station.upper()}-1"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(8, 20), st.integers(0, 30), st.sampled_from(["weld", "saw", "paint"]), st.floats(0.1, 0.7))
def test_with_facts_every_construction_is_valid(orders: int, seed: int, station: str, when: float) -> None:
    live = _live(orders, seed)
    now = int(when * max(a.end for a in live.schedule().assignments))
    event: Event = DowntimeStarted(event_id="stop", time=now, machine=_busy(live, station, now), downtime_id="d",
                                   expected_duration=30)  # fmt: skip
    problem, reference, _ = live.preview(event)
    pl = pull.line_of(problem)
    shifted = right_shift(problem, reference, pl)
    if shifted is not None:
        _valid(problem, shifted)
        _valid(problem, left_shift(problem, shifted, pl))
    _valid(problem, tier_zero(problem, reference))
    for _, plan in pull.race(pl, pull.rules_for(problem, True), reference):
        _valid(problem, plan)
    _valid(problem, dispatch(problem, reference))


def test_an_early_return_never_answers_worse_than_the_plan_before() -> None:
    live = _live(20, 3)
    now = max(a.end for a in live.schedule().assignments) // 3
    drum = _busy(live, "weld", now)
    stopped = live.apply(DowntimeStarted(event_id="stop", time=now, machine=drum, downtime_id="d"))
    assert check(stopped.problem, stopped.timetable).valid
    before = live.kpis
    assert before is not None
    back = live.apply(DowntimeEnded(event_id="back", time=now + 5, machine=drum, downtime_id="d"))
    report = check(back.problem, back.timetable)
    assert report.valid, report.violations[:3]
    assert report.kpis.objective <= before.objective
    assert not back.receipt.degraded


def test_a_gate_lets_committed_holders_overfill_and_no_new_one_join() -> None:
    gate = Gate.of(committed=3, cap=2)  # facts put three in a buffer of two
    assert not gate.admits() and gate.debt == 1
    gate.give(by=5, fact=True)  # the first to leave pays the debt: no unit frees
    assert not gate.admits() and gate.paid == [5]
    gate.give(by=7, fact=True)
    assert gate.admits() and not gate.admits(2)
    assert gate.take() == [7, 5]  # the new holder comes after the one that freed its unit and the payer
    fresh = Gate.of(committed=0, cap=2)
    assert fresh.free == deque([-1, -1]) and fresh.take(2) == [-1, -1]


def test_a_job_shop_capped_both_ways_does_not_deadlock() -> None:
    buffers = [{"upstream": "A", "downstream": "B", "kanban": 1}, {"upstream": "B", "downstream": "A", "kanban": 1}]
    orders = [job(f"J{k}", ("A", 2 + k), ("B", 3)) if k % 2 else job(f"J{k}", ("B", 2), ("A", 1 + k)) for k in range(6)]
    sc = scenario({**line("A", "B"), "buffers": buffers, "conwip": 3}, orders)
    problem = compile_problem(sc)
    pl = pull.line_of(problem)
    for rule in pull.Rule:
        _valid(problem, pull.dispatch(pl, pull.keys(pl, rule)))
    _valid(problem, dispatch(problem))


def test_the_rules_raced_follow_what_the_problem_has() -> None:
    dated = compile_problem(flow_line(5))
    assert pull.rules_for(dated, True) == (pull.Rule.PLAN, pull.Rule.EDD, pull.Rule.SLACK, pull.Rule.MWKR,
                                           pull.Rule.FIFO)  # fmt: skip
    undated = compile_problem(scenario(line("A"), [job("J0", ("A", 2))]))
    assert pull.rules_for(undated, False) == (pull.Rule.MWKR, pull.Rule.FIFO)
