"""The facts ledger over the wire and in the CLI: warnings in receipts, conflicting
duplicates and contradictions refused by field, timestamps with seconds on a plan in minutes."""

from __future__ import annotations

import json

import grpc
import pytest

from scheduler.cli import main
from scheduler.service.convert import event_message, pb
from tests.engine.test_takt import _slow_welds
from tests.service.harness import SMALL, config, document, running, stub
from tests.service.test_rpcs import violations


def _started(event_id: str, operation: str, tick: int | None = None, stamp: str | None = None) -> pb.Event:
    event = pb.Event(event_id=event_id, operation_started=pb.OperationStarted(operation=operation))
    if stamp is not None:
        event.occur_time.FromJsonString(stamp)
    else:
        event.occur_tick = tick or 0
    return event


def _done(event_id: str, operation: str, tick: int) -> pb.Event:
    return pb.Event(event_id=event_id, occur_tick=tick, operation_completed=pb.OperationCompleted(operation=operation))


def test_late_facts_conflicting_duplicates_and_contradictions_over_grpc(tmp_path):
    with running(config(tmp_path)) as server, stub(server) as client:
        client.CreatePlan(pb.CreatePlanRequest(plan_id="p", scenario=document()))
        report = lambda *events: client.ReportEvents(pb.ReportEventsRequest(plan_id="p", events=list(events)))  # noqa: E731
        # a start at 06:00:30.4Z on a plan in minutes from 06:00Z: tick 1 (nearest)
        first = report(_started("s1", "A-cut", stamp="2026-03-02T06:00:30.400Z")).acks[0]
        assert first.receipt.valid
        answer = report(pb.Event(event_id="t", occur_tick=30, cycle_time_observed=pb.CycleTimeObserved(
            station="cut", factor=1.01)), _done("c1", "A-cut", 10))  # fmt: skip
        assert "late by 20 tick(s): operation_completed at 10, now 30" in answer.acks[1].receipt.warnings
        with pytest.raises(grpc.RpcError) as refused:
            report(_started("s1", "B-cut", 1))  # the same id, another operation
        assert violations(refused.value)[0][0] == "events[0].operation_started.operation"
        assert "already taken with another operation ('A-cut', now 'B-cut')" in violations(refused.value)[0][1]
        with pytest.raises(grpc.RpcError) as refused:
            report(_done("c2", "A-cut", 12))  # completed twice
        assert violations(refused.value)[0] == ("events[0].occur_tick", "A-cut already completed at 10 (event 'c1')")
        assert client.GetPlan(pb.GetPlanRequest(plan_id="p")).plan.version == answer.plan.version


def test_the_cli_refuses_a_conflicting_duplicate_in_one_line(tmp_path, capsys):
    events = [{"event_id": "x", "time": 3, "type": "downtime_started", "machine": "WELD-1", "downtime_id": "d",
               "expected_duration": 4},
              {"event_id": "x", "time": 3, "type": "downtime_started", "machine": "PACK-1", "downtime_id": "d",
               "expected_duration": 4}]  # fmt: skip
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events))
    code = main(["repair", str(SMALL), "--events", str(path), "--deterministic"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == ("lean-scheduler: error: events[1].machine: event 'x' from 'mes' was already taken with another "
                   "machine ('WELD-1', now 'PACK-1')\n")  # fmt: skip


def test_repair_prints_the_receipts_warnings(tmp_path, capsys):
    events = [
        {"event_id": "d", "time": 5, "type": "downtime_started", "machine": "WELD-1", "downtime_id": "d"},
        {"event_id": "t", "time": 60, "type": "cycle_time_observed", "station": "cut", "factor": 1.01},
    ]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events))
    assert main(["repair", str(SMALL), "--events", str(path), "--deterministic"]) == 0
    out = capsys.readouterr().out
    assert "t: warning: downtime 'd' on WELD-1 not reported back: assumed down until 90" in out


def test_the_monitor_and_the_line_state_over_grpc(tmp_path):
    with running(config(tmp_path)) as server, stub(server) as client:
        client.CreatePlan(pb.CreatePlanRequest(plan_id="p", scenario=document()))
        answer = client.ReportEvents(
            pb.ReportEventsRequest(plan_id="p", events=[event_message(e) for e in _slow_welds()])
        )
        assert [(a.event_id, a.source) for a in answer.derived] == [("takt-weld-1", "monitor")]
        assert answer.plan.version == answer.derived[0].version
        state = client.GetLineState(pb.GetLineStateRequest(plan_id="p"))
        weld = next(s for s in state.stations if s.station == "weld")
        assert (weld.factor, weld.completions, weld.last_end_tick) == (2.0, 4, 87)
        assert state.now_tick == 87 and state.window_start_tick == 0
        assert state.realised.HasField("bottleneck_utilisation") and state.baseline.end_tick == 87
        assert state.planned.start_tick == 87
        with pytest.raises(grpc.RpcError) as refused:
            client.GetLineState(pb.GetLineStateRequest(plan_id="p", window_ticks=-1))
        assert violations(refused.value)[0][0] == "window_ticks"
