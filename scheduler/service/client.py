"""Client side: channels with TLS and tokens, and the MES simulator that replays a
scenario's event script against a server as the MES would."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc

from scheduler.domain import InputError, Scenario, Schedule
from scheduler.domain.events import Event
from scheduler.domain.schedule import Assignment
from scheduler.engine import LivePlan
from scheduler.engine.live import Position
from scheduler.gantt import render_gantt
from scheduler.problem import compile_problem
from scheduler.service.convert import TIER_NAMES, event_message, pb, pb_grpc


@dataclass(frozen=True)
class Connection:
    addr: str
    token: str | None = None
    ca: Path | None = None
    """With it, the channel uses TLS and trusts this CA."""
    cert: Path | None = None
    key: Path | None = None
    """With ``cert``: the client's certificate for mutual TLS."""

    def channel(self) -> grpc.Channel:
        if self.ca is None:
            return grpc.insecure_channel(self.addr)
        credentials = grpc.ssl_channel_credentials(
            root_certificates=self.ca.read_bytes(),
            private_key=self.key.read_bytes() if self.key else None,
            certificate_chain=self.cert.read_bytes() if self.cert else None,
        )
        return grpc.secure_channel(self.addr, credentials)

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()


def rows(version: pb.PlanVersion) -> dict[str, Position]:
    s = version.schedule
    return {
        op: (s.machine_ids[m], start, end)
        for op, m, start, end in zip(s.operation_ids, s.machine_indexes, s.start_ticks, s.end_ticks, strict=True)
    }


def schedule_of(plan: dict[str, Position]) -> Schedule:
    return Schedule(assignments=[Assignment(operation_id=op, machine_id=m, start=s, end=e)
                                 for op, (m, s, e) in plan.items()])  # fmt: skip


def document_of(path: Path) -> pb.ScenarioDocument:
    try:
        content = path.read_bytes()
    except OSError as error:
        raise InputError.single(str(path), f"cannot read: {error.strerror}") from None
    fmt = pb.DOCUMENT_FORMAT_JSON if path.suffix.lower() == ".json" else pb.DOCUMENT_FORMAT_YAML
    return pb.ScenarioDocument(format=fmt, content=content)


@dataclass(frozen=True)
class Row:
    event_id: str
    latency_ms: float
    """End to end, as the MES sees it."""
    version: int
    receipt: pb.Receipt


def mes_sim(
    connection: Connection,
    scenario_path: Path,
    scenario: Scenario,
    events: list[Event],
    speed: float,
    plan_id: str = "",
    budget_ms: int | None = None,
) -> Iterator[tuple[pb.PlanVersion, Row | None]]:
    """Create the plan, then send each event when its time comes (``speed`` x real time;
    0: at once), one call per event as an MES does. Yields (plan, row) per step, the
    created plan first with no row."""
    unit = scenario.time_unit.seconds or 1
    with connection.channel() as channel:
        client = pb_grpc.SchedulerServiceStub(channel)
        created = client.CreatePlan(pb.CreatePlanRequest(plan_id=plan_id, scenario=document_of(scenario_path)),
                                    metadata=connection.metadata).plan  # fmt: skip
        yield created, None
        clock, last = time.monotonic(), events[0].time if events else 0
        for event in events:
            if speed > 0:
                clock += (event.time - last) * unit / speed
                time.sleep(max(0.0, clock - time.monotonic()))
            last = event.time
            request = pb.ReportEventsRequest(plan_id=created.plan_id, events=[event_message(event)])
            if budget_ms:
                request.budget.FromMilliseconds(budget_ms)
            began = time.perf_counter()
            answer = client.ReportEvents(request, metadata=connection.metadata)
            latency = (time.perf_counter() - began) * 1000
            ack = answer.acks[0]
            yield answer.plan, Row(event.event_id, latency, ack.version, ack.receipt)


_COLUMNS = (("event", 12), ("latency ms", 10), ("tier", 11), ("solver", 11), ("moved", 5), ("makespan", 13),
            ("version", 7), ("valid", 5))  # fmt: skip


def header() -> str:
    return "  " + "  ".join(name.ljust(width) for name, width in _COLUMNS)


def row_line(r: Row) -> str:
    """One event's line, printed as its answer comes."""
    cells = (r.event_id, f"{r.latency_ms:.0f}", TIER_NAMES.get(r.receipt.tier, "?"), r.receipt.solver_status,
             str(r.receipt.moved_operations), f"{r.receipt.makespan_before} -> {r.receipt.makespan_after}",
             str(r.version), "yes" if r.receipt.valid else "NO")  # fmt: skip
    return "  " + "  ".join(cell.ljust(width) for cell, (_, width) in zip(cells, _COLUMNS, strict=True))


def replay_gantt(scenario: Scenario, first: pb.PlanVersion, steps: list[tuple[Event, pb.PlanVersion, bool]]) -> str:
    """The before/after chart, the after plan checked in the situation the events made."""
    live = LivePlan.create(scenario, schedule_of(rows(first)))
    before = compile_problem(scenario)
    start = live.timetable(before)
    for event, version, changed in steps:
        live.replay(event, rows(version) if changed else None)
    report = live.check()
    if not report.valid:
        raise RuntimeError(f"the server's plan does not check: {report.violations[0].message}")
    problem = live.problem()
    panels = [("plan before the events", before, start), ("repaired by the server", problem, live.timetable(problem))]
    return render_gantt(panels, f"{scenario.name}: MES replay")


def write_result(path: Path, last: pb.PlanVersion, rows_: list[Row]) -> None:
    document = {
        "plan_id": last.plan_id,
        "version": last.version,
        "makespan": last.kpis.makespan,
        "events": [
            {"event_id": r.event_id, "latency_ms": round(r.latency_ms, 2), "version": r.version,
             "tier": TIER_NAMES.get(r.receipt.tier, "?"), "solver_status": r.receipt.solver_status,
             "moved_operations": r.receipt.moved_operations, "makespan_before": r.receipt.makespan_before,
             "makespan_after": r.receipt.makespan_after, "valid": r.receipt.valid}
            for r in rows_
        ],
    }  # fmt: skip
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
