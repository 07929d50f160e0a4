"""Commands that solve: solve (CP-SAT from scratch) and repair (events on a plan)."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from typing import Any

from scheduler.check import check
from scheduler.cli.output import print_receipts, print_report, writable, write
from scheduler.domain import InputError, Scenario
from scheduler.domain.events import CycleTimeObserved, Event
from scheduler.domain.files import load_events, load_plan, load_rules, load_scenario
from scheduler.engine import LivePlan
from scheduler.gantt import render_gantt
from scheduler.lean.rules import records as rule_records
from scheduler.planfile import plan_document
from scheduler.problem import compile_problem, timetable_from_schedule
from scheduler.problem.limits import check_magnitude
from scheduler.repair.initial import initial_plan
from scheduler.solver import SolverConfig
from scheduler.twin.whatif import TwinCheck


def solve(args: argparse.Namespace) -> int:
    writable(args.out, "--out")
    writable(args.gantt, "--gantt")
    scenario = load_scenario(args.scenario)
    settings = scenario.policy.solver
    config = SolverConfig(
        time_limit_s=args.time_limit or settings.time_limit_s,
        workers=args.workers or settings.workers,
        seed=settings.seed if args.seed is None else args.seed,
        deterministic=args.deterministic or settings.deterministic,
        log=settings.log,
    )
    problem = compile_problem(scenario)
    check_magnitude(problem, "scenario")
    hint = timetable_from_schedule(problem, scenario.baseline) if scenario.baseline else None
    result = initial_plan(problem, config, hint=hint)
    report = check(problem, result.timetable) if result.timetable else None
    extra = {
        "scenario": scenario.name,
        "objective": result.objective,
        "bound": result.bound,
        "wall_time_s": round(result.wall_time_s, 3),
    }
    document = plan_document(problem, result.timetable, report, result.status.value, scenario.timebase, extra)
    print(
        f"{scenario.name}: {result.status.value} in {result.wall_time_s:.2f} s "
        f"({problem.num_ops} operations, {len(problem.machine_ids)} machines)"
    )
    if report:
        print_report(report, result.objective, result.bound)
    if args.out:
        write(args.out, json.dumps(document, indent=1) + "\n", "--out")
    if args.gantt and result.timetable:
        panels = [(f"plan ({result.status.value})", problem, result.timetable)]
        write(args.gantt, render_gantt(panels, scenario.name), "--gantt")
    return 0 if report and report.valid else 1


def detection_of(event: Event) -> dict[str, Any]:
    """A derived cycle-time event as the run files list detections."""
    assert isinstance(event, CycleTimeObserved)
    return {"event_id": event.event_id, "time": event.time, "station": event.station, "factor": event.factor,
            "samples": len(event.samples)}  # fmt: skip


def script(args: argparse.Namespace) -> tuple[Scenario, list[Event]]:
    """The scenario and the events to play: its script, or those of ``--events FILE``."""
    writable(args.out, "--out")
    writable(args.gantt, "--gantt")
    scenario = load_scenario(args.scenario)
    if getattr(args, "rules", None):
        scenario = load_rules(args.rules, scenario)
    events = load_events(args.events, scenario) if args.events else scenario.events
    if not events:
        raise InputError.single("events", "no events to play (the scenario has none; give --events FILE)")
    return scenario, events


def repair(args: argparse.Namespace) -> int:
    scenario, events = script(args)
    policy = scenario.policy.with_repair_preset(args.policy).repair if args.policy else scenario.policy.repair
    update: dict[str, Any] = {}
    if args.budget_ms:
        update["budget_ms"] = args.budget_ms
    if args.deterministic:  # the initial solve too, when there is one
        update.update(deterministic=True, workers=1)
        solver = scenario.policy.solver.model_copy(update={"deterministic": True, "workers": 1})
        scenario = scenario.model_copy(update={"policy": scenario.policy.model_copy(update={"solver": solver})})
    schedule = load_plan(args.plan, scenario) if args.plan else None
    live = LivePlan.create(scenario, schedule, policy=policy.model_copy(update=update))
    live.predict = TwinCheck()
    first = compile_problem(scenario)
    before = live.timetable(first)
    results, detections = [], []
    for k, event in enumerate(events):
        try:
            results.append(live.apply(event))
        except InputError as error:  # name the event by its place in the script
            raise InputError(
                [replace(p, field=p.field.replace("event", f"events[{k}]", 1)) for p in error.problems]
            ) from None
        for derived in live.derived():  # the monitor's and the rules' findings, taken like a report
            results.append(live.apply(derived))
            if isinstance(derived, CycleTimeObserved):
                detections.append(detection_of(derived))
    last = results[-1]
    print(f"{scenario.name}: {len(events)} event(s), budget {live.policy.budget_ms} ms")
    print_receipts([r.receipt for r in results])
    if args.out:
        report = check(last.problem, last.timetable)
        extra = {"scenario": scenario.name, "version": last.version}
        document = {
            "plan": plan_document(last.problem, last.timetable, report, "repaired", scenario.timebase, extra),
            "receipts": [r.receipt.as_dict() for r in results],
            "detections": detections,
            **rule_records(live.scenario.rules, live.rule_log),
            "state": live.state().model_dump(mode="json"),
        }
        write(args.out, json.dumps(document, indent=1) + "\n", "--out")
    if args.gantt:
        panels = [("plan before the events", first, before), ("repaired plan", last.problem, last.timetable)]
        write(args.gantt, render_gantt(panels, f"{scenario.name}: repair"), "--gantt")
    return 0 if all(r.receipt.valid for r in results) else 1
