"""Replicas: real ``serve`` processes sharing one real PostgreSQL database split its plans
through leases. A call for a plan another replica owns is refused naming it; after kill -9
of the owner another replica takes the plan over once the lease expires, with every
acknowledged event, and goes on taking new ones."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import grpc
import pytest

from scheduler.client import owner_of
from scheduler.service.convert import event_message, pb, pb_grpc
from scheduler.service.convert import plan_rows as rows
from tests.postgres import connect
from tests.service.harness import document, scenario, server_process, verify
from tests.service.test_durability import shift

LEASE_S = 2.0
SWEEP = pb.SweepDocument(content=b"axes: {conwip: [2, 4]}\nhorizon: 50\nreplications: 1")
_DATABASES = itertools.count(1)
Running = tuple[subprocess.Popen[bytes], str, pb_grpc.SchedulerServiceStub]
"""A replica's process, address and client."""


@pytest.fixture
def database(postgres) -> str:
    return str(postgres.database(f"replicas{next(_DATABASES)}"))


@contextlib.contextmanager
def replicas(tmp_path, database: str, *names: str) -> Iterator[dict[str, Running]]:
    """Started one after the other (each ``serve`` with its own replica id): name -> (process,
    address, client)."""
    with contextlib.ExitStack() as stack:
        found = {}
        for name in names:
            (tmp_path / name).mkdir()
            flags = ["--store", database, "--lease-s", str(LEASE_S), "--replica-id", name]
            process, addr = stack.enter_context(server_process(tmp_path / name, flags))
            channel = stack.enter_context(grpc.insecure_channel(addr))
            found[name] = (process, addr, pb_grpc.SchedulerServiceStub(channel))
        yield found


