"""Hostile input and faults against a real server: nothing hangs it, no failed event leaves
a trace, and every refusal is a named status (never UNKNOWN)."""

from __future__ import annotations

import threading
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from scheduler.domain.events import DowntimeStarted, OperationCompleted
from scheduler.service.convert import event_message, pb, pb_grpc
from scheduler.service.convert import plan_rows as rows
from tests.service.harness import Replica, config, document, running, scenario, stub, with_baseline
from tests.service.test_rpcs import violations
from tests.test_hostile_files import BOMB

SERVICE = "/scheduler.rpc.v1.SchedulerService/"


def _refused(call, code=grpc.StatusCode.INVALID_ARGUMENT):
    with pytest.raises(grpc.RpcError) as refused:
        call()
    assert refused.value.code() == code, refused.value.details()
    return refused.value


def _yaml(text: str) -> pb.ScenarioDocument:
    return pb.ScenarioDocument(format=pb.DOCUMENT_FORMAT_YAML, content=text.encode())


def _health(port: int) -> int:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        return int(health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status)


def test_an_alias_bomb_and_deep_nesting_are_refused_and_the_server_stays_healthy(tmp_path):
    bomb = "metadata:\n" + "".join("  " + line + "\n" for line in BOMB.splitlines())
    with running(config(tmp_path)) as server, stub(server) as client:
        error = _refused(lambda: client.CreatePlan(pb.CreatePlanRequest(scenario=_yaml(bomb)), timeout=30))
        assert violations(error) == [
            ("scenario.content", "holds more than 2000000 values once its aliases are expanded")
        ]
        deep = pb.ScenarioDocument(format=pb.DOCUMENT_FORMAT_JSON, content=b"[" * 100_000 + b"]" * 100_000)
        error = _refused(lambda: client.CreatePlan(pb.CreatePlanRequest(scenario=deep), timeout=30))
        assert violations(error) == [("scenario.content", "nests deeper than 64 levels")]
        assert _health(server.port) == health_pb2.HealthCheckResponse.SERVING
        client.CreatePlan(pb.CreatePlanRequest(plan_id="p", scenario=document()))
        rush = pb.Event(event_id="r1", occur_tick=1, order_added=pb.OrderAdded(order_json="[" * 5000 + "]" * 5000))
        error = _refused(lambda: client.ReportEvents(pb.ReportEventsRequest(plan_id="p", events=[rush])))
        assert violations(error) == [("events[0].order_added.order_json", "nests deeper than 64 levels")]


def test_a_document_over_the_limit_is_refused_by_its_size(tmp_path):
    with running(config(tmp_path, max_document_mb=1)) as server, stub(server) as client:
        big = _yaml("metadata: {pad: '" + "x" * (1024 * 1024) + "'}\n")
        error = _refused(lambda: client.CreatePlan(pb.CreatePlanRequest(scenario=big)))
        assert "over the 1048576-byte limit for a document" in violations(error)[0][1]


def test_a_large_document_is_parsed_off_the_event_loop(tmp_path):
    padding = "".join(f"  k{i}: [{i}, {i + 1}, 'some text to parse']\n" for i in range(120_000))
    slow = _yaml("metadata:\n" + padding)  # about 5 MB: seconds of YAML, then invalid (no plant)
    with running(config(tmp_path)) as server, stub(server) as client:
        call = client.CreatePlan.future(pb.CreatePlanRequest(scenario=slow))
        answered_while_parsing = 0
        while not call.done():
            began = time.perf_counter()
            assert _health(server.port) == health_pb2.HealthCheckResponse.SERVING
            assert time.perf_counter() - began < 2.0  # a guard: on the loop it would wait for the parse
            answered_while_parsing += not call.done()
            time.sleep(0.1)
        assert answered_while_parsing >= 3
        error = call.exception()
        assert isinstance(error, grpc.RpcError) and error.code() == grpc.StatusCode.INVALID_ARGUMENT


def _downtime(event_id: str, tick: int, **expected: int) -> pb.Event:
    body = pb.DowntimeStarted(machine="WELD-1", downtime_id=event_id, **expected)  # type: ignore[arg-type]
    return pb.Event(event_id=event_id, occur_tick=tick, downtime_started=body)


