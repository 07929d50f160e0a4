"""The shop-floor twin: deterministic per seed, reports only what an MES would, never breaks
the pull rules, and gives the same run in process and against a real server."""

from __future__ import annotations

import json

import pytest

from scheduler.check import check
from scheduler.cli import main
from scheduler.domain import Assignment, MachineOption, Scenario, Schedule
from scheduler.domain.files import load_scenario
from scheduler.engine import LivePlan
from scheduler.problem import compile_problem, timetable_from_schedule
from scheduler.twin import Disturbances, InProcess, Slowdown, Twin, TwinRun
from tests.service.harness import SMALL, config, running

MES_KINDS = {"operation_started", "operation_completed", "downtime_started", "downtime_ended"}


def _twin_scenario() -> Scenario:
    scenario = load_scenario(SMALL)
    repair = scenario.policy.repair.model_copy(update={"started": "reported"})
    return scenario.model_copy(update={"policy": scenario.policy.model_copy(update={"repair": repair})})


def _run(seed: int, **disturbed: object) -> TwinRun:
    scenario = _twin_scenario()
    live = LivePlan.create(scenario)
    disturbances = Disturbances(seed=seed, **disturbed)  # type: ignore[arg-type]
    return Twin(scenario, dict(live.plan), InProcess(live), disturbances).simulate()


def test_a_seed_gives_the_same_run_and_another_seed_another():
    kwargs = {"noise": 0.2, "mtbf": 60.0, "mttr": 6.0}
    first, again, other = _run(4, **kwargs), _run(4, **kwargs), _run(5, **kwargs)
    assert [e.model_dump() for e in first.events] == [e.model_dump() for e in again.events]
    assert first.executed == again.executed and first.executed != other.executed
    assert len(first.executed) == 18


def test_the_twin_reports_only_what_an_mes_would():
    run = _run(1, noise=0.1, mtbf=50.0, mttr=4.0)
    assert {e.type for e in run.events} <= MES_KINDS and "downtime_started" in {e.type for e in run.events}
    assert all(getattr(e, "expected_end", None) is None and getattr(e, "expected_duration", None) is None
               for e in run.events)  # fmt: skip
    times = [e.time for e in run.events]
    assert times == sorted(times)  # at their times


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_what_the_twin_ran_keeps_every_cap_and_precedence(seed):
    run = _run(seed, noise=0.3, mtbf=40.0, mttr=5.0)
    scenario = _twin_scenario()
    executed = run.executed
    orders = [o.model_copy(update={"operations": [
        op.model_copy(update={"duration": executed[op.id][2] - executed[op.id][1], "setup": None, "cycle_time": None,
                              "machines": [MachineOption(machine=executed[op.id][0])]})
        for op in o.operations]}) for o in scenario.orders]  # fmt: skip
    as_run = scenario.model_copy(update={"orders": orders, "baseline": None})
    problem = compile_problem(as_run)
    schedule = Schedule(assignments=[Assignment(operation_id=op, machine_id=m, start=b, end=e)
                                     for op, (m, b, e) in executed.items()])  # fmt: skip
    report = check(problem, timetable_from_schedule(problem, schedule))
    assert report.valid, report.violations  # kanban caps, CONWIP, precedences, one job per machine


def test_a_slowdown_is_seen_by_the_engine_and_stretches_the_plan():
    run = _run(0, slowdowns=(Slowdown("weld", 2.0, 0),))
    assert [(d.station, d.factor) for d in run.detections] == [("weld", 2.0)]
    detected = run.detections[0].time
    promised = next(p for t, p in run.predictions if t >= detected)  # the first plan after it
    realised = {job: max(e for op, (_, _, e) in run.executed.items() if op.startswith(f"{job}-")) for job in promised}
    before = run.predictions[0][1]  # what the first plan promised, at normal pace
    late = [job for job in promised if realised[job] > before[job]]
    assert late and all(abs(promised[j] - realised[j]) <= abs(before[j] - realised[j]) for j in late)


def test_in_process_and_against_a_server_the_same_detections(tmp_path, capsys):
    local, remote = tmp_path / "local.json", tmp_path / "remote.json"
    facts = tmp_path / "facts.yaml"
    flags = ["--noise", "0.1", "--slowdown", "weld:1.6@10", "--breakdowns", "80:5", "--seed", "2"]
    assert main(["simulate", str(SMALL), *flags, "--out", str(local), "--facts-out", str(facts)]) == 0
    with running(config(tmp_path / "data")) as server:
        assert main(["simulate", str(SMALL), *flags, "--addr", f"127.0.0.1:{server.port}", "--out", str(remote)]) == 0
    first, second = json.loads(local.read_text()), json.loads(remote.read_text())
    assert first["detections"] and first["detections"] == second["detections"]
    assert first["executed"] == second["executed"] and first["kpis"] == second["kpis"]
    replayed = tmp_path / "replayed.json"
    assert main(["repair", str(SMALL), "--events", str(facts), "--deterministic", "--out", str(replayed)]) == 0
    assert [d["event_id"] for d in json.loads(replayed.read_text())["detections"]] == [
        d["event_id"] for d in first["detections"]
    ]
    capsys.readouterr()
