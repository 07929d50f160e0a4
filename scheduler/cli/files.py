"""Commands on files that never solve: check, schema, import-jssp (they load neither
grpc nor the solver)."""

from __future__ import annotations

import argparse
import json

import yaml

from scheduler.check import check
from scheduler.cli.output import print_report, writable, write
from scheduler.domain import Scenario
from scheduler.domain.files import load_plan, load_scenario
from scheduler.jssp import load_instance
from scheduler.problem import compile_problem, timetable_from_schedule


def check_plan(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    schedule = load_plan(args.plan, scenario)
    problem = compile_problem(scenario)
    report = check(problem, timetable_from_schedule(problem, schedule))
    print_report(report)
    if report.valid:
        print("valid")
        return 0
    print(f"INVALID: {len(report.violations)} violation(s)")
    for v in report.violations:
        print(f"  {v.kind}: {v.message}")
    return 1


def schema(args: argparse.Namespace) -> int:
    print(json.dumps(Scenario.model_json_schema(), indent=2))
    return 0


def import_jssp(args: argparse.Namespace) -> int:
    writable(args.out, "--out")
    scenario = load_instance(args.path, args.name)
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    data["time_unit"] = scenario.time_unit.value  # keep the unit explicit: it is not the default
    if args.out.suffix.lower() in (".yaml", ".yml"):
        text = yaml.safe_dump(data, sort_keys=False)
    else:
        text = json.dumps(data, separators=(",", ":")) + "\n"
    write(args.out, text, "--out")
    ops = sum(len(o.operations) for o in scenario.orders)
    print(
        f"{scenario.name}: {len(scenario.orders)} jobs, {len(scenario.plant.stations)} machines, "
        f"{ops} operations -> {args.out}"
    )
    return 0
