"""Deadlines, cancellation, admission control, restarts and graceful shutdown."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from scheduler.domain.events import DowntimeStarted
from scheduler.service.convert import event_message, pb
from scheduler.service.convert import plan_rows as rows
from tests.service.harness import (
    Replica,
    config,
    document,
    running,
    scenario,
    scenario_of,
    server_loop,
    stub,
    verify,
    with_baseline,
)

SLOW = {"budget_ms": 20_000, "workers": 1}
"""A budget no test waits for: what ends these repairs is a deadline or a cancellation."""


def down(event_id: str, time: int, machine: str = "M3") -> DowntimeStarted:
    return DowntimeStarted(event_id=event_id, time=time, machine=machine, downtime_id=f"d-{event_id}",
                           expected_duration=120)  # fmt: skip


def stop(event_id: str, time: int, machine: str = "M3") -> pb.Event:
    return event_message(down(event_id, time, machine))


def test_a_call_with_a_short_deadline_is_answered_in_time(tmp_path):
    with running(config(tmp_path)) as server, stub(server) as client:
        client.CreatePlan(pb.CreatePlanRequest(plan_id="ta21", scenario=with_baseline("ta21", **SLOW)))
        began = time.perf_counter()
        answer = client.ReportEvents(pb.ReportEventsRequest(plan_id="ta21", events=[stop("e1", 500)]), timeout=1.0)
        assert time.perf_counter() - began < 1.0  # a generous guard: the budget followed the deadline
        receipt = answer.acks[0].receipt
        assert receipt.valid and receipt.budget_ms < 1000  # capped by the deadline, less a margin
        assert answer.plan.version == 2
        verify(client, "ta21", scenario_of(with_baseline("ta21")), [down("e1", 500)])


def test_a_cancelled_call_stops_the_solver_and_the_event_still_lands_once(tmp_path):
    with running(config(tmp_path)) as server, stub(server) as client:
        client.CreatePlan(pb.CreatePlanRequest(plan_id="ta21", scenario=with_baseline("ta21", **SLOW)))
        call = client.ReportEvents.future(pb.ReportEventsRequest(plan_id="ta21", events=[stop("e1", 500)]))
        time.sleep(0.5)
        assert call.cancel()
        deadline = time.monotonic() + 10  # against hangs only: a solver that ignored the stop runs 20 s
        while (plan := client.GetPlan(pb.GetPlanRequest(plan_id="ta21")).plan).version < 2:
            assert time.monotonic() < deadline, "the cancelled repair did not stop"
            time.sleep(0.05)
        assert plan.receipt.valid and plan.receipt.latency_ms < 5_000
        again = client.ReportEvents(pb.ReportEventsRequest(plan_id="ta21", events=[stop("e1", 500)]))
        assert again.acks[0].duplicate and again.plan.version == 2
        verify(client, "ta21", scenario_of(with_baseline("ta21")), [down("e1", 500)])


def test_overload_is_refused_at_once_with_resource_exhausted(tmp_path):
    with running(config(tmp_path, max_solves=1)) as server, stub(server) as client:
        for plan_id in ("ta21", "other"):
            client.CreatePlan(pb.CreatePlanRequest(plan_id=plan_id, scenario=with_baseline("ta21", **SLOW)))
        busy = client.ReportEvents.future(pb.ReportEventsRequest(plan_id="ta21", events=[stop("e1", 500)]))
        time.sleep(0.3)
        began = time.perf_counter()
        with pytest.raises(grpc.RpcError) as refused:
            client.ReportEvents(pb.ReportEventsRequest(plan_id="other", events=[stop("e2", 510, "M4")]))
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert time.perf_counter() - began < 2.0
        assert client.GetPlan(pb.GetPlanRequest(plan_id="ta21")).plan.version == 1  # reads are not solves
        busy.cancel()


def test_a_restart_rebuilds_the_same_versions_and_duplicates_stay_duplicates(tmp_path):
    events = [DowntimeStarted(event_id=f"s{k}", time=5 + 7 * k, machine=m, downtime_id=f"d{k}", expected_duration=9)
              for k, m in enumerate(["WELD-1", "CUT-1", "PACK-1"])]  # fmt: skip
    with running(config(tmp_path)) as server, stub(server) as client:
        created = client.CreatePlan(pb.CreatePlanRequest(plan_id="p", scenario=document())).plan
        replica = Replica(scenario(), created)
        before = []
        for event in events:
            answer = client.ReportEvents(pb.ReportEventsRequest(plan_id="p", events=[event_message(event)]))
            replica.take(event, answer.plan, changed=True)
            before.append(answer.plan)
    with running(config(tmp_path)) as server, stub(server) as client:
        after = [client.GetPlan(pb.GetPlanRequest(plan_id="p", version=v)).plan for v in (2, 3, 4)]
        assert [rows(p) for p in after] == [rows(p) for p in before]
        assert [p.receipt for p in after] == [p.receipt for p in before]
        again = client.ReportEvents(pb.ReportEventsRequest(plan_id="p", events=[event_message(events[1])]))
        assert again.acks[0].duplicate and again.acks[0].version == 3 and again.plan.version == 4


def test_shutdown_turns_health_to_not_serving_and_lets_calls_in_flight_finish(tmp_path):
    with running(config(tmp_path)) as server, stub(server) as client:
        client.CreatePlan(pb.CreatePlanRequest(plan_id="ta21", scenario=with_baseline("ta21", budget_ms=1500)))
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            assert health.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING
            service = health_pb2.HealthCheckRequest(service="scheduler.rpc.v1.SchedulerService")
            assert health.Check(service).status == health_pb2.HealthCheckResponse.SERVING
            watch = health.Watch(health_pb2.HealthCheckRequest())
            assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
            call = client.ReportEvents.future(pb.ReportEventsRequest(plan_id="ta21", events=[stop("e1", 500)]))
            time.sleep(0.3)
            future = asyncio.run_coroutine_threadsafe(server.stop(grace=30), server_loop(server))
            assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
            answer = call.result(timeout=30)  # the call in flight finished
            assert answer.plan.version == 2 and answer.acks[0].receipt.valid
            future.result(timeout=30)
            with pytest.raises(grpc.RpcError) as refused:
                client.GetPlan(pb.GetPlanRequest(plan_id="ta21"), timeout=5)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    with running(config(tmp_path)) as server, stub(server) as client:
        verify(client, "ta21", scenario_of(with_baseline("ta21")), [down("e1", 500)])
