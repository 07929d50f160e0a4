"""The facts ledger through the live plan: facts at their true times, contradictions refused
by name, sequence warnings, open downtimes, inferred starts, the frozen horizon, exact
timestamps; every plan re-checked."""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.check import check
from scheduler.domain import InputError, RepairPolicy, Schedule
from scheduler.domain.events import (
    CycleTimeObserved,
    DowntimeEnded,
    DowntimeStarted,
    Event,
    OperationCompleted,
    OperationStarted,
)
from scheduler.domain.files import load_scenario
from scheduler.domain.timebase import use_timebase
from scheduler.engine import LivePlan, RepairResult
from scheduler.problem import compile_problem, schedule_from_timetable
from tests.helpers import solve_checked

SMALL = Path(__file__).resolve().parents[1] / "data" / "small_line.yaml"
REPRO = RepairPolicy(budget_ms=200, margin_ms=0, workers=1, deterministic=True)


@cache
def _base() -> Schedule:
    """CP-SAT's optimum of the small line: the plan the cases below are written against."""
    problem = compile_problem(load_scenario(SMALL))
    result, _ = solve_checked(problem)
    assert result.timetable is not None
    return schedule_from_timetable(problem, result.timetable)


def live(**policy: object) -> LivePlan:
    return LivePlan.create(load_scenario(SMALL), _base(), REPRO.model_copy(update=policy))


def checked(result: RepairResult) -> RepairResult:
    report = check(result.problem, result.timetable)
    assert report.valid and result.receipt.valid, report.violations
    return result


def start(k: str, op: str, t: int, **extra: object) -> OperationStarted:
    return OperationStarted(event_id=k, time=t, operation=op, **extra)


def done(k: str, op: str, t: int, machine: str | None = None) -> OperationCompleted:
    return OperationCompleted(event_id=k, time=t, operation=op, machine=machine)


def down(k: str, machine: str, t: int, **expected: int) -> DowntimeStarted:
    return DowntimeStarted(event_id=k, time=t, machine=machine, downtime_id=f"d-{k}", **expected)


def tick(k: str, t: int) -> CycleTimeObserved:
    """An event that only moves "now" (a deviation within tolerance)."""
    return CycleTimeObserved(event_id=k, time=t, station="cut", factor=1.01)


def test_a_late_completion_ends_the_operation_at_its_own_time():
    plan = live()
    checked(plan.apply(start("s", "A-cut", 0)))
    checked(plan.apply(tick("t", 30)))
    late = checked(plan.apply(done("c", "A-cut", 10)))
    assert plan.situation()[0].fixed["A-cut"] == ("CUT-2", 0, 10)
    assert any("late by 20 tick(s): operation_completed at 10" in w for w in late.receipt.warnings)
    assert plan.now == 30  # now never goes back


def test_a_late_downtime_blocks_its_machine_from_its_own_start():
    plan = live()
    checked(plan.apply(tick("t", 5)))
    result = checked(plan.apply(down("d", "WELD-1", 3, expected_duration=5)))
    weld = result.problem.machine_index["WELD-1"]
    assert (3, 8) in result.problem.unavailability[weld]
    assert plan.plan["E-weld"][1] >= 8  # planned at 5, it cannot have started while the cell was down


CONTRADICTIONS = [
    ([start("s", "A-cut", 4)], done("c", "A-cut", 3), "event.time", "completion at 3 is not after A-cut's start at 4"),
    ([down("d", "CUT-2", 2), DowntimeEnded(event_id="e", time=9, machine="CUT-2", downtime_id="d-d")],
     start("s", "A-cut", 5), "event.time", "CUT-2 was down during [2, 9)"),
    ([start("s", "A-cut", 0), done("c", "A-cut", 8)], start("s2", "D-cut", 5, machine="CUT-2"), "event.time",
     "D-cut on CUT-2 at [5, ...) overlaps A-cut [0, 8)"),
    ([start("s", "A-cut", 0)], start("s2", "A-cut", 2), "event.time", "A-cut already started at 0 on CUT-2"),
    ([start("s", "A-cut", 0), done("c", "A-cut", 8)], done("c2", "A-cut", 9), "event.time",
     "A-cut already completed at 8"),
    ([down("d", "CUT-2", 2), start("s", "A-cut", 5)],
     DowntimeEnded(event_id="e", time=9, machine="CUT-2", downtime_id="d-d"), "event.time",
     "A-cut started on CUT-2 at 5, while it would still be down"),
]  # fmt: skip


@pytest.mark.parametrize(("before", "event", "field", "text"), CONTRADICTIONS)
def test_contradictions_are_refused_by_name_and_change_nothing(before, event, field, text):
    plan = live()
    for e in before:
        checked(plan.apply(e))
    version, ledger = plan.version, plan.ledger.copy()
    with pytest.raises(InputError) as refused:
        plan.apply(event)
    problem = refused.value.problems[0]
    assert problem.field == field and text in problem.message, problem
    assert plan.version == version and plan.ledger == ledger and plan.check().valid


def test_a_completion_without_a_start_is_inferred_or_refused_by_policy():
    plan = live()
    result = checked(plan.apply(done("c", "A-cut", 8)))
    assert plan.situation()[0].fixed["A-cut"] == ("CUT-2", 0, 8)
    assert "A-cut completed with no reported start: start inferred" in result.receipt.warnings
    checked(plan.apply(start("s", "A-cut", 1)))  # the start comes late, and replaces the inference
    assert plan.situation()[0].fixed["A-cut"] == ("CUT-2", 1, 8)
    strict = live(completion_without_start="refuse")
    with pytest.raises(InputError, match="A-cut was never reported started"):
        strict.apply(done("c", "A-cut", 8))


