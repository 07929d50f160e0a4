"""The ``lean-scheduler`` command: happy paths, and bad input answered with one line naming
the field and value, exit code 2, never a traceback."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scheduler.check import check
from scheduler.cli import main
from scheduler.domain.files import load_plan, load_scenario
from scheduler.problem import compile_problem, timetable_from_schedule

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "demo_line.yaml"
FAST = ["--deterministic", "--time-limit", "0.5", "--workers", "1", "--seed", "0"]

BASE: dict[str, Any] = {
    "name": "tiny",
    "time_unit": "minute",
    "start": "2026-03-02T06:00:00Z",
    "plant": {
        "stations": [
            {"id": "cut", "machines": [{"id": "C1"}, {"id": "C2"}]},
            {"id": "weld", "machines": [{"id": "W1"}]},
        ],
        "buffers": [{"upstream": "cut", "downstream": "weld", "kanban": 2}],
        "unavailability": [{"machine": "W1", "start": 30, "end": 40}],
        "bottleneck": "weld",
    },
    "orders": [
        {
            "id": "O1",
            "family": "A",
            "due": 60,
            "operations": [
                {"id": "O1-cut", "station": "cut", "duration": 5},
                {"id": "O1-weld", "station": "weld", "setup": 2, "cycle_time": 1.5},
            ],
        },
        {
            "id": "O2",
            "family": "B",
            "release": 3,
            "due": 50,
            "quantity": 4,
            "operations": [
                {
                    "id": "O2-cut",
                    "station": "cut",
                    "machines": [{"machine": "C1", "duration": 4}, {"machine": "C2", "duration": 6}],
                },
                {"id": "O2-weld", "station": "weld", "duration": 7},
            ],
        },
    ],
}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, data: Any, name: str = "scenario.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_solve_writes_a_checked_plan_and_a_gantt(tmp_path, capsys):
    plan, gantt = tmp_path / "plan.json", tmp_path / "plan.html"
    code, out, _ = run(capsys, "solve", str(DEMO), *FAST, "--out", str(plan), "--gantt", str(gantt))
    assert code == 0
    assert "makespan" in out and "valid" in out
    document = json.loads(plan.read_text())
    assert document["status"] in ("optimal", "feasible") and document["valid"] is True
    assert document["violations"] == [] and isinstance(document["kpis"]["makespan"], int)
    row = document["assignments"][0]
    assert {"operation_id", "job_id", "machine_id", "start", "end", "start_time", "end_time"} <= set(row)
    # the plan file is independently valid and its KPIs are the checker's
    scenario = load_scenario(DEMO)
    problem = compile_problem(scenario)
    report = check(problem, timetable_from_schedule(problem, load_plan(plan, scenario)))
    assert report.valid and report.kpis.makespan == document["kpis"]["makespan"]
    assert document["kpis"]["makespan"] == max(a["end"] for a in document["assignments"])
    html = gantt.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "<script" not in html
    assert "PAINT-1 unavailable [240, 300)" in html  # the maintenance window is shaded, with a tooltip
    assert html.count("<rect class='op'") == problem.num_ops
    assert "O001-weld (order O001, family" in html  # hover details


def test_check_accepts_a_valid_plan_and_names_violations_of_a_broken_one(tmp_path, capsys):
    plan = tmp_path / "plan.json"
    scenario = write(tmp_path, BASE)
    assert run(capsys, "solve", str(scenario), *FAST, "--out", str(plan))[0] == 0
    code, out, _ = run(capsys, "check", str(scenario), str(plan))
    assert code == 0 and "valid" in out
    document = json.loads(plan.read_text())
    for row in document["assignments"]:
        if row["operation_id"] == "O2-cut":  # at 0, before its order's release
            row["start"], row["end"] = 0, row["end"] - row["start"]
        row.pop("start_time"), row.pop("end_time")
    plan.write_text(json.dumps(document))
    code, out, _ = run(capsys, "check", str(scenario), str(plan))
    assert code == 1
    assert "INVALID" in out and "release: O2-cut starts at" in out


def test_schema_describes_scenarios(capsys):
    code, out, _ = run(capsys, "schema")
    schema = json.loads(out)
    assert code == 0 and {"plant", "orders", "baseline", "policy"} <= set(schema["properties"])


def test_import_jssp_from_bundle_and_text_then_solve(tmp_path, capsys):
    bundle = ROOT.parent / "shared" / "datasets" / "jssp_benchmark_instances.json"
    source = [str(bundle), "--name", "ft06"] if bundle.exists() else [str(ROOT / "tests/data/ft06.txt")]
    out_file = tmp_path / "ft06.yaml"
    assert run(capsys, "import-jssp", *source, "--out", str(out_file))[0] == 0
    plan = tmp_path / "plan.json"
    assert run(capsys, "solve", str(out_file), *FAST, "--out", str(plan))[0] == 0
    document = json.loads(plan.read_text())
    assert document["status"] == "optimal" and document["kpis"]["makespan"] == 55
    assert {a["operation_id"] for a in document["assignments"]} >= {"J0-0", "J5-5"}


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets a dotted path (``orders.0.due``) in the scenario dict."""

    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