@pytest.mark.parametrize(
    ("event", "field", "text"),
    [
        (
            _downtime("d1", 5, expected_end_tick=2**63 - 1),
            "events[0].downtime_started.expected_end_tick",
            "is outside the plan's range",
        ),
        (
            pb.Event(
                event_id="c1",
                occur_tick=5,
                cycle_time_observed=pb.CycleTimeObserved(station="weld", observed=1e300, planned=1e-300),
            ),
            "events[0].cycle_time_observed.observed",
            "less than or equal to 10000000",
        ),
        (
            pb.Event(
                event_id="c2",
                occur_tick=5,
                cycle_time_observed=pb.CycleTimeObserved(station="weld", observed=1000, planned=1),
            ),
            "events[0].cycle_time_observed.observed",
            "is outside [0.01, 100]",
        ),
        (
            pb.Event(event_id="", occur_tick=5, cycle_time_observed=pb.CycleTimeObserved(station="weld", factor=2)),
            "events[0].event_id",
            "at least 1 character",
        ),
        (_downtime("d2", 2**62), "events[0].occur_tick", "is outside the plan's range"),
    ],
)
def test_out_of_range_events_are_named_and_leave_no_trace(tmp_path, event, field, text):
    with running(config(tmp_path)) as server, stub(server) as client:
        created = client.CreatePlan(pb.CreatePlanRequest(plan_id="p", scenario=document())).plan
        error = _refused(lambda: client.ReportEvents(pb.ReportEventsRequest(plan_id="p", events=[event])))
        (got_field, got_text), *_ = violations(error)
        assert got_field == field and text in got_text
        assert rows(client.GetPlan(pb.GetPlanRequest(plan_id="p")).plan) == rows(created)
        answer = client.ReportEvents(
            pb.ReportEventsRequest(plan_id="p", events=[_downtime("ok", 5, expected_duration=6)])
        )
        assert answer.acks[0].version == 2 and answer.acks[0].receipt.valid


def test_an_event_that_leaves_no_valid_plan_is_refused_and_never_committed(tmp_path):
    # F-weld "completed" at 1 although F-cut never ran: every plan would break the routing
    impossible = OperationCompleted(event_id="x1", time=1, operation="F-weld")
    fine = DowntimeStarted(event_id="ok", time=2, machine="WELD-1", downtime_id="d", expected_duration=5)
    with running(config(tmp_path)) as server, stub(server) as client:
        created = client.CreatePlan(pb.CreatePlanRequest(plan_id="p", scenario=document())).plan
        error = _refused(
            lambda: client.ReportEvents(pb.ReportEventsRequest(plan_id="p", events=[event_message(impossible)]))
        )
        assert violations(error)[0][0] == "events[0]"
        assert "no valid plan after this event" in violations(error)[0][1]
        after = client.ReportEvents(pb.ReportEventsRequest(plan_id="p", events=[event_message(fine)])).plan
        assert after.version == 2 and after.receipt.valid
        Replica(scenario(), created).take(fine, after, changed=True)  # as if the refused event never came
    with running(config(tmp_path)) as server, stub(server) as client:  # and a restart agrees
        assert rows(client.GetPlan(pb.GetPlanRequest(plan_id="p")).plan) == rows(after)


@pytest.mark.parametrize(
    "method",
    ["CreatePlan", "GetPlan", "ListPlans", "DeletePlan", "ReportEvents", "EvaluateScenario", "WatchPlan",
     "SweepScenarios"],
)  # fmt: skip
def test_undecodable_bytes_are_invalid_argument(tmp_path, method):
    with running(config(tmp_path)) as server, grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        garbage = b"\xff\xff\xff\xff"
        if method in ("WatchPlan", "SweepScenarios"):
            error = _refused(lambda: list(channel.unary_stream(SERVICE + method, None, None)(garbage, timeout=10)))
        else:
            error = _refused(lambda: channel.unary_unary(SERVICE + method, None, None)(garbage, timeout=10))
        assert error.details().startswith(f"request: cannot decode a scheduler.rpc.v1.{method}Request message")


def _slow_plan(client: pb_grpc.SchedulerServiceStub, plan_id: str) -> None:
    client.CreatePlan(pb.CreatePlanRequest(plan_id=plan_id, scenario=with_baseline("ta21", budget_ms=2000, workers=1)))


def _ta21_stop(event_id: str, machine: str = "M3") -> pb.Event:
    body = pb.DowntimeStarted(machine=machine, downtime_id=event_id, expected_duration=120)
    return pb.Event(event_id=event_id, occur_tick=500, downtime_started=body)