def test_sequence_gaps_and_regressions_are_warnings_and_counted():
    plan = live()
    results = [checked(plan.apply(tick(f"t{n}", n).model_copy(update={"sequence": n}))) for n in (1, 3, 2)]
    assert results[0].receipt.warnings == ()
    assert results[1].receipt.warnings == ("sequence 3 from 'mes' after 1: 1 missing",)
    assert results[2].receipt.warnings[0] == "sequence 2 from 'mes' after 3: out of order"
    assert (plan.ledger.gaps, plan.ledger.regressions) == (1, 1)


def test_a_resent_event_id_with_another_payload_is_refused():
    plan = live()
    first = checked(plan.apply(down("x", "WELD-1", 4, expected_duration=3)))
    assert plan.apply(down("x", "WELD-1", 4, expected_duration=3)) is first
    with pytest.raises(InputError) as refused:
        plan.apply(down("x", "PACK-1", 4, expected_duration=3))
    assert refused.value.problems[0].field == "event.machine"
    assert "event 'x' from 'mes' was already taken with another machine ('WELD-1', now 'PACK-1')" in str(refused.value)


def test_an_open_downtime_never_runs_work_until_reported_back():
    plan = live()
    checked(plan.apply(down("d", "WELD-1", 5)))  # no expected end: the policy's default (30)
    result = checked(plan.apply(tick("t", 60)))  # long past it, not reported back
    assert "downtime 'd-d' on WELD-1 not reported back: assumed down until 90" in result.receipt.warnings
    for op, (machine, s, e) in plan.plan.items():
        assert machine != "WELD-1" or e <= 5 or s >= 90, (op, s, e)
    checked(plan.apply(DowntimeEnded(event_id="e", time=70, machine="WELD-1", downtime_id="d-d")))
    assert min(s for m, s, _ in plan.plan.values() if m == "WELD-1" and s > 5) >= 70


def test_a_start_on_a_machine_with_an_open_downtime_takes_it_as_back():
    plan = live()
    checked(plan.apply(down("d", "CUT-1", 2)))
    result = checked(plan.apply(start("s", "F-cut", 6, machine="CUT-1")))
    assert "downtime 'd-d' on CUT-1 taken as over at 6: work started there" in result.receipt.warnings
    assert result.problem.unavailability[result.problem.machine_index["CUT-1"]][-1] == (2, 6)


def test_an_operation_running_through_a_downtime_resumes_after_it():
    plan = live()
    checked(plan.apply(start("s", "A-cut", 0)))  # 8 ticks of work on CUT-2
    checked(plan.apply(down("d", "CUT-2", 3, expected_duration=10)))
    assert plan.situation()[0].fixed["A-cut"] == ("CUT-2", 0, 18)  # 3 done, 10 down, 5 left


def test_the_frozen_horizon_keeps_what_starts_soon():
    pinned, free = live(frozen_horizon=20), live()
    for plan in (pinned, free):
        checked(plan.apply(down("d", "CUT-2", 10, expected_duration=30)))
    soon = [op for op, (m, s, _) in _rows(_base()).items() if 10 <= s < 30 and m != "CUT-2"]
    assert soon and all(pinned.plan[op] == _rows(_base())[op] for op in soon)


def test_a_timestamp_is_rounded_to_the_nearest_tick_and_kept_exactly():
    plan = live()
    with use_timebase(plan.scenario.timebase):  # minutes from 06:00Z
        event = OperationStarted.model_validate(
            {"event_id": "s", "time": "2026-03-02T07:00:30.250+01:00", "operation": "A-cut"}
        )
    assert event.time == 1 and event.at is not None and event.at.microsecond == 250_000
    checked(plan.apply(event))
    fact = plan.ledger.operations["A-cut"]
    assert fact.start == 1 and fact.start_at == event.at


def _rows(schedule: Schedule) -> dict[str, tuple[str, int, int]]:
    return {a.operation_id: (a.machine_id, a.start, a.end) for a in schedule.assignments}


def _executed(until: int) -> list[Event]:
    """What the line reports when it runs the base plan to ``until``: starts and completions."""
    events: list[Event] = []
    for op, (machine, s, e) in sorted(_rows(_base()).items(), key=lambda item: item[1][1]):
        if s < until:
            events.append(start(f"s-{op}", op, s, machine=machine))
        if e <= until:  # the MES says where it ran: a completion that comes first needs that
            events.append(done(f"c-{op}", op, e, machine))
    return events


@settings(max_examples=25, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 10_000), mode=st.sampled_from(["assumed", "reported"]))
def test_the_same_facts_in_any_arrival_order_make_the_same_ledger_and_frozen_state(seed, mode):
    facts = _executed(30)
    shuffled = facts[:]
    random.Random(seed).shuffle(shuffled)
    states = []
    for order in (facts, shuffled):
        plan = live(started=mode, budget_ms=20)
        for event in order:
            checked(plan.apply(event))
        ledger = {op: (f.machine, f.start, f.end) for op, f in plan.ledger.operations.items()}
        states.append((ledger, plan.problem().op_fixed))
    assert states[0] == states[1]
