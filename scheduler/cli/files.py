"""Commands on files that never solve: check, schema, import-jssp (they load neither
grpc nor the solver)."""

from __future__ import annotations

import argparse
import json

import yaml

from scheduler.check import check
from scheduler.cli.output import print_report, writable, write
from scheduler.domain import InputError, Scenario
from scheduler.domain.files import load_plan, load_scenario, load_state
from scheduler.domain.state import RepairState
from scheduler.jssp import load_instance
from scheduler.problem import ProblemData, compile_problem, timetable_from_schedule
from scheduler.problem.freeze import Situation, freeze


def check_plan(args: argparse.Namespace) -> int:
    """A plan file (``solve --out``), or a repair result (``repair --out``: its plan, checked
    in the situation its events made: added orders, facts, downtimes, cycle times)."""
    scenario = load_scenario(args.scenario)
    state = load_state(args.plan, scenario)
    if state is not None:
        scenario = scenario.model_copy(update={"orders": state.orders, "events": []})
    schedule = load_plan(args.plan, scenario)
    problem = compile_problem(scenario)
    if state is not None:
        problem = freeze(problem, _situation(problem, state))
    report = check(problem, timetable_from_schedule(problem, schedule))
    print_report(report)
    if report.valid:
        print("valid")
        return 0
    print(f"INVALID: {len(report.violations)} violation(s)")
    for v in report.violations:
        print(f"  {v.kind}: {v.message}")
    return 1


def _situation(problem: ProblemData, state: RepairState) -> Situation:
    """The state's situation, its machines checked against the plant."""
    for where, machine in [*((f"state.facts.{op}", m) for op, (m, _, _) in state.facts.items()),
                           *((f"state.downtimes[{k}]", d[0]) for k, d in enumerate(state.downtimes))]:  # fmt: skip
        if machine not in problem.machine_index:
            raise InputError.single(where, f"unknown machine {machine!r}")
    return Situation(state.now, state.facts, tuple(state.downtimes), state.factors, state.machine_factors)


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
