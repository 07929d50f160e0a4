"""Solver runs: hints, statuses, and the no-solution outcome."""

from __future__ import annotations

import json
from pathlib import Path

from scheduler.cli import main
from scheduler.domain.files import load_scenario
from scheduler.problem import compile_problem
from scheduler.solver import SolverConfig, SolveStatus, solve
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


def test_nothing_found_in_time_is_a_status_and_exit_code_1(tmp_path, capsys):
    problem = compile_problem(load_scenario(JSSP / "ta71.json"))
    result = solve(problem, SolverConfig(time_limit_s=1e-4, workers=1, deterministic=True))
    assert result.status is SolveStatus.NO_SOLUTION
    assert result.timetable is None and result.objective is None
    plan = tmp_path / "plan.json"
    code = main(["solve", str(JSSP / "ta71.json"), "--deterministic", "--time-limit", "0.0001", "--workers", "1",
                 "--out", str(plan), "--gantt", str(tmp_path / "g.html")])  # fmt: skip
    document = json.loads(plan.read_text())
    assert code == 1
    assert (document["status"], document["valid"], document["assignments"]) == ("no_solution", False, [])
    assert "no_solution" in capsys.readouterr().out
    assert not (tmp_path / "g.html").exists()
