"""The ``lean-scheduler`` command.

Exit codes: 0 success; 1 a valid outcome that is not a good one (no feasible plan, an
invalid plan under ``check``); 2 bad input (one line naming the field and value).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

import yaml

from scheduler.check import CheckReport, check
from scheduler.domain import REPAIR_PRESETS, InputError, Scenario
from scheduler.domain.files import load_events, load_plan, load_scenario
from scheduler.engine import LivePlan
from scheduler.gantt import render_gantt
from scheduler.jssp import load_instance
from scheduler.planfile import plan_document
from scheduler.problem import compile_problem, timetable_from_schedule
from scheduler.repair import Receipt
from scheduler.solver import SolverConfig, solve


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line and exit code 2, as for every other bad input."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lean-scheduler", description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = commands.add_parser("solve", help="schedule a scenario with CP-SAT and check the result")
    p.add_argument("scenario", type=Path)
    p.add_argument("--time-limit", type=_positive(float), metavar="S", help="seconds (default: the policy's)")
    p.add_argument("--workers", type=_positive(int), metavar="N", help="CP-SAT workers (default: the policy's)")
    p.add_argument("--seed", type=_non_negative, metavar="N", help="random seed (default: the policy's)")
    p.add_argument("--deterministic", action="store_true", help="time limit in CP-SAT deterministic time")
    p.add_argument("--out", type=Path, metavar="PLAN.json", help="write the plan as JSON")
    p.add_argument("--gantt", type=Path, metavar="PLAN.html", help="write a Gantt chart")

    p = commands.add_parser("repair", help="apply a scenario's events to its plan, repairing after each")
    p.add_argument("scenario", type=Path)
    p.add_argument("--events", type=Path, metavar="FILE", help="events to apply instead of the scenario's script")
    p.add_argument("--plan", type=Path, metavar="PLAN.json", help="the plan to repair (default: baseline, or solve)")
    p.add_argument("--budget-ms", type=_positive(int), metavar="N", help="repair budget (default: the policy's)")
    p.add_argument("--policy", choices=sorted(REPAIR_PRESETS), help="repair preset (default: the scenario's)")
    p.add_argument("--deterministic", action="store_true", help="reproducible: CP-SAT deterministic time, 1 worker")
    p.add_argument("--out", type=Path, metavar="RESULT.json", help="write the final plan and the receipts")
    p.add_argument("--gantt", type=Path, metavar="FILE.html", help="write the plan before and after")

    p = commands.add_parser("check", help="check a plan file against a scenario (exit 0 only if valid)")
    p.add_argument("scenario", type=Path)
    p.add_argument("plan", type=Path)

    p = commands.add_parser("schema", help="print the JSON Schema of scenario files")

    p = commands.add_parser("import-jssp", help="import a classic job-shop instance as a scenario")
    p.add_argument("path", type=Path, help="the JSON bundle (with --name) or a standard-format text file")
    p.add_argument("--name", help="instance name inside a JSON bundle (e.g. ft10)")
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="scenario file to write (.json or .yaml)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        command: int = _COMMANDS[args.command](args)
    except InputError as error:
        print(f"lean-scheduler: error: {error.summary()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return command


def _solve(args: argparse.Namespace) -> int:
    _writable(args.out, "--out")
    _writable(args.gantt, "--gantt")
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
    hint = timetable_from_schedule(problem, scenario.baseline) if scenario.baseline else None
    result = solve(problem, config, hint=hint)
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
        _print_report(report, result.objective, result.bound)
    if args.out:
        _write(args.out, json.dumps(document, indent=1) + "\n", "--out")
    if args.gantt and result.timetable:
        panels = [(f"plan ({result.status.value})", problem, result.timetable)]
        _write(args.gantt, render_gantt(panels, scenario.name), "--gantt")
    return 0 if report and report.valid else 1


def _repair(args: argparse.Namespace) -> int:
    _writable(args.out, "--out")
    _writable(args.gantt, "--gantt")
    scenario = load_scenario(args.scenario)
    events = load_events(args.events, scenario) if args.events else scenario.events
    if not events:
        raise InputError.single("events", "no events to apply (the scenario has none; give --events FILE)")
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
    first = compile_problem(scenario)
    before = live.timetable(first)
    receipts = []
    for k, event in enumerate(events):
        try:
            receipts.append(live.apply(event))
        except InputError as error:  # name the event by its place in the script
            raise InputError(
                [replace(p, field=p.field.replace("event", f"events[{k}]", 1)) for p in error.problems]
            ) from None
    last = receipts[-1]
    print(f"{scenario.name}: {len(events)} event(s), budget {live.policy.budget_ms} ms")
    _print_receipts([r.receipt for r in receipts])
    if args.out:
        report = check(last.problem, last.timetable)
        document = {
            "plan": plan_document(
                last.problem,
                last.timetable,
                report,
                "repaired",
                scenario.timebase,
                {"scenario": scenario.name, "version": last.version},
            ),
            "receipts": [r.receipt.as_dict() for r in receipts],
        }
        _write(args.out, json.dumps(document, indent=1) + "\n", "--out")
    if args.gantt:
        panels = [("plan before the events", first, before), ("repaired plan", last.problem, last.timetable)]
        _write(args.gantt, render_gantt(panels, f"{scenario.name}: repair"), "--gantt")
    return 0 if all(r.receipt.valid for r in receipts) else 1


def _print_receipts(receipts: list[Receipt]) -> None:
    header = ("event", "tier", "solver", "latency ms", "makespan", "moved", "|shift|", "valid")
    rows = [
        (r.event_id, r.tier, r.solver_status, f"{r.latency_ms:.0f}/{r.budget_ms}",
         f"{r.makespan_before} -> {r.makespan_after}", str(r.moved_operations), str(r.total_abs_shift),
         "yes" if r.valid else "NO")
        for r in receipts
    ]  # fmt: skip
    widths = [max(len(h), *(len(row[k]) for row in rows)) for k, h in enumerate(header)]
    for row in [header, *rows]:
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    for r in receipts:
        if r.reason:
            print(f"  {r.event_id}: {r.reason}")


def _check(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    schedule = load_plan(args.plan, scenario)
    problem = compile_problem(scenario)
    report = check(problem, timetable_from_schedule(problem, schedule))
    _print_report(report)
    if report.valid:
        print("valid")
        return 0
    print(f"INVALID: {len(report.violations)} violation(s)")
    for v in report.violations:
        print(f"  {v.kind}: {v.message}")
    return 1


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(Scenario.model_json_schema(), indent=2))
    return 0


def _import_jssp(args: argparse.Namespace) -> int:
    _writable(args.out, "--out")
    scenario = load_instance(args.path, args.name)
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    data["time_unit"] = scenario.time_unit.value  # keep the unit explicit: it is not the default
    if args.out.suffix.lower() in (".yaml", ".yml"):
        text = yaml.safe_dump(data, sort_keys=False)
    else:
        text = json.dumps(data, separators=(",", ":")) + "\n"
    _write(args.out, text, "--out")
    ops = sum(len(o.operations) for o in scenario.orders)
    print(
        f"{scenario.name}: {len(scenario.orders)} jobs, {len(scenario.plant.stations)} machines, "
        f"{ops} operations -> {args.out}"
    )
    return 0


_COMMANDS = {"solve": _solve, "repair": _repair, "check": _check, "schema": _schema, "import-jssp": _import_jssp}


def _print_report(report: CheckReport, objective: int | None = None, bound: float | None = None) -> None:
    k = report.kpis
    rows: list[tuple[str, Any]] = [
        ("valid", "yes" if report.valid else f"NO ({len(report.violations)} violations)"),
        ("makespan", k.makespan),
        ("weighted tardiness", k.total_weighted_tardiness),
        ("late orders", k.late_orders),
        ("earliness", k.total_earliness),
        ("mean lead time", f"{k.mean_lead_time:.1f}"),
        (
            "bottleneck",
            f"{k.bottleneck_station} (utilisation {k.bottleneck_utilisation:.1%}, idle {k.bottleneck_idle})",
        ),
    ]
    if k.peak_wip:
        rows.append(("peak WIP per buffer", ", ".join(f"{b}={n}" for b, n in k.peak_wip.items())))
    rows.append(("peak jobs in process", k.peak_conwip))
    if objective is not None:
        rows.append(("objective", f"{objective} (bound {bound:.0f})" if bound is not None else objective))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


def _writable(path: Path | None, flag: str) -> None:
    """Fail before any work when an output cannot be written (creating its folder)."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError.single(flag, f"cannot write {str(path)!r}: {error.strerror}") from None
    if path.is_dir() or not os.access(path.parent, os.W_OK):
        raise InputError.single(flag, f"cannot write {str(path)!r}: not a writable file path")


def _write(path: Path, text: str, flag: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise InputError.single(flag, f"cannot write {str(path)!r}: {error.strerror}") from None


def _positive(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {kind.__name__}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


if __name__ == "__main__":
    sys.exit(main())
