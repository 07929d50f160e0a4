"""Every shipped scenario loads, solves and checks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from scheduler.domain.files import load_scenario
from scheduler.problem import compile_problem
from scheduler.solver import SolverConfig
from tests.helpers import solve_checked

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted([*ROOT.glob("scenarios/*.yaml"), *ROOT.glob("scenarios/jssp/*.json")])
QUICK = SolverConfig(time_limit_s=0.2, workers=1, seed=0, deterministic=True)


def test_the_expected_scenarios_ship():
    names = {p.stem for p in SHIPPED}
    wanted = {"demo_line", "ft06", "ft10", "la16", "la17", "la18", "la19", "la20", "ta01", "ta21", "ta51", "ta71"}
    assert wanted <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenario_solves_and_checks(path):
    scenario = load_scenario(path)
    problem = compile_problem(scenario)
    _, report = solve_checked(problem, config=QUICK)
    bound = scenario.metadata.get("lower_bound")
    if isinstance(bound, int):
        assert report.kpis.makespan >= bound


def test_demo_line_has_the_lean_shape():
    scenario = load_scenario(ROOT / "scenarios/demo_line.yaml")
    plant = scenario.plant
    assert 5 <= len(plant.stations) <= 7
    assert any(len(s.machines) == 2 for s in plant.stations)
    assert plant.bottleneck == "weld" and plant.bottleneck_buffer > 0
    assert plant.buffers and all(b.kanban >= 1 for b in plant.buffers)
    assert 40 <= len(scenario.orders) <= 60
    assert 3 <= len({o.family for o in scenario.orders}) <= 4
    assert all(o.due is not None for o in scenario.orders)
    assert plant.unavailability
    problem = compile_problem(scenario)
    load = {
        s: sum(min(d for _, d in problem.op_modes[i]) for i in range(problem.num_ops) if problem.op_station[i] == s)
        / problem.machine_station.count(s)
        for s in range(len(problem.station_ids))
    }
    assert max(load, key=load.__getitem__) == problem.station_ids.index("weld")  # the declared drum is the real one


def test_demo_line_file_is_what_its_generator_writes():
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scenarios/generate_demo_line.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.generate() == (ROOT / "scenarios/demo_line.yaml").read_text(encoding="utf-8")