def test_delete_waits_for_the_call_in_flight_and_ends_its_watchers(tmp_path):
    with running(config(tmp_path)) as server, stub(server) as client:
        _slow_plan(client, "p")
        watch = iter(client.WatchPlan(pb.WatchPlanRequest(plan_id="p", from_version=1)))
        assert next(watch).plan.version == 1
        busy = client.ReportEvents.future(pb.ReportEventsRequest(plan_id="p", events=[_ta21_stop("e1")]))
        time.sleep(0.3)
        client.DeletePlan(pb.DeletePlanRequest(plan_id="p"))
        assert busy.result(timeout=30).acks[0].version == 2  # it finished before the delete
        assert next(watch).plan.version == 2
        with pytest.raises(grpc.RpcError) as ended:
            next(watch)
        assert ended.value.code() == grpc.StatusCode.NOT_FOUND and "deleted" in str(ended.value.details())
        assert list(client.ListPlans(pb.ListPlansRequest()).plans) == []
        _refused(lambda: client.GetPlan(pb.GetPlanRequest(plan_id="p")), grpc.StatusCode.NOT_FOUND)
        _refused(
            lambda: client.ReportEvents(pb.ReportEventsRequest(plan_id="p", events=[_ta21_stop("e2")])),
            grpc.StatusCode.NOT_FOUND,
        )
        client.CreatePlan(pb.CreatePlanRequest(plan_id="p", scenario=document()))  # a new plan, the same id
        assert client.GetPlan(pb.GetPlanRequest(plan_id="p")).plan.version == 1


def test_a_watch_beyond_the_next_version_is_refused_and_the_next_one_waits(tmp_path):
    with running(config(tmp_path)) as server, stub(server) as client:
        client.CreatePlan(pb.CreatePlanRequest(plan_id="p", scenario=document()))
        _refused(
            lambda: next(iter(client.WatchPlan(pb.WatchPlanRequest(plan_id="p", from_version=3)))),
            grpc.StatusCode.NOT_FOUND,
        )
        call = client.WatchPlan(pb.WatchPlanRequest(plan_id="p", from_version=2))
        watch = iter(call)
        got: list[int] = []
        reader = threading.Thread(target=lambda: got.append(next(watch).plan.version))
        reader.start()
        time.sleep(0.3)
        assert got == []
        client.ReportEvents(pb.ReportEventsRequest(plan_id="p", events=[_downtime("d", 3, expected_duration=5)]))
        reader.join(timeout=30)
        assert got == [2]
        call.cancel()


def test_a_call_waiting_for_its_plan_holds_no_solve_slot(tmp_path):
    with running(config(tmp_path, max_solves=2)) as server, stub(server) as client:
        for plan_id in ("a", "b"):
            _slow_plan(client, plan_id)
        first = client.ReportEvents.future(pb.ReportEventsRequest(plan_id="a", events=[_ta21_stop("a1")]))
        time.sleep(0.2)
        second = client.ReportEvents.future(pb.ReportEventsRequest(plan_id="a", events=[_ta21_stop("a2", "M4")]))
        time.sleep(0.2)
        other = client.ReportEvents(pb.ReportEventsRequest(plan_id="b", events=[_ta21_stop("b1")]))  # not refused
        assert other.acks[0].version == 2
        assert [first.result(timeout=30).acks[0].version, second.result(timeout=30).acks[0].version] == [2, 3]


def test_a_batch_stops_at_its_deadline_and_says_what_was_not_applied(tmp_path):
    events = [_ta21_stop(f"e{k}", f"M{k % 15}") for k in range(2000)]  # far more than 2 s of work
    with running(config(tmp_path)) as server, stub(server) as client:
        client.CreatePlan(pb.CreatePlanRequest(plan_id="p", scenario=with_baseline("ta21", budget_ms=300, workers=1)))
        answer = client.ReportEvents(pb.ReportEventsRequest(plan_id="p", events=events), timeout=2.0)
        assert answer.not_applied > 0 and len(answer.acks) + answer.not_applied == len(events)
        assert [a.event_id for a in answer.acks] == [e.event_id for e in events[: len(answer.acks)]]
        time.sleep(1.0)  # nothing goes on behind the answer
        assert client.GetPlan(pb.GetPlanRequest(plan_id="p")).plan.version == answer.plan.version
        again = client.ReportEvents(pb.ReportEventsRequest(plan_id="p", events=events[len(answer.acks) :][:1]))
        assert not again.acks[0].duplicate  # a later call takes the rest
