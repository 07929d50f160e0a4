"""Health reflects readiness: while the plans load, health checks answer NOT_SERVING and
the SchedulerService's calls UNAVAILABLE; once loaded, SERVING. The load is held back for
real: a PostgreSQL transaction locks the plans table until the test ends it."""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from scheduler.service.convert import pb, pb_grpc
from scheduler.service.server import SERVICE
from tests.postgres import connect, free_port
from tests.service.harness import config, document, running, stub

SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


def _health(channel: grpc.Channel, service: str) -> int:
    check = health_pb2_grpc.HealthStub(channel).Check
    return int(check(health_pb2.HealthCheckRequest(service=service), timeout=30, wait_for_ready=True).status)


def test_not_serving_and_unavailable_until_the_plans_are_loaded(tmp_path, postgres):
    url = postgres.database("readiness")
    with running(config(tmp_path, store=url)) as server, stub(server) as client:
        client.CreatePlan(pb.CreatePlanRequest(plan_id="line", scenario=document()))
    port = free_port()
    blocker = connect(url)
    blocker.execute("LOCK TABLE plans IN ACCESS EXCLUSIVE MODE")  # loading the plans waits for this transaction
    with ThreadPoolExecutor(1) as pool, contextlib.ExitStack() as stack:
        starting = pool.submit(stack.enter_context, running(config(tmp_path, store=url, addr=f"127.0.0.1:{port}")))
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                assert _health(channel, "") == NOT_SERVING
                assert _health(channel, SERVICE) == NOT_SERVING
                client = pb_grpc.SchedulerServiceStub(channel)
                with pytest.raises(grpc.RpcError) as refused:
                    client.GetPlan(pb.GetPlanRequest(plan_id="line"), timeout=30)
                assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
                assert "loading plans" in str(refused.value.details())
                with pytest.raises(grpc.RpcError) as watching:
                    next(iter(client.WatchPlan(pb.WatchPlanRequest(plan_id="line"), timeout=30)))
                assert watching.value.code() == grpc.StatusCode.UNAVAILABLE
                assert not starting.done()
        finally:
            blocker.close()  # ends the transaction: the plans load
        server = starting.result(timeout=60)
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            assert _health(channel, "") == SERVING
            assert _health(channel, SERVICE) == SERVING
            plan = pb_grpc.SchedulerServiceStub(channel).GetPlan(pb.GetPlanRequest(plan_id="line"), timeout=30).plan
            assert plan.version == 1
