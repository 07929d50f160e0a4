"""``lean-scheduler repair``: events applied in turn, receipts, plan, and bad event files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scheduler.check import check
from scheduler.cli import main
from scheduler.domain.files import load_plan, load_scenario
from scheduler.problem import compile_problem, timetable_from_schedule

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "demo_line.yaml"
FAST = ["--deterministic", "--budget-ms", "150"]
RECEIPT_KEYS = {"event_id", "tier", "solver_status", "latency_ms", "budget_ms", "makespan_before", "makespan_after",
                "moved_operations", "total_abs_shift", "valid"}  # fmt: skip


@pytest.fixture(scope="module")
def demo_plan(tmp_path_factory) -> Path:
    """The demo line solved once, reproducibly, as a plan file to repair."""
    plan: Path = tmp_path_factory.mktemp("plan") / "plan.json"
    assert (
        main(["solve", str(DEMO), "--deterministic", "--time-limit", "0.5", "--workers", "1", "--out", str(plan)]) == 0
    )
    return plan


@pytest.fixture(scope="module")
def demo_result(tmp_path_factory, demo_plan):
    folder = tmp_path_factory.mktemp("repair")
    out, gantt = folder / "result.json", folder / "repair.html"
    code = main(["repair", str(DEMO), "--plan", str(demo_plan), *FAST, "--out", str(out), "--gantt", str(gantt)])
    return code, json.loads(out.read_text()), gantt.read_text()


def test_repair_applies_the_script_and_writes_plan_and_receipts(demo_result):
    code, document, _ = demo_result
    assert code == 0
    receipts = document["receipts"]
    assert [r["event_id"] for r in receipts] == [f"mes-000{k}" for k in range(1, 8)]
    for r in receipts:
        assert set(r) >= RECEIPT_KEYS and r["valid"] is True and r["budget_ms"] == 150
    tolerance = receipts[3]
    assert (tolerance["tier"], tolerance["moved_operations"]) == ("none", 0)
    assert receipts[5]["makespan_before"] == receipts[4]["makespan_after"]  # receipts chain
    plan = document["plan"]
    assert plan["valid"] is True and plan["violations"] == [] and isinstance(plan["kpis"]["makespan"], int)
    assert plan["kpis"]["makespan"] == receipts[-1]["makespan_after"]
    ids = {a["operation_id"] for a in plan["assignments"]}
    assert "R001-weld" in ids  # the rush order is in
    cancelled_at = 420  # 13:00, seven hours after the start
    for a in plan["assignments"]:
        if a["job_id"] == "O047":
            assert a["start"] < cancelled_at  # only what had started stays
    assert {"operation_id", "job_id", "machine_id", "start", "end"} <= set(plan["assignments"][0])


def test_the_repaired_plan_file_checks_against_the_final_state(demo_result, tmp_path):
    _, document, _ = demo_result
    plan = document["plan"]
    # the final plan keeps every order of the scenario but the cancelled one's unstarted work
    scenario = load_scenario(DEMO)
    kept = {a["operation_id"] for a in plan["assignments"]}
    assert all(op.id in kept for o in scenario.orders if o.id != "O047" for op in o.operations)


def test_the_gantt_shows_before_and_after(demo_result):
    _, _, html = demo_result
    assert "plan before the events" in html and "repaired plan" in html
    assert html.count("<svg") == 2


def test_an_events_file_replaces_the_script(tmp_path, capsys, demo_plan):
    events = tmp_path / "events.yaml"
    events.write_text("- {event_id: x1, time: 200, type: downtime_started, machine: PACK-1, downtime_id: p1,"
                      " expected_duration: 20}\n")  # fmt: skip
    out = tmp_path / "r.json"
    argv = ["repair", str(DEMO), "--plan", str(demo_plan), *FAST, "--events", str(events), "--out", str(out)]
    assert main([*argv, "--policy", "stability"]) == 0
    receipts = json.loads(out.read_text())["receipts"]
    assert [r["event_id"] for r in receipts] == ["x1"]
    assert "x1" in capsys.readouterr().out


def test_a_plan_file_is_repaired_as_given(tmp_path):
    plan, out = tmp_path / "plan.json", tmp_path / "r.json"
    ft06 = ROOT / "scenarios" / "jssp" / "ft06.json"
    events = tmp_path / "events.yaml"
    events.write_text(
        "- {event_id: d, time: 10, type: downtime_started, machine: M2, downtime_id: d, expected_duration: 7}\n"
    )
    assert main(["solve", str(ft06), "--deterministic", "--workers", "1", "--out", str(plan)]) == 0
    assert main(["repair", str(ft06), "--plan", str(plan), "--events", str(events), *FAST, "--out", str(out)]) == 0
    assert json.loads(out.read_text())["receipts"][0]["makespan_before"] == 55


def test_a_plan_with_a_baseline_is_repaired_without_solving(tmp_path):
    plan = tmp_path / "plan.json"
    ft06 = ROOT / "scenarios" / "jssp" / "ft06.json"
    assert main(["solve", str(ft06), "--deterministic", "--workers", "1", "--out", str(plan)]) == 0
    scenario = load_scenario(ft06)
    baseline = load_plan(plan, scenario)
    data = json.loads(ft06.read_text())
    data["baseline"] = {"assignments": [a.model_dump(exclude_none=True) for a in baseline.assignments]}
    data["events"] = [{"event_id": "d", "time": 10, "type": "downtime_started", "machine": "M2", "downtime_id": "d",
                       "expected_duration": 7}]  # fmt: skip
    with_baseline = tmp_path / "ft06-live.json"
    with_baseline.write_text(json.dumps(data))
    out = tmp_path / "r.json"
    assert main(["repair", str(with_baseline), *FAST, "--out", str(out)]) == 0
    receipt = json.loads(out.read_text())["receipts"][0]
    assert receipt["makespan_before"] == 55
    problem = compile_problem(scenario)
    assert check(problem, timetable_from_schedule(problem, baseline)).kpis.makespan == 55


BAD_EVENTS = [
    ("unknown machine", "- {event_id: a, time: 5, type: downtime_started, machine: M99, downtime_id: d}\n",
     "events[0].machine: unknown machine 'M99'"),
    ("unknown operation", "- {event_id: a, time: 5, type: operation_started, operation: O999-cut}\n",
     "events[0].operation: unknown operation 'O999-cut'"),
    ("unknown type", "- {event_id: a, time: 5, type: explosion}\n", "events[0]: Input tag 'explosion'"),
    ("missing id", "- {time: 5, type: downtime_ended, machine: WELD-1, downtime_id: d}\n",
     "events[0].event_id: is required"),
    ("end before start",
     "- {event_id: a, time: 50, type: downtime_started, machine: WELD-1, downtime_id: d, expected_end: 40}\n",
     "events[0].expected_end: expected_end 40 is not after time 50"),
    ("unknown downtime", "- {event_id: a, time: 5, type: downtime_ended, machine: WELD-1, downtime_id: nope}\n",
     "events[0].downtime_id: no downtime 'nope' on 'WELD-1'"),
    ("takt without numbers", "- {event_id: a, time: 5, type: cycle_time_observed, station: weld}\n",
     "events[0].factor: give a factor, or observed and planned cycle times"),
    ("not a list", "42\n", "an event file must be a list or a mapping, got int"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), [(t, m) for _, t, m in BAD_EVENTS], ids=[n for n, _, _ in BAD_EVENTS])
def test_bad_event_files_exit_2_naming_the_event(tmp_path, capsys, demo_plan, text, message):
    events = tmp_path / "events.yaml"
    events.write_text(text)
    code = main(["repair", str(DEMO), "--plan", str(demo_plan), *FAST, "--events", str(events)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert message in err


def test_no_events_is_an_input_error(tmp_path, capsys):
    code = main(["repair", str(ROOT / "scenarios" / "jssp" / "ft06.json"), *FAST])
    assert code == 2 and "events: no events to play" in capsys.readouterr().err
