"""Structured logs: the ids bound per call and per event reach every record (also those of
the worker threads and CP-SAT's search log); the CLI writes one JSON object a line."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from scheduler import logs
from scheduler.domain import InputError
from scheduler.domain.tiers import TierName
from scheduler.engine import Ack, EventRejected
from scheduler.repair import Receipt
from scheduler.service.convert import pb, pb_grpc
from scheduler.service.metrics import Metrics
from scheduler.service.observe import Observer
from tests.service.harness import ROOT, config, document, running, stub
from tests.service.test_metrics import down


@contextlib.contextmanager
def captured(fmt: logs.LogFormat = "json", debug: tuple[str, ...] = ()) -> Iterator[io.StringIO]:
    """What the root logger writes in ``fmt`` at INFO (``debug``: these loggers at DEBUG) while inside."""
    stream, root = io.StringIO(), logging.getLogger()
    handler = logs.handler(fmt, stream)
    before = {name: logging.getLogger(name).level for name in ("", *debug)}
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in debug:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for name, level in before.items():
            logging.getLogger(name).setLevel(level)


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_refusals_overruns_and_taken_events_carry_the_bound_ids(tmp_path):
    debug = ("scheduler.service", "scheduler.solver")
    with captured(debug=debug) as stream, running(config(tmp_path)) as server, stub(server) as client:
        client.CreatePlan(pb.CreatePlanRequest(plan_id="line-1", scenario=document()))
        ack = client.ReportEvents(pb.ReportEventsRequest(plan_id="line-1", events=[down("s1", 10)])).acks[0]
        with pytest.raises(grpc.RpcError):
            client.ReportEvents(pb.ReportEventsRequest(plan_id="line-1", events=[down("bad", 12, "LASER-9")]))
    found = records(stream)

    refused = [r for r in found if r["message"].startswith("event refused")]
    assert [(r["level"], r["plan_id"], r["event_id"], r["source"], r["reason"]) for r in refused] == [
        ("WARNING", "line-1", "bad", "mes", "invalid")
    ]
    assert "events[0].downtime_started.machine: unknown machine 'LASER-9'" in refused[0]["message"]
    # the engine's own line, logged in a solve thread: the call's plan id went along with the work
    engine = next(r for r in found if r["logger"] == "scheduler.engine.book" and "refused" in r["message"])
    assert (engine["plan_id"], engine["event_id"], engine["source"]) == ("line-1", "bad", "mes")

    taken = next(r for r in found if r["message"].startswith("event downtime_started taken"))
    assert (taken["plan_id"], taken["event_id"], taken["source"], taken["version"]) == ("line-1", "s1", "mes", 2)
    ends = [r for r in found if r["logger"] == "scheduler.service.calls" and r["method"].endswith("/ReportEvents")]
    assert [(r["code"], r["plan_id"]) for r in ends] == [("OK", "line-1"), ("INVALID_ARGUMENT", "line-1")]

    assert ack.receipt.solver_status != "not_run"  # CP-SAT ran for s1 (deterministic settings)
    search = [r for r in found if r["message"].startswith("cp-sat: ")]  # the first plan's solve, then s1's repair
    assert search and all(r["plan_id"] == "line-1" for r in search)
    repair = [r for r in search if r.get("event_id") == "s1"]
    assert any("CpSolverResponse summary" in r["message"] for r in repair)

    overruns = [r for r in found if r["message"].startswith("repair over budget")]
    assert len(overruns) == (ack.receipt.latency_ms > ack.receipt.budget_ms)  # logged exactly when it happened


def test_the_text_format_puts_the_fields_after_the_message():
    with captured("text") as stream, logs.bound(plan_id="p", event_id="e7", version=None):
        logging.getLogger("scheduler.test").warning("over budget")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("scheduler.test").exception("failed")
    first, second, *trace = stream.getvalue().splitlines()
    assert first.endswith(" WARNING scheduler.test: over budget [plan_id=p event_id=e7]")
    assert second.endswith("failed [plan_id=p event_id=e7]") and trace[-1] == "ValueError: boom"


def test_serve_log_format_json_writes_one_object_a_line(tmp_path):
    port_file = tmp_path / "port"
    command = [sys.executable, "-m", "scheduler", "serve", "--addr", "127.0.0.1:0", "--data-dir", str(tmp_path),
               "--port-file", str(port_file), "--log-format", "json"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        with grpc.insecure_channel(f"127.0.0.1:{port_file.read_text().strip()}") as channel:
            client = pb_grpc.SchedulerServiceStub(channel)
            client.CreatePlan(pb.CreatePlanRequest(plan_id="p", scenario=document()))
            with pytest.raises(grpc.RpcError):
                client.ReportEvents(pb.ReportEventsRequest(plan_id="p", events=[down("e9", 12, "LASER-9")]))
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
    lines = [json.loads(line) for line in err.splitlines()]  # every line is JSON
    refused = [r for r in lines if r["message"].startswith("event refused")]
    assert [(r["plan_id"], r["event_id"], r["source"], r["reason"]) for r in refused] == [("p", "e9", "mes", "invalid")]
    assert lines[-1]["message"] == "shutting down: finishing calls in flight" and process.returncode == 0


def test_an_overrun_is_counted_and_logged_with_its_tier_latency_and_budget():
    receipt = Receipt(event_id="slow", tier=TierName.CP_SAT, solver_status="feasible", reason="", latency_ms=420.5,
                      budget_ms=300, makespan_before=90, makespan_after=95, weighted_tardiness_before=0,
                      weighted_tardiness_after=0, bottleneck_idle_before=0, bottleneck_idle_after=0,
                      moved_operations=3, total_abs_shift=12, machine_reassignments=0, neighbourhood=6, valid=True,
                      violations=())  # fmt: skip
    messages = [down("slow", 10), down("next", 11, downtime_id="d-slow")]
    refused = EventRejected(1, InputError.single("event.downtime_id", "downtime 'd-slow' has already started"),
                            [Ack("slow", "mes", 2, receipt)])  # fmt: skip
    observer = Observer(Metrics())
    with captured() as stream, pytest.raises(EventRejected), observer.refusals("line-1", messages):
        raise refused
    over, no = records(stream)
    fields = ("plan_id", "event_id", "version", "tier", "latency_ms", "budget_ms")
    assert [over[f] for f in fields] == ["line-1", "slow", 2, "cp_sat", 420.5, 300]
    assert over["message"] == "repair over budget: cp_sat took 420.5 of 300 ms" and over["level"] == "WARNING"
    assert (no["event_id"], no["reason"]) == ("next", "contradiction")
    registry = observer.metrics.registry
    assert registry.get_sample_value("lean_scheduler_budget_overruns_total", {"tier": "cp_sat"}) == 1
    assert registry.get_sample_value("lean_scheduler_repair_duration_seconds_count", {"tier": "cp_sat"}) == 1
    assert registry.get_sample_value("lean_scheduler_events_refused_total", {"reason": "contradiction"}) == 1
