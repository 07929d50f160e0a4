"""``lean-scheduler mes-sim``: replay a scenario's event script against a server as the
MES would, one call per event, and check the server's final plan locally."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scheduler.cli.output import write
from scheduler.cli.remote import connection, document, remote
from scheduler.cli.solving import script
from scheduler.client import Connection, PlanVersion, Receipt, SchedulerClient
from scheduler.domain import Scenario
from scheduler.domain.events import Event
from scheduler.engine import LivePlan
from scheduler.gantt import render_gantt
from scheduler.problem import compile_problem
from scheduler.service.convert import TIER_NAMES, event_message, plan_rows, schedule_of


@dataclass(frozen=True)
class Row:
    event_id: str
    latency_ms: float
    """End to end, as the MES sees it."""
    version: int
    receipt: Receipt


def simulate(
    server: Connection,
    scenario_path: Path,
    scenario: Scenario,
    events: list[Event],
    speed: float,
    plan_id: str = "",
    budget_ms: int | None = None,
) -> Iterator[tuple[PlanVersion, Row | None]]:
    """Create the plan, then send each event when its time comes (``speed`` x real time;
    0: at once), one call per event as an MES does. Yields (plan, row) per step, the
    created plan first with no row."""
    unit = scenario.time_unit.seconds or 1
    with SchedulerClient(server) as client:
        created = client.create_plan(document(scenario_path), plan_id=plan_id)
        yield created, None
        clock, last = time.monotonic(), events[0].time if events else 0
        for event in events:
            if speed > 0:
                clock += (event.time - last) * unit / speed
                time.sleep(max(0.0, clock - time.monotonic()))
            last = event.time
            began = time.perf_counter()
            answer = client.report_events(created.plan_id, [event_message(event)], budget_ms=budget_ms)
            latency = (time.perf_counter() - began) * 1000
            ack = answer.acks[0]
            yield answer.plan, Row(event.event_id, latency, ack.version, ack.receipt)


_COLUMNS = (("event", 12), ("latency ms", 10), ("tier", 11), ("solver", 11), ("moved", 5), ("makespan", 13),
            ("version", 7), ("valid", 5), ("degraded", 8))  # fmt: skip


def header() -> str:
    return "  " + "  ".join(name.ljust(width) for name, width in _COLUMNS)


def row_line(r: Row) -> str:
    """One event's line, printed as its answer comes."""
    cells = (r.event_id, f"{r.latency_ms:.0f}", TIER_NAMES.get(r.receipt.tier, "?"), r.receipt.solver_status,
             str(r.receipt.moved_operations), f"{r.receipt.makespan_before} -> {r.receipt.makespan_after}",
             str(r.version), "yes" if r.receipt.valid else "NO", "YES" if r.receipt.degraded else "no")  # fmt: skip
    line = "  " + "  ".join(cell.ljust(width) for cell, (_, width) in zip(cells, _COLUMNS, strict=True))
    return line + (f"\n    degraded: {r.receipt.degraded}" if r.receipt.degraded else "")


def replay_gantt(scenario: Scenario, first: PlanVersion, steps: list[tuple[Event, PlanVersion, bool]]) -> str:
    """The before/after chart, the after plan checked in the situation the events made."""
    live = LivePlan.create(scenario, schedule_of(plan_rows(first)))
    before = compile_problem(scenario)
    start = live.timetable(before)
    for event, version, changed in steps:
        live.replay(event, plan_rows(version) if changed else None)
    report = live.check()
    if not report.valid:
        raise RuntimeError(f"the server's plan does not check: {report.violations[0].message}")
    problem = live.problem()
    panels = [("plan before the events", before, start), ("repaired by the server", problem, live.timetable(problem))]
    return render_gantt(panels, f"{scenario.name}: MES replay")


def write_result(path: Path, last: PlanVersion, rows: list[Row]) -> None:
    document = {
        "plan_id": last.plan_id,
        "version": last.version,
        "makespan": last.kpis.makespan,
        "events": [
            {"event_id": r.event_id, "latency_ms": round(r.latency_ms, 2), "version": r.version,
             "tier": TIER_NAMES.get(r.receipt.tier, "?"), "solver_status": r.receipt.solver_status,
             "moved_operations": r.receipt.moved_operations, "makespan_before": r.receipt.makespan_before,
             "makespan_after": r.receipt.makespan_after, "valid": r.receipt.valid,
             "degraded": r.receipt.degraded}
            for r in rows
        ],
    }  # fmt: skip
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


@remote
def mes_sim(args: argparse.Namespace) -> int:
    scenario, events = script(args)
    rows: list[Row] = []
    steps = []
    first = last = None
    print(f"{scenario.name}: creating the plan on {args.addr}, then {len(events)} event(s)", flush=True)
    for plan, row in simulate(connection(args), args.scenario, scenario, events, args.speed, args.plan_id,
                              args.budget_ms):  # fmt: skip
        if row is None:
            first = last = plan
            print(f"plan {plan.plan_id} version 1: makespan {plan.kpis.makespan}", flush=True)
            print(header(), flush=True)
            continue
        assert last is not None
        steps.append((events[len(rows)], plan, row.version != last.version))
        rows.append(row)
        last = plan
        print(row_line(row), flush=True)
    assert first is not None and last is not None
    if args.out:
        write_result(args.out, last, rows)
    if args.gantt:
        write(args.gantt, replay_gantt(scenario, first, steps), "--gantt")
    return 0 if all(r.receipt.valid for r in rows) else 1
