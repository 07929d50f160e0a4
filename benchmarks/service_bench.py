"""The gRPC service, measured end to end on loopback against a real server process.

Usage (repository root, project installed)::

    python benchmarks/service_bench.py latency --events 200      # ReportEvents on the demo line
    python benchmarks/service_bench.py plan-size --calls 300      # a 2000-operation plan in a response
    python benchmarks/service_bench.py kill --cycles 20           # kill -9 during event streams

``latency``: one ReportEvents call per event (a seeded shift of stops and restarts on the
demo line, time-ordered), as an MES sends them; the latency is the client's, from call to
answer. ``plan-size``: GetPlan of ta71 (2000 operations, schedule as packed columns),
building, sending and decoding included. ``kill``: the server is killed with SIGKILL while
a call is in flight, restarted, and every acknowledged event must still be there with the
plan it made.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))

from disruptions import downtime_pairs

from scheduler.client import scenario_document as document_of
from scheduler.domain.files import load_scenario
from scheduler.service.convert import event_message, pb, pb_grpc
from scheduler.service.convert import plan_rows as rows

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "demo_line.yaml"


@contextmanager
def server(data: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port_file = data / "port"
    port_file.unlink(missing_ok=True)
    process = subprocess.Popen([sys.executable, "-m", "scheduler", "serve", "--addr", "127.0.0.1:0",
                                "--data-dir", str(data), "--port-file", str(port_file)],
                               cwd=ROOT, stdout=subprocess.DEVNULL)  # fmt: skip
    while not (port_file.exists() and port_file.read_text().strip()):
        if process.poll() is not None:
            raise SystemExit("the server did not start")
        time.sleep(0.05)
    try:
        yield process, f"127.0.0.1:{port_file.read_text().strip()}"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(60)


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p = {q: ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] for q in (50, 95, 99)}
    return f"p50 {p[50]:.1f} / p95 {p[95]:.1f} / p99 {p[99]:.1f} / max {ordered[-1]:.1f} ms"


def latency(count: int, seed: int) -> dict[str, object]:
    scenario = load_scenario(DEMO)
    budget = scenario.policy.repair.budget_ms
    with tempfile.TemporaryDirectory() as tmp, server(Path(tmp)) as (_, addr), grpc.insecure_channel(addr) as channel:
        client = pb_grpc.SchedulerServiceStub(channel)
        plan = client.CreatePlan(pb.CreatePlanRequest(plan_id="demo", scenario=document_of(DEMO))).plan
        machines = sorted({m for m, _, _ in rows(plan).values()})
        events = downtime_pairs(machines, plan.kpis.makespan, count, seed)
        samples: list[float] = []
        tiers: dict[str, int] = {}
        invalid = 0
        for event in events:
            began = time.perf_counter()
            answer = client.ReportEvents(pb.ReportEventsRequest(plan_id="demo", events=[event_message(event)]))
            samples.append((time.perf_counter() - began) * 1000)
            receipt = answer.acks[0].receipt
            tier = pb.RepairTier.Name(receipt.tier).removeprefix("REPAIR_TIER_").lower()
            tiers[tier] = tiers.get(tier, 0) + 1
            invalid += not receipt.valid
    over = sum(s > budget + 30 for s in samples)
    print(f"ReportEvents, demo line ({len(rows(plan))} operations), {len(samples)} events, budget {budget} ms: "
          f"{percentiles(samples)}; over budget + 30 ms: {over}; invalid: {invalid}; tiers: {tiers}")  # fmt: skip
    return {"events": len(samples), "budget_ms": budget, "latency_ms": samples, "tiers": tiers, "invalid": invalid}


def plan_size(calls: int) -> dict[str, object]:
    data = json.loads((ROOT / "scenarios" / "jssp" / "ta71.json").read_text())
    stored = json.loads((ROOT / "benchmarks" / "plans" / "ta71.json").read_text())
    data["baseline"] = {"assignments": [{k: a[k] for k in ("operation_id", "machine_id", "start", "end")}
                                        for a in stored["assignments"]]}  # fmt: skip
    document = pb.ScenarioDocument(format=pb.DOCUMENT_FORMAT_JSON, content=json.dumps(data).encode())
    with tempfile.TemporaryDirectory() as tmp, server(Path(tmp)) as (_, addr), grpc.insecure_channel(addr) as channel:
        client = pb_grpc.SchedulerServiceStub(channel)
        client.CreatePlan(pb.CreatePlanRequest(plan_id="ta71", scenario=document))
        samples, size = [], 0
        for k in range(calls + 20):
            began = time.perf_counter()
            plan = client.GetPlan(pb.GetPlanRequest(plan_id="ta71")).plan
            if k >= 20:  # warm-up calls not counted
                samples.append((time.perf_counter() - began) * 1000)
            size = plan.ByteSize()
    print(f"GetPlan, ta71 ({len(plan.schedule.operation_ids)} operations, {size / 1024:.0f} KiB as packed columns), "
          f"{calls} calls: {percentiles(samples)}")  # fmt: skip
    return {"calls": calls, "bytes": size, "latency_ms": samples}


def kill(cycles: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    lost, acked_total = 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        acked: dict[str, tuple[int, dict[str, tuple[str, int, int]]]] = {}
        events = []
        for cycle in range(cycles):
            with server(data) as (process, addr), grpc.insecure_channel(addr) as channel:
                client = pb_grpc.SchedulerServiceStub(channel)
                if cycle == 0:
                    plan = client.CreatePlan(pb.CreatePlanRequest(plan_id="demo", scenario=document_of(DEMO))).plan
                    machines = sorted({m for m, _, _ in rows(plan).values()})
                    events = downtime_pairs(machines, plan.kpis.makespan, 40 * cycles, seed)
                for version, plan_rows in acked.values():
                    stored = client.GetPlan(pb.GetPlanRequest(plan_id="demo", version=version)).plan
                    lost += rows(stored) != plan_rows
                pending = [e for e in events if e.event_id not in acked]
                kill_at = rng.randint(1, 6)
                for k, event in enumerate(pending[: kill_at + 1]):
                    call = client.ReportEvents.future(
                        pb.ReportEventsRequest(plan_id="demo", events=[event_message(event)]), timeout=60
                    )
                    if k == kill_at:
                        time.sleep(rng.uniform(0.0, 0.5))
                        os.kill(process.pid, signal.SIGKILL)
                    try:
                        answer = call.result()
                    except grpc.RpcError:
                        continue
                    acked[event.event_id] = (answer.acks[0].version, rows(answer.plan))
        with server(data) as (_, addr), grpc.insecure_channel(addr) as channel:
            client = pb_grpc.SchedulerServiceStub(channel)
            for version, plan_rows in acked.values():
                stored = client.GetPlan(pb.GetPlanRequest(plan_id="demo", version=version)).plan
                lost += rows(stored) != plan_rows
            acked_total = len(acked)
    print(f"kill -9 during event streams: {cycles} cycles, {acked_total} events acknowledged, {lost} lost or changed")
    return {"cycles": cycles, "acknowledged": acked_total, "lost": lost}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("what", choices=["latency", "plan-size", "kill"])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"grpcio {grpc.__version__}")  # fmt: skip
    if args.what == "latency":
        result = latency(args.events, args.seed)
    elif args.what == "plan-size":
        result = plan_size(args.calls)
    else:
        result = kill(args.cycles, args.seed)
    if args.out:
        args.out.write_text(json.dumps(result))
    if result.get("lost") or result.get("invalid"):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
