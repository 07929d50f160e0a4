"""kill -9 of a real server process while an MES streams events: after a restart no
acknowledged event is lost, and the plan equals a replay of what was acknowledged. On both
stores: the SQLite file, and a real PostgreSQL server (``--store postgresql://...``)."""

from __future__ import annotations

import os
import random
import signal
import time

import grpc
import pytest

from scheduler.domain.events import DowntimeStarted, Event
from scheduler.service.convert import event_message, pb, pb_grpc
from scheduler.service.convert import plan_rows as rows
from tests.service.harness import Replica, document, scenario, server_process


def shift(count: int) -> list[Event]:
    machines = ["WELD-1", "CUT-1", "PACK-1", "CUT-2"]
    return [DowntimeStarted(event_id=f"e{k:03d}", time=1 + 2 * k, machine=machines[k % 4], downtime_id=f"d{k}",
                            expected_duration=3) for k in range(count)]  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def store_flags(request) -> list[str]:
    """The serve command's store flags: none (the SQLite file in --data-dir), or --store URL
    of a new database on a real PostgreSQL server."""
    if request.param == "sqlite":
        return []
    return ["--store", request.getfixturevalue("postgres").database("durability")]


def test_kill_9_during_a_stream_of_events_loses_no_acknowledged_event(tmp_path, store_flags):
    rng = random.Random(11)
    events = shift(18)
    acked: dict[str, tuple[int, pb.PlanVersion]] = {}
    created: pb.PlanVersion | None = None
    cut: set[str] = set()  # calls the kill cut off: taken or not, the server decides on resend
    kills = 0
    for _ in range(3):
        with server_process(tmp_path, store_flags) as (process, addr), grpc.insecure_channel(addr) as channel:
            client = pb_grpc.SchedulerServiceStub(channel)
            if created is None:
                created = client.CreatePlan(pb.CreatePlanRequest(plan_id="line", scenario=document())).plan
            # everything acknowledged before the kill is still there, unchanged
            for event_id, (version, plan) in acked.items():
                assert rows(client.GetPlan(pb.GetPlanRequest(plan_id="line", version=version)).plan) == rows(plan), (
                    event_id
                )
            pending = [e for e in events if e.event_id not in acked]
            kill_at = rng.randint(1, 4)
            for k, event in enumerate(pending[: kill_at + 1]):
                call = client.ReportEvents.future(
                    pb.ReportEventsRequest(plan_id="line", events=[event_message(event)]), timeout=30
                )
                if k == kill_at:  # kill -9 while this call is in flight
                    time.sleep(rng.uniform(0.0, 0.03))
                    os.kill(process.pid, signal.SIGKILL)
                try:
                    answer = call.result()
                except grpc.RpcError as error:
                    assert k == kill_at and error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNKNOWN)
                    cut.add(event.event_id)
                    continue
                assert not answer.acks[0].duplicate or event.event_id in cut  # taken just before the kill
                acked[event.event_id] = (answer.acks[0].version, answer.plan)
            kills += 1
    assert created is not None and kills == 3
    with server_process(tmp_path, store_flags) as (_, addr), grpc.insecure_channel(addr) as channel:
        client = pb_grpc.SchedulerServiceStub(channel)
        for event in events:  # the rest of the shift; what was acknowledged comes back as duplicates
            answer = client.ReportEvents(pb.ReportEventsRequest(plan_id="line", events=[event_message(event)]))
            if event.event_id in acked:
                assert answer.acks[0].duplicate
            acked.setdefault(event.event_id, (answer.acks[0].version, answer.plan))
        final = client.GetPlan(pb.GetPlanRequest(plan_id="line")).plan
    replica, version = Replica(scenario(), created), 1
    for event in events:  # a replay of the acknowledged events with the plans they made is the plan
        event_version, plan = acked[event.event_id]
        replica.take(event, plan, changed=event_version > version)
        version = event_version
    assert rows(final) == {op: tuple(p) for op, p in replica.live.plan.items()}
    assert final.version == version
