"""Solver runs: hints, statuses, and the no-solution outcome."""

from __future__ import annotations

import json
from pathlib import Path

from scheduler.check import check
from scheduler.cli import main
from scheduler.domain.files import load_scenario
from scheduler.problem import compile_problem
from scheduler.repair import change
from scheduler.solver import SolverConfig, SolveStatus, Stability, solve
from tests.helpers import solve_checked

JSSP = Path(__file__).resolve().parents[2] / "scenarios" / "jssp"


def test_a_hint_is_kept_when_the_limit_is_short():
    problem = compile_problem(load_scenario(JSSP / "la19.json"))
    best, _ = solve_checked(problem, config=SolverConfig(time_limit_s=30, workers=1, deterministic=True))
    assert best.status is SolveStatus.OPTIMAL and best.objective == 842
    short = SolverConfig(time_limit_s=0.3, workers=1, deterministic=True)
    cold, _ = solve_checked(problem, config=short)
    hinted, _ = solve_checked(problem, config=short, hint=best.timetable)
    assert cold.objective is not None and cold.objective > 842  # the short limit alone does not get there
    assert hinted.objective == 842


def test_nothing_found_in_time_is_a_status_and_the_cli_answers_with_the_dispatch_plan(tmp_path, capsys):
    problem = compile_problem(load_scenario(JSSP / "ta71.json"))
    result = solve(problem, SolverConfig(time_limit_s=1e-4, workers=1, deterministic=True))
    assert result.status is SolveStatus.NO_SOLUTION
    assert result.timetable is None and result.objective is None
    plan = tmp_path / "plan.json"
    code = main(["solve", str(JSSP / "ta71.json"), "--deterministic", "--time-limit", "0.0001", "--workers", "1",
                 "--out", str(plan), "--gantt", str(tmp_path / "g.html")])  # fmt: skip
    document = json.loads(plan.read_text())
    assert code == 0  # a plan for any feasible scenario: CP-SAT's, or the dispatch plan when it has none
    assert document["status"] in ("dispatch", "feasible") and document["valid"]
    assert len(document["assignments"]) == problem.num_ops
    assert document["status"] in capsys.readouterr().out
    assert (tmp_path / "g.html").exists()


def test_stability_objective_counts_pinned_changes_exactly():
    """Pinned operations' changes enter the objective as constants: the value CP-SAT reports
    still equals efficiency + change recomputed from the timetable alone."""
    problem = compile_problem(load_scenario(JSSP / "ft06.json"))
    base, _ = solve_checked(problem, config=SolverConfig(time_limit_s=5, workers=1, deterministic=True))
    assert base.timetable is not None
    old = base.timetable
    reference = tuple((old.machine[i], old.start[i]) for i in range(problem.num_ops))
    last_end = {m: max(e for k, e in enumerate(old.end) if old.machine[k] == m) for m in set(old.machine)}
    # the last operation of each machine, pinned 3 ticks later: a change the solver cannot undo
    pinned = {
        i: (old.machine[i], old.start[i] + 3, old.end[i] + 3)
        for i in range(problem.num_ops)
        if old.end[i] == last_end[old.machine[i]]
    }
    stability = Stability(reference, moved=7, shift=2, reassigned=0, efficiency_scale=1)
    config = SolverConfig(time_limit_s=5, workers=1, deterministic=True)
    result = solve(problem, config, hint=old, stability=stability, pinned=pinned)
    assert result.timetable is not None
    report = check(problem, result.timetable)
    assert report.valid, report.violations
    moves = change(problem, reference, result.timetable)
    assert all(result.timetable.start[i] == p[1] for i, p in pinned.items())
    assert moves.moved_operations >= len(pinned) and moves.total_abs_shift >= 3 * len(pinned)
    assert result.objective == report.kpis.objective + 7 * moves.moved_operations + 2 * moves.total_abs_shift
