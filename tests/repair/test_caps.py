"""Caps after facts: jobs already in a buffer (or the line) by fact may overfill it; no new
job may join then. The checker states the rule exactly; CP-SAT and tier 0 share a safe form."""

from __future__ import annotations

import itertools

from scheduler.check import check, overfill
from scheduler.domain import RepairPolicy
from scheduler.domain.events import DowntimeStarted
from scheduler.engine import LivePlan
from scheduler.problem import cap_demands, compile_problem, schedule_from_timetable
from tests.helpers import job, line, scenario, solve_checked


def test_committed_jobs_may_overfill_but_no_new_one_joins():
    committed = [(0, 10, True), (0, 10, True)]
    assert overfill(committed, 1) is None  # facts alone: nothing anyone can do
    assert overfill([*committed, (5, 6, False)], 1) == (5, 3)  # a new job joins: caught
    assert overfill([(0, 4, True), (5, 6, False)], 1) is None  # it joins once the buffer drained
    assert overfill([(0, 5, True), (5, 6, False)], 1) is None  # at the very moment one leaves


def test_the_shared_cumulative_form_is_safe_and_exact_without_overfill():
    for cap, count in itertools.product(range(1, 6), range(8)):
        demands, capacity = cap_demands([True] * count + [False], cap)
        new = demands[-1]
        for k, n in itertools.product(range(count + 1), range(1, cap + 3)):
            if k + n * new <= capacity:
                assert k + n <= cap, (cap, count, k, n)  # whatever it admits keeps the cap
            elif count <= cap:
                assert k + n > cap  # and it admits everything the cap allows
    assert cap_demands([True, False], 3) == ([1, 1], 3)


def test_a_new_job_waits_until_a_fact_filled_buffer_drains():
    plant = {**line("A", "B"), "buffers": [{"upstream": "A", "downstream": "B", "kanban": 1}]}
    sc = scenario(plant, [job(f"J{k}", ("A", 2), ("B", 3)) for k in range(3)])
    problem = compile_problem(sc)
    result, _ = solve_checked(problem)
    assert result.timetable is not None
    live = LivePlan.create(sc, schedule_from_timetable(problem, result.timetable),
                           RepairPolicy(budget_ms=300, margin_ms=0, workers=1, deterministic=True))  # fmt: skip
    busy = min((a for a in live.schedule().assignments if a.machine_id == "B"), key=lambda a: a.start)
    now = busy.start + 2  # B is busy; the next job has started on A and will have to wait
    repaired = live.apply(DowntimeStarted(event_id="stop", time=now, machine="B", downtime_id="d",
                                          expected_duration=20))  # fmt: skip
    report = check(repaired.problem, repaired.timetable)
    assert report.valid, report.violations
    rows = {a.operation_id: a for a in repaired.schedule.assignments}
    waiting = [j for j in ("J0", "J1", "J2") if rows[f"{j}-0"].start < now < rows[f"{j}-1"].start]
    new = [j for j in ("J0", "J1", "J2") if rows[f"{j}-0"].start >= now]
    assert waiting and new  # the case at hand: a fact fills the buffer, a job has yet to come
    for j in new:  # it comes in only when the job waiting by fact has left
        assert all(rows[f"{j}-0"].end >= rows[f"{w}-1"].start for w in waiting)
