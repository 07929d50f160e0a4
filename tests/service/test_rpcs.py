"""Every RPC against a real server on port 0 with a real channel and SQLite file."""

from __future__ import annotations

import threading

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from scheduler.domain.events import DowntimeStarted
from scheduler.service.convert import event_message, pb
from scheduler.service.convert import plan_rows as rows
from tests.service.harness import Replica, config, document, running, scenario, stub


def downtime(event_id: str, time: int, machine: str = "WELD-1", duration: int = 15) -> DowntimeStarted:
    return DowntimeStarted(event_id=event_id, time=time, machine=machine, downtime_id=f"d-{event_id}",
                           expected_duration=duration)  # fmt: skip


def violations(error: grpc.RpcError) -> list[tuple[str, str]]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    found = []
    for detail in status.details:
        request = error_details_pb2.BadRequest()
        assert detail.Unpack(request)
        found += [(v.field, v.description) for v in request.field_violations]
    return found


def test_create_get_list_report_watch_evaluate_delete(tmp_path):
    with running(config(tmp_path)) as server, stub(server) as client:
        created = client.CreatePlan(pb.CreatePlanRequest(plan_id="line-1", scenario=document())).plan
        assert (created.plan_id, created.version, created.time_unit) == ("line-1", 1, pb.TIME_UNIT_MINUTE)
        assert created.origin.ToJsonString() == "2026-03-02T06:00:00Z"
        replica = Replica(scenario(), created)
        assert created.kpis.makespan == replica.live.check().kpis.makespan

        watch = client.WatchPlan(pb.WatchPlanRequest(plan_id="line-1", from_version=1), timeout=60)
        seen: list[int] = []
        done = threading.Event()

        def follow() -> None:
            for item in watch:
                seen.append(item.plan.version)
                if item.plan.version == 2:
                    done.set()
                    return

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()

        event = downtime("stop-1", 10)
        answer = client.ReportEvents(pb.ReportEventsRequest(plan_id="line-1", events=[event_message(event)]))
        ack = answer.acks[0]
        assert (ack.event_id, ack.source, ack.version, ack.duplicate) == ("stop-1", "mes", 2, False)
        assert ack.receipt.valid and not ack.receipt.violations
        assert answer.plan.version == 2 and answer.plan.now_tick == 10
        report = replica.take(event, answer.plan, changed=True)
        assert ack.receipt.makespan_after == report.kpis.makespan == answer.plan.kpis.makespan

        assert done.wait(30)
        watch.cancel()
        assert seen == [1, 2]

        latest = client.GetPlan(pb.GetPlanRequest(plan_id="line-1")).plan
        first = client.GetPlan(pb.GetPlanRequest(plan_id="line-1", version=1)).plan
        assert latest.version == 2 and rows(latest) == rows(answer.plan)
        assert rows(first) == rows(created)
        listed = client.ListPlans(pb.ListPlansRequest()).plans
        assert [(p.plan_id, p.latest_version, p.operations) for p in listed] == [("line-1", 2, 18)]

        maybe = event_message(downtime("maybe", 20, machine="PACK-1", duration=30))
        what_if = client.EvaluateScenario(pb.EvaluateScenarioRequest(plan_id="line-1", events=[maybe]))
        assert len(what_if.receipts) == 1 and all(r.valid for r in what_if.receipts)
        assert what_if.plan.version == 2
        assert what_if.diff.makespan_delta == what_if.plan.kpis.makespan - latest.kpis.makespan  # events: vs the base
        assert what_if.diff.moved_operations > 0
        same = client.EvaluateScenario(pb.EvaluateScenarioRequest(  # a cap at its value: the control's twin
            plan_id="line-1", kanban_caps=[pb.KanbanCap(buffer="cut->weld", cap=2)], events=[maybe]))  # fmt: skip
        assert len(same.receipts) == 2 and all(r.valid for r in same.receipts)
        assert (same.diff.moved_operations, same.diff.makespan_delta, same.diff.weighted_tardiness_delta) == (0, 0, 0)
        assert client.GetPlan(pb.GetPlanRequest(plan_id="line-1")).plan == latest  # nothing live changed

        client.DeletePlan(pb.DeletePlanRequest(plan_id="line-1"))
        with pytest.raises(grpc.RpcError) as missing:
            client.GetPlan(pb.GetPlanRequest(plan_id="line-1"))
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        assert client.ListPlans(pb.ListPlansRequest()).plans == []