def refusal(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as refused:
        call()
    return refused.value


def assert_elsewhere(error: grpc.RpcError, owner: str, addr: str) -> None:
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error.details()
    assert f"replica {owner!r} at {addr}" in (error.details() or "")
    assert owner_of(error) == addr  # the client's helper reads the server's metadata


def report(client: pb_grpc.SchedulerServiceStub, event, plan_id: str = "line", **options) -> pb.ReportEventsResponse:
    request = pb.ReportEventsRequest(plan_id=plan_id, events=[event_message(event)])
    return client.ReportEvents(request, timeout=60, **options)


def test_a_call_for_a_plan_another_replica_owns_is_refused_naming_it(tmp_path, database):
    events = shift(3)
    with replicas(tmp_path, database, "A", "B") as running_replicas:
        (_, a_addr, a), (_, b_addr, b) = running_replicas["A"], running_replicas["B"]
        a.CreatePlan(pb.CreatePlanRequest(plan_id="line", scenario=document()))
        assert report(a, events[0]).acks[0].version == 2
        for call in (
            lambda: b.GetPlan(pb.GetPlanRequest(plan_id="line")),
            lambda: report(b, events[1]),
            lambda: b.DeletePlan(pb.DeletePlanRequest(plan_id="line")),
            lambda: list(b.SweepScenarios(pb.SweepScenariosRequest(plan_id="line", sweep=SWEEP), timeout=60)),
        ):
            assert_elsewhere(refusal(call), "A", a_addr)
        taken = report(a, events[1])  # the refused calls changed nothing on the owner
        assert taken.acks[0].version == 3 and not taken.acks[0].duplicate
        # a plan id is unique across the replicas; a plan made on B is B's
        again = refusal(lambda: b.CreatePlan(pb.CreatePlanRequest(plan_id="line", scenario=document())))
        assert again.code() == grpc.StatusCode.INVALID_ARGUMENT and "already exists" in (again.details() or "")
        b.CreatePlan(pb.CreatePlanRequest(plan_id="other", scenario=document()))
        assert_elsewhere(refusal(lambda: a.GetPlan(pb.GetPlanRequest(plan_id="other"))), "B", b_addr)
        assert {p.plan_id for p in a.ListPlans(pb.ListPlansRequest()).plans} == {"line"}
        missing = refusal(lambda: b.GetPlan(pb.GetPlanRequest(plan_id="none")))
        assert missing.code() == grpc.StatusCode.NOT_FOUND and owner_of(missing) is None


def kill_during(process, client, event, acked) -> float:
    """kill -9 the owner while it takes ``event``; its acknowledgement, if it came, joins
    ``acked``. The time of the kill."""
    in_flight = client.ReportEvents.future(
        pb.ReportEventsRequest(plan_id="line", events=[event_message(event)]), timeout=30
    )
    os.kill(process.pid, signal.SIGKILL)
    killed = time.monotonic()
    with contextlib.suppress(grpc.RpcError):
        answer = in_flight.result()
        acked[event.event_id] = (answer.acks[0].version, answer.plan)
    return killed


def take_over(taker, dead: str, dead_addr: str, killed: float, acked) -> None:
    """Retry on ``taker`` as a client would while the dead owner's lease runs; then every
    acknowledged version is there, unchanged (the event in flight at the kill is there or
    not, whole)."""
    refusals = 0
    while True:
        try:
            latest = taker.GetPlan(pb.GetPlanRequest(plan_id="line"), timeout=30).plan
            break
        except grpc.RpcError as error:
            assert_elsewhere(error, dead, dead_addr)
            refusals += 1
            assert time.monotonic() - killed < LEASE_S + 30, "the plan was never taken over"
            time.sleep(0.05)
    took = time.monotonic() - killed
    print(f"takeover after kill -9 of {dead}: {took:.2f} s (lease {LEASE_S} s, {refusals} refusals before)")
    assert refusals >= 1  # not before the lease expired
    assert took < LEASE_S + 10
    for event_id, (version, plan) in acked.items():
        assert rows(taker.GetPlan(pb.GetPlanRequest(plan_id="line", version=version)).plan) == rows(plan), event_id
    assert latest.version >= max(version for version, _ in acked.values())


def go_on(client, events, acked, in_flight) -> None:
    """The shift goes on at the taker; what was acknowledged comes back as duplicates (and
    the event in flight at a kill may have been committed without its answer)."""
    for event in events:
        answer = report(client, event)
        assert answer.acks[0].duplicate == (event.event_id in acked) or event.event_id in in_flight
        acked.setdefault(event.event_id, (answer.acks[0].version, answer.plan))


def test_after_kill_9_of_the_owner_another_replica_takes_over_with_every_acknowledged_event(tmp_path, database):
    events = shift(12)
    acked: dict[str, tuple[int, pb.PlanVersion]] = {}
    with replicas(tmp_path, database, "A", "B", "C") as running_replicas:
        (a_process, a_addr, a), (b_process, b_addr, b), (_, _, c) = running_replicas.values()
        a.CreatePlan(pb.CreatePlanRequest(plan_id="line", scenario=document()))
        go_on(a, events[:4], acked, set())
        killed = kill_during(a_process, a, events[4], acked)
        take_over(b, "A", a_addr, killed, acked)
        go_on(b, events[4:8], acked, {events[4].event_id})
        assert_elsewhere(refusal(lambda: c.GetPlan(pb.GetPlanRequest(plan_id="line"))), "B", b_addr)
        killed = kill_during(b_process, b, events[8], acked)  # and the taker dies too
        take_over(c, "B", b_addr, killed, acked)
        go_on(c, events[8:], acked, {events[4].event_id, events[8].event_id})
        verify(c, "line", scenario(), events)  # all duplicates now, each plan valid and replayed
        assert c.GetPlan(pb.GetPlanRequest(plan_id="line")).plan.version == max(v for v, _ in acked.values())


def test_a_replica_whose_lease_is_taken_over_ends_its_watches_and_names_the_new_owner(tmp_path, database):
    with replicas(tmp_path, database, "A", "B") as running_replicas:
        (_, _, a), (_, b_addr, b) = running_replicas["A"], running_replicas["B"]
        a.CreatePlan(pb.CreatePlanRequest(plan_id="line", scenario=document()))
        stream = iter(a.WatchPlan(pb.WatchPlanRequest(plan_id="line"), timeout=60))
        assert next(stream).plan.version == 1
        with connect(database, autocommit=True) as db:  # A's lease runs out (as after a long pause)
            db.execute("UPDATE plan_leases SET expires_at = now() - interval '1 second'")
        b.GetPlan(pb.GetPlanRequest(plan_id="line"))  # B takes the plan over
        with pytest.raises(grpc.RpcError) as ended:
            next(stream)  # A's next renewal finds the lease lost: the watch ends
        assert ended.value.code() == grpc.StatusCode.UNAVAILABLE, ended.value.details()
        assert "no longer served here" in (ended.value.details() or "")
        assert_elsewhere(refusal(lambda: a.GetPlan(pb.GetPlanRequest(plan_id="line"))), "B", b_addr)


def test_a_replica_stopped_gracefully_gives_its_plans_up_at_once(tmp_path, database):
    with replicas(tmp_path, database, "A", "B") as running_replicas:
        (process, _, a), (_, _, b) = running_replicas["A"], running_replicas["B"]
        made = a.CreatePlan(pb.CreatePlanRequest(plan_id="line", scenario=document())).plan
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        began = time.monotonic()
        assert rows(b.GetPlan(pb.GetPlanRequest(plan_id="line")).plan) == rows(made)
        assert time.monotonic() - began < LEASE_S / 2  # released, not waited out


@pytest.mark.parametrize(
    ("lease", "expected"),
    [
        ("0.2", "lease_s: a lease lasts 0.5 to 3600 s (0: no replicas), got 0.2"),
        ("1", "lease_s: replicas need a PostgreSQL store (--store postgresql://...), not /"),
    ],
)
def test_bad_replica_settings_are_refused_in_one_line(tmp_path, lease, expected):
    command = ["serve", "--addr", "127.0.0.1:0", "--data-dir", str(tmp_path), "--lease-s", lease]
    done = subprocess.run([sys.executable, "-m", "scheduler.cli", *command], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith(f"lean-scheduler: error: {expected}")
    assert "Traceback" not in done.stderr
