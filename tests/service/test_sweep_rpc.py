"""SweepScenarios against a real server on port 0: a sweep from where a live plan stands
streams progress and one result, and nothing live changes."""

from __future__ import annotations

import json
import time

import grpc
import pytest

from scheduler.cli import main
from scheduler.domain.events import OperationCompleted, OperationStarted
from scheduler.service.convert import event_message, pb
from scheduler.service.convert import plan_rows as rows
from tests.client.test_client import _loaded_after
from tests.service.harness import config, document, running, stub
from tests.service.test_rpcs import violations

SWEEP = """
axes: {kanban: {cut->weld: [1, 2]}}
disturbances: {noise: 0.1}
horizon: 150
replications: 1
"""


def sweep_request(plan_id: str = "line", text: str = SWEEP, **fields: int) -> pb.SweepScenariosRequest:
    content = pb.SweepDocument(format=pb.DOCUMENT_FORMAT_YAML, content=text.encode())
    return pb.SweepScenariosRequest(plan_id=plan_id, sweep=content, **{"jobs": 1, **fields})


def line_so_far(plan: pb.PlanVersion) -> list[pb.Event]:
    """The MES's reports as the plan ran: order E done, F's cut and weld done, F's pack running."""
    planned = rows(plan)
    events: list[OperationStarted | OperationCompleted] = []
    for op in ("E-cut", "E-weld", "E-pack", "F-cut", "F-weld", "F-pack"):
        machine, start, end = planned[op]
        events.append(OperationStarted(event_id=f"s-{op}", time=start, operation=op, machine=machine))
        if op != "F-pack":
            events.append(OperationCompleted(event_id=f"c-{op}", time=end, operation=op, machine=machine))
    return [event_message(e) for e in sorted(events, key=lambda e: e.time)]


def test_a_sweep_from_the_line_as_it_stands_streams_progress_then_its_result_and_changes_nothing(tmp_path):
    with running(config(tmp_path)) as server, stub(server) as client:
        created = client.CreatePlan(pb.CreatePlanRequest(plan_id="line", scenario=document())).plan
        client.ReportEvents(pb.ReportEventsRequest(plan_id="line", events=line_so_far(created)))
        before = client.GetPlan(pb.GetPlanRequest(plan_id="line")).plan
        assert before.now_tick == rows(created)["F-pack"][1] > rows(created)["E-pack"][2]

        updates = list(client.SweepScenarios(sweep_request(), timeout=120))

        kinds = [u.WhichOneof("update") for u in updates]
        assert kinds[-1] == "result" and kinds.count("result") == 1 and kinds.count("progress") >= 1
        last = updates[-2].progress
        assert (last.runs_done, last.runs_total, last.configurations_total) == (2, 2, 2)
        result = updates[-1].result
        results = json.loads(result.results_json)
        keys = {c["key"] for c in results["configurations"]}
        assert keys == {"kanban:cut->weld=1", "kanban:cut->weld=2"}
        assert result.best == results["best"]["key"] in keys and result.best_score == results["best"]["score"]
        assert results["own"]["key"] == "kanban:cut->weld=2"  # the line's cap now
        assert results["origin"] == {"plan_id": "line", "version": before.version, "now": before.now_tick}
        assert (result.version, result.now_tick) == (before.version, before.now_tick)
        # order E was done before the sweep began, F's last operation was running: every run
        # completes the other five, once each
        assert {c["kpis"]["completed"]["mean"] for c in results["configurations"]} == {5.0}

        after = client.GetPlan(pb.GetPlanRequest(plan_id="line")).plan
        assert (after.version, after.now_tick, rows(after)) == (before.version, before.now_tick, rows(before))


def test_bad_sweeps_are_invalid_argument_naming_the_field_and_unknown_plans_not_found(tmp_path):
    cases = [
        (sweep_request(text="axes: {kanban: {nope->x: [1]}}"), "sweep.content.axes.kanban.nope->x"),
        (sweep_request(text="axes: {conwip: [2]}\nhorizon: 0"), "sweep.content.horizon"),
        (sweep_request(text="axes: [1, 2]"), "sweep.content.axes"),
        (sweep_request(text="- not a mapping"), "sweep.content"),
        (
            sweep_request(text="axes: {kanban: {cut->weld: {from: 1, to: 200}}, conwip: {from: 1, to: 60}}"),
            "sweep.content.axes",
        ),  # 12 000 configurations: more than one message carries
        (sweep_request(replications=0), "replications"),
        (sweep_request(jobs=1000), "jobs"),
    ]
    with running(config(tmp_path)) as server, stub(server) as client:
        client.CreatePlan(pb.CreatePlanRequest(plan_id="line", scenario=document()))
        for request, field in cases:
            with pytest.raises(grpc.RpcError) as refused:
                list(client.SweepScenarios(request, timeout=60))
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, refused.value.details()
            assert field in [f for f, _ in violations(refused.value)], violations(refused.value)
        with pytest.raises(grpc.RpcError) as missing:
            list(client.SweepScenarios(sweep_request(plan_id="none"), timeout=60))
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_cancelled_sweep_stops_and_gives_its_solve_slot_back(tmp_path):
    # 600 runs: about a minute on one worker; a run takes about a tenth of a second
    many = "axes: {kanban: {cut->weld: [1, 2, 3, 4, 5]}, conwip: [2, 4, 6]}\nhorizon: 200\nreplications: 40\n"
    with running(config(tmp_path, max_solves=1)) as server, stub(server) as client:
        client.CreatePlan(pb.CreatePlanRequest(plan_id="line", scenario=document()))
        call = client.SweepScenarios(sweep_request(text=many), timeout=300)
        first = next(iter(call))
        assert first.progress.runs_total == 600 and first.progress.runs_done < 10
        call.cancel()
        cancelled = time.monotonic()
        while True:  # the one slot is back once the run in progress has ended: a second sweep is admitted
            try:
                updates = list(client.SweepScenarios(sweep_request(), timeout=120))
                break
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
                assert time.monotonic() - cancelled < 5, "the cancelled sweep went on"
                time.sleep(0.2)
        assert updates[-1].WhichOneof("update") == "result"


def test_the_client_command_writes_the_results_and_the_table(tmp_path, capsys):
    grid = tmp_path / "sweep.yaml"
    grid.write_text(SWEEP)
    with running(config(tmp_path)) as server, stub(server) as client:
        client.CreatePlan(pb.CreatePlanRequest(plan_id="line", scenario=document()))
        code = main(["client", "--addr", f"127.0.0.1:{server.port}", "sweep", "line", "--grid", str(grid),
                     "--replications", "1", "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "2/2 runs" in printed and "best: kanban:cut->weld=" in printed
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert len(results["configurations"]) == 2 and results["origin"]["plan_id"] == "line"
    table = (tmp_path / "out" / "table.md").read_text()
    assert table.startswith("# Sweep of small-line") and "kanban:cut->weld=2 (own)" in table


def test_the_client_command_loads_neither_the_engine_nor_the_solver(tmp_path):
    argv = ["client", "--addr", "127.0.0.1:1", "sweep", "p", "--grid", str(tmp_path / "none.yaml"), "--out",
            str(tmp_path / "out")]  # fmt: skip
    assert _loaded_after(f"from scheduler.cli import main\nmain({argv!r})") == {"grpc"}