BAD_SCENARIOS: list[tuple[str, Callable[[dict[str, Any]], object], list[str]]] = [
    ("unknown field", _set("colour", "red"), ["colour: is not a known field"]),
    ("missing plant", lambda d: d.pop("plant"), ["plant: is required"]),
    (
        "unknown station",
        _set("orders.0.operations.1.station", "paint"),
        ["orders[0].operations[1].station", "unknown station 'paint'"],
    ),
    (
        "machine not in station",
        _set("orders.1.operations.0.machines.1.machine", "W1"),
        ["orders[1].operations[0].machines[1].machine", "'W1' is not in station 'cut'"],
    ),
    ("duplicate order", _set("orders.1.id", "O1"), ["orders[1].id", "duplicate order id 'O1'"]),
    (
        "duplicate operation",
        _set("orders.1.operations.0.id", "O1-cut"),
        ["orders[1].operations[0].id", "duplicate operation id 'O1-cut'"],
    ),
    (
        "duplicate machine",
        _set("plant.stations.1.machines.0.id", "C1"),
        ["plant.stations[1].machines[0].id", "duplicate machine id 'C1'"],
    ),
    ("duplicate station", _set("plant.stations.1.id", "cut"), ["plant.stations[1].id", "duplicate id 'cut'"]),
    (
        "zero duration",
        _set("orders.1.operations.1.duration", 0),
        ["orders[1].operations[1].duration", "greater than or equal to 1", "got 0"],
    ),
    ("negative duration", _set("orders.0.operations.0.duration", -5), ["orders[0].operations[0].duration", "got -5"]),
    (
        "negative cycle time",
        _set("orders.0.operations.1.cycle_time", -1.5),
        ["orders[0].operations[1].cycle_time", "got -1.5"],
    ),
    (
        "no timing",
        lambda d: d["orders"][0]["operations"][0].pop("duration"),
        ["orders[0].operations[0].duration", "needs a duration or a cycle_time"],
    ),
    (
        "duration and cycle time",
        _set("orders.0.operations.0.cycle_time", 2),
        ["orders[0].operations[0].duration", "not both"],
    ),
    (
        "no eligible machine",
        _set("orders.1.operations.0.machines", []),
        ["orders[1].operations[0].machines", "no eligible machine"],
    ),
    ("due before release", _set("orders.1.due", 1), ["orders[1].due", "due 1 is before release 3"]),
    ("kanban below one", _set("plant.buffers.0.kanban", 0), ["plant.buffers[0].kanban", "got 0"]),
    (
        "buffer to unknown station",
        _set("plant.buffers.0.downstream", "paint"),
        ["plant.buffers[0].downstream", "unknown station 'paint'"],
    ),
    ("buffer to itself", _set("plant.buffers.0.downstream", "cut"), ["plant.buffers[0].downstream", "to itself"]),
    (
        "window on unknown machine",
        _set("plant.unavailability.0.machine", "W9"),
        ["plant.unavailability[0].machine", "unknown machine 'W9'"],
    ),
    (
        "empty window",
        _set("plant.unavailability.0.end", 30),
        ["plant.unavailability[0].end", "end 30 is not after start 30"],
    ),
    ("unknown bottleneck", _set("plant.bottleneck", "paint"), ["plant.bottleneck", "unknown station 'paint'"]),
    ("conwip zero", _set("plant.conwip", 0), ["plant.conwip", "got 0"]),
    ("bad id", _set("orders.0.id", "has space"), ["orders[0].id", "'has space'"]),
    (
        "after in a sequence",
        _set("orders.0.operations.1.after", ["O1-cut"]),
        ["orders[0].operations[1].after", "needs routing: dag"],
    ),
    (
        "routing cycle",
        lambda d: (
            _set("orders.0.routing", "dag")(d),
            _set("orders.0.operations.0.after", ["O1-weld"])(d),
            _set("orders.0.operations.1.after", ["O1-cut"])(d),
        ),
        ["orders[0].operations", "cycle: O1-cut -> O1-weld -> O1-cut"],
    ),
    (
        "unknown predecessor",
        lambda d: (_set("orders.0.routing", "dag")(d), _set("orders.0.operations.1.after", ["O9"])(d)),
        ["orders[0].operations[1].after", "unknown operation 'O9'"],
    ),
    (
        "timestamp without offset",
        _set("orders.0.release", "2026-03-02T07:00:00"),
        ["orders[0].release", "no UTC offset"],
    ),
    (
        "timestamp before the start",
        _set("orders.0.due", "2026-03-02T05:00:00Z"),
        ["orders[0].due", "outside the plan's range"],
    ),
    ("bad time unit", _set("time_unit", "fortnight"), ["time_unit", "'fortnight'"]),
    ("negative weight", _set("policy", {"objective": {"makespan": -1}}), ["policy.objective.makespan", "got -1"]),
    ("zero workers", _set("policy", {"solver": {"workers": 0}}), ["policy.solver.workers", "got 0"]),
    (
        "baseline misses operations",
        _set("baseline", {"assignments": [{"operation_id": "O1-cut", "machine_id": "C1", "start": 0, "end": 5}]}),
        ["baseline.assignments", "does not cover 3 operation(s)"],
    ),
    (
        "baseline ineligible machine",
        _set("baseline", {"assignments": [{"operation_id": "O1-cut", "machine_id": "W1", "start": 0, "end": 5}]}),
        ["baseline.assignments[0].machine_id", "'W1' is not eligible for operation 'O1-cut'"],
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [(m, e) for _, m, e in BAD_SCENARIOS], ids=[n for n, _, _ in BAD_SCENARIOS]
)
def test_bad_scenarios_get_one_line_naming_field_and_value(tmp_path, capsys, mutate, expected):
    data = copy.deepcopy(BASE)
    mutate(data)
    code, out, err = run(capsys, "solve", str(write(tmp_path, data)), *FAST)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("lean-scheduler: error: ")
    for text in expected:
        assert text in err


BAD_FILES: list[tuple[str, list[str], list[str]]] = [
    ("missing file", ["solve", "{tmp}/nope.yaml"], ["nope.yaml: no such file"]),
    ("directory", ["solve", "{tmp}"], ["is a directory"]),
    ("bad yaml", ["solve", "{tmp}/bad.yaml"], ["bad.yaml: invalid YAML at line 3"]),
    ("bad json", ["solve", "{tmp}/bad.json"], ["bad.json: invalid JSON at line 1"]),
    ("not a mapping", ["solve", "{tmp}/list.yaml"], ["list.yaml: a scenario must be a mapping, got list"]),
    (
        "negative time limit",
        ["solve", "{tmp}/ok.json", "--time-limit", "-1"],
        ["--time-limit", "must be positive, got -1"],
    ),
    ("workers not a number", ["solve", "{tmp}/ok.json", "--workers", "two"], ["--workers", "'two' is not an integer"]),
    ("unknown command", ["plan", "x"], ["invalid choice: 'plan'"]),
    ("bench budgets not numbers", ["bench", "--budgets", "100,x"], ["--budgets", "'x' is not an integer"]),
    ("bench unknown instance", ["bench", "--instances", "ft10,ta99"], ["--instances: unknown instance 'ta99'"]),
    ("plan without assignments", ["check", "{tmp}/ok.json", "{tmp}/ok.json"], ["assignments: is required"]),
    (
        "plan with unknown operation",
        ["check", "{tmp}/ok.json", "{tmp}/plan_unknown.json"],
        ["assignments[0].operation_id: unknown operation 'X1'"],
    ),
    ("plan with text times", ["check", "{tmp}/ok.json", "{tmp}/plan_text.json"], ["assignments[0].start", "'soon'"]),
    (
        "bundle without name",
        ["import-jssp", "{tmp}/bundle.json", "--out", "{tmp}/x.json"],
        ["--name: ", "say which with --name"],
    ),
    (
        "bundle unknown name",
        ["import-jssp", "{tmp}/bundle.json", "--name", "zz99", "--out", "{tmp}/x.json"],
        ["no instance 'zz99'"],
    ),
    (
        "unwritable output",
        ["solve", "{tmp}/ok.json", *FAST, "--out", "/proc/nope/plan.json"],
        ["--out: cannot write '/proc/nope/plan.json'"],
    ),
    (
        "output is a folder",
        ["solve", "{tmp}/ok.json", *FAST, "--gantt", "{tmp}"],
        ["--gantt: cannot write", "not a writable file path"],
    ),
]


@pytest.mark.parametrize(("argv", "expected"), [(a, e) for _, a, e in BAD_FILES], ids=[n for n, _, _ in BAD_FILES])
def test_bad_files_and_flags_exit_2_with_one_line(tmp_path, capsys, argv, expected):
    write(tmp_path, "plant:\n  stations: [\n", "bad.yaml")
    write(tmp_path, '{"plant": ', "bad.json")
    write(tmp_path, "- a\n- b\n", "list.yaml")
    write(tmp_path, BASE, "ok.json")
    write(
        tmp_path,
        {"assignments": [{"operation_id": "X1", "machine_id": "C1", "start": 0, "end": 5}]},
        "plan_unknown.json",
    )
    write(
        tmp_path,
        {"assignments": [{"operation_id": "O1-cut", "machine_id": "C1", "start": "soon", "end": 5}]},
        "plan_text.json",
    )
    write(tmp_path, {"ft06": {"machines_matrix": [[0]], "duration_matrix": [[1]]}}, "bundle.json")
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    try:
        code, out, err = run(capsys, *args)
    except SystemExit as stop:  # argparse exits for bad flags
        code = int(stop.code or 0)
        out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    for text in expected:
        assert text in err


def test_the_installed_command_reports_without_a_traceback(tmp_path):
    bad = write(tmp_path, {**BASE, "orders": [{**BASE["orders"][0], "due": -1}]})
    done = subprocess.run(
        [sys.executable, "-m", "scheduler.cli", "solve", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "lean-scheduler: error: orders[0].due: time -1 is outside the plan's range: ticks 0 to 105120000 "
        "(minutes from the start)"
    )
