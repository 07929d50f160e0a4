"""``lean-scheduler simulate``: the shop-floor twin runs a scenario's plan with noise,
slowdowns and breakdowns, reporting to an engine in this process or to a running server."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import yaml

from scheduler.cli.output import writable, write
from scheduler.cli.remote import connection, remote
from scheduler.client import SchedulerClient, scenario_document
from scheduler.domain import Scenario
from scheduler.domain.files import load_plan, load_rules, load_scenario
from scheduler.engine import LivePlan
from scheduler.engine.timeline import line_of, runs_of
from scheduler.gantt import render_gantt
from scheduler.lean.kpis import line_kpis
from scheduler.lean.rules import records as rule_records
from scheduler.problem import Position, Timetable, compile_problem
from scheduler.twin import Disturbances, InProcess, Remote, Twin, TwinRun, for_the_twin
from scheduler.twin.disturbances import parse_breakdowns, parse_slowdown
from scheduler.twin.whatif import TwinCheck


@remote
def simulate(args: argparse.Namespace) -> int:
    for flag in ("out", "facts_out", "gantt"):
        writable(getattr(args, flag), f"--{flag.replace('_', '-')}")
    scenario = for_the_twin(
        load_scenario(args.scenario), args.budget_ms, monitor=not args.no_monitor, rules=not args.no_rules
    )
    if args.rules:
        scenario = load_rules(args.rules, scenario)
    stations = {s.id for s in scenario.plant.stations}
    mtbf, mttr = parse_breakdowns(args.breakdowns) if args.breakdowns else (None, None)
    disturbances = Disturbances(noise=args.noise, slowdowns=tuple(parse_slowdown(s, stations) for s in args.slowdown),
                                mtbf=mtbf, mttr=mttr, seed=args.seed)  # fmt: skip
    schedule = load_plan(args.plan, scenario) if args.plan else None
    live = LivePlan.create(scenario, schedule)
    live.predict = TwinCheck()
    first = dict(live.plan)
    print(f"{scenario.name}: the twin runs {len(first)} operations, seed {args.seed}", file=sys.stderr, flush=True)
    if args.addr:
        with SchedulerClient(connection(args)) as client:
            baseline = scenario.model_copy(update={"baseline": live.schedule(), "events": []})
            created = client.create_plan(scenario_document(baseline.model_dump_json(exclude_none=True), "json"))
            engine: InProcess | Remote = Remote(client, created.plan_id, scenario)
            run = Twin(scenario, first, engine, disturbances, _Progress()).simulate(args.until)
    else:
        run = Twin(scenario, first, InProcess(live), disturbances, _Progress()).simulate(args.until)
    document = run_document(scenario, first, run)
    print(f"{len(run.events)} events reported up to tick {run.end}, {len(run.detections)} detection(s), "
          f"{len(run.executed)} of {len(first)} operations done", flush=True)  # fmt: skip
    for d in document["detections"]:
        print(f"  detected at {d['time']}: {d['station']} at {d['factor']:.3f} x planned ({d['samples']} completions)")
    for f in document["rule_firings"]:
        print(f"  rule {f['rule']} at {f['time']}: {f['action']} ({f['verdict'] or 'not judged yet'})")
    for r in document["rule_revisions"]:
        print(f"  rule {r['rule']} revised at {r['time']}: {r['revision']} ({r['reason']})")
    if args.out:
        write(args.out, json.dumps(document, indent=1) + "\n", "--out")
    if args.facts_out:
        facts = [e.model_dump(mode="json", exclude_none=True, exclude={"at"}) for e in run.events]
        write(args.facts_out, yaml.safe_dump({"events": facts}, sort_keys=False), "--facts-out")
    if args.gantt:
        write(args.gantt, _gantt(scenario, first, run), "--gantt")
    return 0


def run_document(scenario: Scenario, first: dict[str, Position], run: TwinRun) -> dict[str, Any]:
    """RUN.json: detections, planned and realised KPIs over the run, receipts, the final plan."""
    problem = compile_problem(scenario)
    line = line_of(scenario, problem)
    return {
        "end": run.end,
        "events": len(run.events),
        "detections": [
            {
                "time": d.time,
                "station": d.station,
                "factor": d.factor,
                "samples": len(d.samples),
                "event_id": d.event_id,
            }
            for d in run.detections
        ],
        "kpis": {
            "planned": line_kpis(runs_of(first, scenario), line, 0, run.end).as_dict(),
            "realised": line_kpis(
                runs_of(run.executed, scenario), line, 0, run.end, {op: s for op, (_, s, _) in first.items()}
            ).as_dict(),
        },
        **rule_records(scenario.rules, run.rule_events),
        "receipts": run.receipts,
        "plan": {
            "assignments": [
                {"operation_id": op, "machine_id": m, "start": s, "end": e}
                for op, (m, s, e) in sorted(run.plan.items(), key=lambda r: (r[1][1], r[0]))
            ]
        },
        "executed": {op: list(place) for op, place in run.executed.items()},
    }


def _gantt(scenario: Scenario, first: dict[str, Position], run: TwinRun) -> str:
    problem = compile_problem(scenario)

    def table(rows: dict[str, Position]) -> Timetable:
        return Timetable(*(tuple(v) for v in zip(*[(problem.machine_index[rows[o][0]], rows[o][1], rows[o][2])
                                                   for o in problem.op_ids], strict=True)))  # fmt: skip

    actual = {**dict(run.plan), **run.executed}
    panels = [("planned", problem, table(first)), ("as run (and the plan for the rest)", problem, table(actual))]
    return render_gantt(panels, f"{scenario.name}: the twin, planned against actual")


class _Progress:
    """A line on standard error at every tenth of the operations done."""

    def __init__(self) -> None:
        self.shown = 0

    def __call__(self, done: int, total: int, now: int) -> None:
        step = max(1, total // 10)
        if done // step > self.shown:
            self.shown = done // step
            print(f"  {done}/{total} operations done at tick {now}", file=sys.stderr, flush=True)
