"""Rules on the twin: end to end through ``simulate`` (in process and against a real
server), the twin taking over a live state, and ``verify: twin`` stopping a firing the
twin predicts not to help."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from scheduler.check import check
from scheduler.cli import main
from scheduler.domain.events import ParameterChanged
from scheduler.domain.files import load_scenario
from scheduler.domain.rules import Expectation
from scheduler.engine import LivePlan
from scheduler.twin import Disturbances
from scheduler.twin.line import Start, Twin
from scheduler.twin.whatif import Still, TwinCheck
from tests.service.harness import SMALL, config, running

RULES = {"rules": [
    {"id": "feed-weld", "when": {"kpi": "bottleneck_starvation", "window": 20, "above": 0.2},
     "then": {"set": "kanban", "buffer": "cut->weld", "step": 1, "min": 1, "max": 4},
     "expect": {"kpi": "bottleneck_starvation", "below": 0.2, "within": 20}, "cooldown": 20},
    {"id": "starve-weld", "when": {"kpi": "bottleneck_starvation", "window": 20, "above": 0.2},
     "then": {"set": "kanban", "buffer": "weld->pack", "step": -1, "min": 1, "max": 4},
     "expect": {"kpi": "bottleneck_starvation", "below": 0.2, "within": 20}, "cooldown": 20,
     "verify": "twin", "horizon": 30},
]}  # fmt: skip
FLAGS = ["--noise", "0.2", "--breakdowns", "30:8", "--seed", "2"]


def test_simulate_records_firings_verdicts_and_vetoes_the_same_in_process_and_on_a_server(tmp_path: Path, capsys):
    rules, local, remote = tmp_path / "rules.yaml", tmp_path / "local.json", tmp_path / "remote.json"
    rules.write_text(yaml.safe_dump(RULES))
    assert main(["simulate", str(SMALL), "--rules", str(rules), *FLAGS, "--out", str(local)]) == 0
    with running(config(tmp_path / "data"), TwinCheck()) as server:
        addr = f"127.0.0.1:{server.port}"
        assert main(["simulate", str(SMALL), "--rules", str(rules), *FLAGS, "--addr", addr, "--out", str(remote)]) == 0
        assert main(["client", "--addr", addr, "list"]) == 0
        plan_id = capsys.readouterr().out.strip().splitlines()[-1].split()[0]
        assert main(["client", "--addr", addr, "rules", plan_id]) == 0
        shown = capsys.readouterr().out
        assert "feed-weld: " in shown and "set kanban cut->weld = 3" in shown and "effective" in shown
    first, second = json.loads(local.read_text()), json.loads(remote.read_text())
    firings = first["rule_firings"]
    assert firings and set(firings[0]) >= {"time", "rule", "action", "kpi_before", "kpi_after", "verdict"}
    assert firings[0]["rule"] == "feed-weld" and firings[0]["verdict"] == "effective"
    assert first["rule_vetoes"] and all(v["rule"] == "starve-weld" for v in first["rule_vetoes"])
    assert all(v["predicted_with"] >= v["predicted_without"] for v in first["rule_vetoes"])
    assert first["rule_firings"] == second["rule_firings"] and first["executed"] == second["executed"]
    assert "rule_revisions" in first


def test_a_planner_changes_a_cap_and_suspends_a_rule_over_grpc(tmp_path: Path, capsys):
    scenario = tmp_path / "ruled.yaml"
    scenario.write_text(yaml.safe_dump({**yaml.safe_load(SMALL.read_text()), **RULES}))
    with running(config(tmp_path / "data"), TwinCheck()) as server:
        addr = ["--addr", f"127.0.0.1:{server.port}"]
        assert main(["client", *addr, "create", str(scenario), "--plan-id", "p"]) == 0
        assert main(["client", *addr, "set", "p", "kanban", "3", "--buffer", "cut->weld", "--reason", "test"]) == 0
        assert main(["client", *addr, "rule", "p", "feed-weld", "suspend", "--event-id", "hold"]) == 0
        assert main(["client", *addr, "rules", "p"]) == 0
        out = capsys.readouterr().out
        assert "version 2" in out and "feed-weld: suspended" in out and "hold at tick 0: version 2" in out
        assert main(["client", *addr, "set", "p", "kanban", "3", "--buffer", "cut->nowhere"]) == 2
        assert main(["client", *addr, "rule", "p", "no-such-rule", "resume"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 2 and "cut->nowhere" in err[0] and "no-such-rule" in err[1]


def test_the_twin_takes_over_a_live_state_and_keeps_the_caps():
    scenario = load_scenario(SMALL)
    live = LivePlan.create(scenario)
    plan = dict(live.plan)
    done = {op: p for op, p in plan.items() if p[2] <= 20}
    running_ = {op: p for op, p in plan.items() if p[1] < 20 < p[2]}
    twin = Twin(scenario, plan, Still(plan), Disturbances(noise=0.3, seed=1), start=Start(20, done, running_))
    run = twin.simulate()
    assert len(run.executed) == 18 and all(run.executed[op] == p for op, p in done.items())
    assert all(run.executed[op][1] == p[1] for op, p in running_.items())
    assert all(run.executed[op][1] >= 20 for op in plan if op not in done and op not in running_)
    assert max(e for _, _, e in run.executed.values()) > max(e for _, _, e in done.values())


def test_verify_twin_predicts_from_the_live_state():
    scenario = load_scenario(SMALL)
    live = LivePlan.create(scenario)
    expect = Expectation(kpi="bottleneck_starvation", below=0.2, within=30)
    fewer = ParameterChanged(event_id="x", time=0, parameter="kanban", buffer="cut->weld", value=1)
    without, with_fewer = TwinCheck()(live, fewer, 60, expect) or (None, None)
    assert without is not None and with_fewer is not None and with_fewer >= without
    assert live.rule_log == [] and check(live.problem(), live.timetable(live.problem())).valid  # nothing live changed
