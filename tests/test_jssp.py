"""Importing classic job-shop instances, and solving the small ones to their optimum."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.domain import InputError
from scheduler.domain.files import load_scenario
from scheduler.jssp import load_instance, parse_text
from scheduler.problem import compile_problem
from scheduler.solver import SolveStatus
from tests.helpers import solve_checked

DATA = Path(__file__).parent / "data"
VENDORED = Path(__file__).resolve().parents[1] / "scenarios" / "jssp"


def test_text_format_gives_the_fixed_ids():
    scenario = load_instance(DATA / "ft06.txt")
    assert scenario.name == "ft06"
    assert [o.id for o in scenario.orders] == [f"J{j}" for j in range(6)]
    assert [op.id for op in scenario.orders[1].operations][:2] == ["J1-0", "J1-1"]
    assert {m.id for s in scenario.plant.stations for m in s.machines} == {f"M{m}" for m in range(6)}
    first = scenario.orders[0].operations[0]
    assert (first.station, first.duration) == ("M2", 1)  # ft06 job 0 starts with machine 2 for 1


def test_text_import_matches_the_vendored_scenario():
    vendored = load_scenario(VENDORED / "ft06.json")
    imported = load_instance(DATA / "ft06.txt")
    assert [o.model_dump() for o in imported.orders] == [o.model_dump() for o in vendored.orders]


def test_ft06_reaches_its_optimum_of_55():
    scenario = load_instance(DATA / "ft06.txt")
    result, report = solve_checked(compile_problem(scenario))
    assert result.status is SolveStatus.OPTIMAL
    assert report.kpis.makespan == 55


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty instance file"),
        ("2 2\n0 3 1 x\n1 2 0 4\n", "not an integer"),
        ("3 2\n0 3 1 2\n1 2 0 4\n", "header says 3 jobs, found 2"),
        ("2 2\n0 3 1\n1 2 0 4\n", "odd number of values"),
        ("2 2\n0 3 5 2\n1 2 0 4\n", "machine 5 outside 0..1"),
    ],
)
def test_malformed_text_instances_are_rejected(text, message):
    with pytest.raises(InputError, match=message):
        parse_text(text, "bad.txt")