def test_the_same_event_three_times_has_one_effect_and_stale_versions_abort(tmp_path):
    with running(config(tmp_path)) as server, stub(server) as client:
        created = client.CreatePlan(pb.CreatePlanRequest(plan_id="p", scenario=document())).plan
        replica = Replica(scenario(), created)
        event = event_message(downtime("once", 12))
        request = pb.ReportEventsRequest(plan_id="p", events=[event, event])
        first = client.ReportEvents(request)
        again = client.ReportEvents(pb.ReportEventsRequest(plan_id="p", events=[event]))
        assert [a.duplicate for a in [*first.acks, *again.acks]] == [False, True, True]
        assert {a.version for a in [*first.acks, *again.acks]} == {2}
        assert first.acks[0].receipt == again.acks[0].receipt
        assert again.plan == first.plan and again.plan.version == 2
        replica.take(downtime("once", 12), first.plan, changed=True)
        with pytest.raises(grpc.RpcError) as stale:
            client.ReportEvents(pb.ReportEventsRequest(plan_id="p", expected_version=1,
                                                       events=[event_message(downtime("later", 30))]))  # fmt: skip
        assert stale.value.code() == grpc.StatusCode.ABORTED
        assert "version 2" in str(stale.value.details())
        fresh = client.ReportEvents(pb.ReportEventsRequest(plan_id="p", expected_version=2,
                                                           events=[event_message(downtime("later", 30))]))  # fmt: skip
        assert fresh.plan.version == 3
        replica.take(downtime("later", 30), fresh.plan, changed=True)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda e: setattr(e.downtime_started, "machine", "LASER-9"), "events[0].downtime_started.machine", "LASER-9"),
        (lambda e: setattr(e.downtime_started, "expected_duration", -5), "events[0].downtime_started.expected_duration",
         "-5"),
        (lambda e: setattr(e, "occur_tick", 10**9), "events[0].occur_tick", "1000000000"),
        (lambda e: e.operation_completed.MergeFrom(pb.OperationCompleted(operation="Z-weld")),
         "events[0].operation_completed.operation", "Z-weld"),
        (lambda e: e.ClearField("time"), "events[0].occur_time", "required"),
    ],
)  # fmt: skip
def test_invalid_values_are_invalid_argument_naming_field_and_value(tmp_path, change, field, words):
    with running(config(tmp_path)) as server, stub(server) as client:
        client.CreatePlan(pb.CreatePlanRequest(plan_id="p", scenario=document()))
        good = event_message(downtime("ok", 5))
        bad = event_message(downtime("bad", 10))
        change(bad)
        bad_field = field.replace("events[0]", "events[1]")
        with pytest.raises(grpc.RpcError) as refused:
            client.ReportEvents(pb.ReportEventsRequest(plan_id="p", events=[good, bad]))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        problems = violations(refused.value)
        assert problems and problems[0][0] == bad_field, problems
        assert words in problems[0][1] or words in str(refused.value.details())
        # nothing accepted before the error is lost; a resend is a duplicate
        latest = client.GetPlan(pb.GetPlanRequest(plan_id="p")).plan
        again = client.ReportEvents(pb.ReportEventsRequest(plan_id="p", events=[good]))
        assert again.acks[0].duplicate == (latest.version == 2)


def test_bad_scenario_documents_name_the_field(tmp_path):
    text = document().content.decode().replace("station: weld, duration: 10", "station: weld, duration: -10")
    with running(config(tmp_path)) as server, stub(server) as client:
        with pytest.raises(grpc.RpcError) as refused:
            client.CreatePlan(pb.CreatePlanRequest(scenario=pb.ScenarioDocument(
                format=pb.DOCUMENT_FORMAT_YAML, content=text.encode())))  # fmt: skip
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        field, message = violations(refused.value)[0]
        assert field == "scenario.content.orders[0].operations[1].duration" and "-10" in message
        with pytest.raises(grpc.RpcError) as unknown:
            client.ReportEvents(pb.ReportEventsRequest(plan_id="nope", events=[event_message(downtime("x", 1))]))
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


