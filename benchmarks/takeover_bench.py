"""Takeover time of a plan when its replica dies: from kill -9 of the owner to the first
successful call on another replica (a client retrying every 20 ms), and after a graceful
stop (SIGTERM: the leases are released).

A real PostgreSQL server (the distribution's binaries, as the tests use it) and real
``lean-scheduler serve`` processes on loopback. Replica B runs throughout; each round starts
a new owner A, creates a plan on it from the demo line, reports ``--events`` downtimes (so
the taker replays a log), stops A and times how long B takes to answer for the plan.

    python benchmarks/takeover_bench.py --leases 2,5 --rounds 3 --events 40
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402

from scheduler.domain.events import DowntimeEnded, DowntimeStarted, Event  # noqa: E402
from scheduler.service.convert import event_message, pb, pb_grpc  # noqa: E402
from tests.postgres import binaries_or_skip, postgres_server  # noqa: E402
from tests.service.harness import document, server_process  # noqa: E402

DEMO = ROOT / "scenarios" / "demo_line.yaml"


def _events(count: int) -> list[pb.Event]:
    found: list[Event] = []
    for k in range(count // 2):
        found.append(DowntimeStarted(event_id=f"s{k}", time=1 + 4 * k, machine="WELD-1", downtime_id=f"d{k}"))
        found.append(DowntimeEnded(event_id=f"e{k}", time=3 + 4 * k, machine="WELD-1", downtime_id=f"d{k}"))
    return [event_message(e) for e in found]


def _wait_for(client: pb_grpc.SchedulerServiceStub, plan_id: str, since: float) -> float:
    while True:
        try:
            client.GetPlan(pb.GetPlanRequest(plan_id=plan_id), timeout=30)
            return time.monotonic() - since
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.FAILED_PRECONDITION or time.monotonic() - since > 120:
                raise
            time.sleep(0.02)


def round_trip(
    taker: pb_grpc.SchedulerServiceStub, folder: Path, url: str, lease: float, k: int, events: int, how: signal.Signals
) -> float:
    """One owner started, loaded with a plan and its events, stopped by ``how``: the time
    until ``taker`` answers for the plan."""
    owner = folder / f"A{k}"
    owner.mkdir()
    flags = ["--store", url, "--lease-s", str(lease), "--replica-id", f"A{k}"]
    with server_process(owner, flags) as (process, addr), grpc.insecure_channel(addr) as channel:
        client = pb_grpc.SchedulerServiceStub(channel)
        plan_id = f"line{k}"
        client.CreatePlan(pb.CreatePlanRequest(plan_id=plan_id, scenario=document(DEMO)), timeout=120)
        client.ReportEvents(pb.ReportEventsRequest(plan_id=plan_id, events=_events(events)), timeout=600)
        os.kill(process.pid, how)
        return _wait_for(taker, plan_id, time.monotonic())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leases", default="2,5", help="lease lengths in seconds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    args = parser.parse_args()
    results: dict[str, list[float]] = {}
    with postgres_server(binaries_or_skip()) as server, tempfile.TemporaryDirectory() as folder:
        url = server.database("takeover")
        for lease in [float(x) for x in args.leases.split(",")]:
            taker = Path(folder) / f"B{lease:g}"
            taker.mkdir()
            flags = ["--store", url, "--lease-s", str(lease), "--replica-id", f"B{lease:g}"]
            with server_process(taker, flags) as (_, addr), grpc.insecure_channel(addr) as channel:
                client = pb_grpc.SchedulerServiceStub(channel)
                for how in (signal.SIGKILL, signal.SIGTERM):
                    key = f"lease {lease:g} s, {how.name}"
                    for k in range(args.rounds):
                        took = round_trip(client, Path(folder), url, lease, len(results) * 100 + k, args.events, how)
                        results.setdefault(key, []).append(took)
                    times = results[key]
                    print(f"{key}: takeover {statistics.median(times):.2f} s median, "
                          f"{min(times):.2f} to {max(times):.2f} s over {len(times)} rounds", flush=True)  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
