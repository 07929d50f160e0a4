"""A real server on loopback port 0 in a thread with its own event loop, real channels,
a real SQLite file; and a checker for the plans the server sends."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import grpc

from scheduler.check import CheckReport
from scheduler.domain import Scenario
from scheduler.domain.events import Event
from scheduler.domain.files import load_scenario, parse_scenario
from scheduler.engine import LivePlan
from scheduler.engine.live import Foresight
from scheduler.service.config import ServerConfig
from scheduler.service.convert import event_message, pb, pb_grpc, schedule_of
from scheduler.service.convert import plan_rows as rows
from scheduler.service.server import Server, start_server

DATA = Path(__file__).resolve().parents[1] / "data"
ROOT = Path(__file__).resolve().parents[2]
SMALL = DATA / "small_line.yaml"


_LOOPS: dict[int, asyncio.AbstractEventLoop] = {}


def server_loop(server: Server) -> asyncio.AbstractEventLoop:
    """The event loop a server from :func:`running` runs on (to call its coroutines)."""
    return _LOOPS[id(server)]


@contextlib.contextmanager
def running(config: ServerConfig, predict: Foresight | None = None) -> Iterator[Server]:
    loop = asyncio.new_event_loop()
    started: Future[Server] = Future()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            started.set_result(loop.run_until_complete(start_server(config, predict)))
        except BaseException as error:
            started.set_exception(error)
            return
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    server = started.result(timeout=60)
    _LOOPS[id(server)] = loop
    try:
        yield server
    finally:
        _LOOPS.pop(id(server), None)
        asyncio.run_coroutine_threadsafe(server.stop(0), loop).result(timeout=60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=60)
        loop.close()


def config(data_dir: Path, **settings: object) -> ServerConfig:
    return ServerConfig(**{"addr": "127.0.0.1:0", "data_dir": data_dir, **settings})  # type: ignore[arg-type]


@contextlib.contextmanager
def stub(server: Server) -> Iterator[pb_grpc.SchedulerServiceStub]:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield pb_grpc.SchedulerServiceStub(channel)


def document(path: Path = SMALL) -> pb.ScenarioDocument:
    fmt = pb.DOCUMENT_FORMAT_JSON if path.suffix == ".json" else pb.DOCUMENT_FORMAT_YAML
    return pb.ScenarioDocument(format=fmt, content=path.read_bytes())


class Replica:
    """A local replay of what the server was told, to check every plan it sends."""

    def __init__(self, scenario: Scenario, first: pb.PlanVersion) -> None:
        self.live = LivePlan.create(scenario, schedule_of(rows(first)))
        assert self.live.check().valid

    def take(self, event: Event, version: pb.PlanVersion, changed: bool) -> CheckReport:
        self.live.replay(event, rows(version) if changed else None)
        report = self.live.check()
        assert report.valid, report.violations
        return report


def scenario(path: Path = SMALL) -> Scenario:
    return load_scenario(path)


def with_baseline(name: str, **repair: object) -> pb.ScenarioDocument:
    """A job-shop scenario with its stored base plan (no solve at creation) and repair settings."""
    data = json.loads((ROOT / "scenarios" / "jssp" / f"{name}.json").read_text())
    plan = json.loads((ROOT / "benchmarks" / "plans" / f"{name}.json").read_text())
    data["baseline"] = {"assignments": [{k: a[k] for k in ("operation_id", "machine_id", "start", "end")}
                                        for a in plan["assignments"]]}  # fmt: skip
    data.setdefault("policy", {})["repair"] = repair
    return pb.ScenarioDocument(format=pb.DOCUMENT_FORMAT_JSON, content=json.dumps(data).encode())


def verify(client: pb_grpc.SchedulerServiceStub, plan_id: str, scenario: Scenario, events: list[Event]) -> None:
    """Replay ``events`` (all acknowledged already) locally with the plans the server made
    for them and re-check each; resending an event returns its original acknowledgement."""
    replica = Replica(scenario, client.GetPlan(pb.GetPlanRequest(plan_id=plan_id, version=1)).plan)
    version = 1
    for event in events:
        ack = client.ReportEvents(pb.ReportEventsRequest(plan_id=plan_id, events=[event_message(event)])).acks[0]
        assert ack.duplicate
        plan = client.GetPlan(pb.GetPlanRequest(plan_id=plan_id, version=ack.version)).plan
        replica.take(event, plan, changed=ack.version > version)
        version = ack.version


def scenario_of(document: pb.ScenarioDocument) -> Scenario:
    return parse_scenario(json.loads(document.content))


@contextlib.contextmanager
def server_process(data: Path, flags: list[str]) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A real ``lean-scheduler serve`` process on loopback port 0 with ``flags`` (a store,
    ...), killed at the end: the process and its address."""
    port_file = data / "port"
    port_file.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "scheduler", "serve", "--addr", "127.0.0.1:0", "--data-dir", str(data),
         "--port-file", str(port_file), *flags],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (port_file.exists() and port_file.read_text().strip()):
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield process, f"127.0.0.1:{port_file.read_text().strip()}"
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)