def test_what_if_settings_are_validated_by_name(tmp_path):
    with running(config(tmp_path)) as server, stub(server) as client:
        client.CreatePlan(pb.CreatePlanRequest(plan_id="p", scenario=document()))
        for caps, field, words in (
            ([pb.KanbanCap(buffer="cut->paint", cap=2)], "kanban_caps[0].buffer", "cut->paint"),
            ([pb.KanbanCap(buffer="cut->weld", cap=0)], "kanban_caps[0].cap", "got 0"),
        ):
            with pytest.raises(grpc.RpcError) as refused:
                client.EvaluateScenario(pb.EvaluateScenarioRequest(plan_id="p", kanban_caps=caps))
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert violations(refused.value)[0][0] == field and words in violations(refused.value)[0][1]
        with pytest.raises(grpc.RpcError) as old:
            client.EvaluateScenario(pb.EvaluateScenarioRequest(plan_id="p", version=7))
        assert old.value.code() == grpc.StatusCode.NOT_FOUND
        assert client.GetPlan(pb.GetPlanRequest(plan_id="p")).plan.version == 1


def test_watchers_get_every_version_in_order_backlog_first(tmp_path):
    with running(config(tmp_path)) as server, stub(server) as client:
        created = client.CreatePlan(pb.CreatePlanRequest(plan_id="w", scenario=document())).plan
        replica = Replica(scenario(), created)
        early_call = client.WatchPlan(pb.WatchPlanRequest(plan_id="w", from_version=1), timeout=60)
        early = iter(early_call)
        assert next(early).plan.version == 1  # subscribed before the batch
        events = [downtime(f"b{k}", 4 + 3 * k, machine=m) for k, m in enumerate(["WELD-1", "CUT-1", "PACK-1", "CUT-2"])]
        answer = client.ReportEvents(pb.ReportEventsRequest(plan_id="w", events=[event_message(e) for e in events]))
        assert [a.version for a in answer.acks] == [2, 3, 4, 5]
        streamed = [next(early).plan for _ in range(4)]
        early_call.cancel()
        assert [p.version for p in streamed] == [2, 3, 4, 5]
        for event, plan in zip(events, streamed, strict=True):
            assert plan.receipt.event_id == event.event_id
            replica.take(event, plan, changed=True)
        late_call = client.WatchPlan(pb.WatchPlanRequest(plan_id="w", from_version=3), timeout=60)
        late = iter(late_call)
        assert [next(late).plan.version for _ in range(3)] == [3, 4, 5]
        late_call.cancel()


def test_a_stop_announced_ahead_blocks_its_window_without_moving_now(tmp_path):
    with running(config(tmp_path)) as server, stub(server) as client:
        client.CreatePlan(pb.CreatePlanRequest(plan_id="p", scenario=document()))
        ahead = pb.Event(event_id="pm", occur_tick=5, maintenance_planned=pb.MaintenancePlanned(
            machine="WELD-1", maintenance_id="pm-1", start_tick=100, end_tick=160, reason="service"))  # fmt: skip
        answer = client.ReportEvents(pb.ReportEventsRequest(plan_id="p", events=[ahead]))
        assert answer.acks[0].receipt.valid and not answer.acks[0].receipt.degraded
        on_weld = [(s, e) for m, s, e in rows(answer.plan).values() if m == "WELD-1"]
        assert on_weld and all(e <= 100 or s >= 160 for s, e in on_weld)
        state = client.GetLineState(pb.GetLineStateRequest(plan_id="p"))
        assert state.now_tick == 5
        late = pb.Event(event_id="pm2", occur_tick=50, maintenance_planned=pb.MaintenancePlanned(
            machine="WELD-1", maintenance_id="pm-2", start_tick=40, end_tick=60))  # fmt: skip
        with pytest.raises(grpc.RpcError) as refused:
            client.ReportEvents(pb.ReportEventsRequest(plan_id="p", events=[late]))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert violations(refused.value)[0][0] == "events[0].maintenance_planned.start_tick"
