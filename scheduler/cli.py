"""The ``lean-scheduler`` command.

Exit codes: 0 success; 1 a valid outcome that is not a good one (no feasible plan, an
invalid plan under ``check``); 2 bad input (one line naming the field and value).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

import grpc
import yaml
from google.protobuf.json_format import MessageToDict

from scheduler.check import CheckReport, check
from scheduler.domain import REPAIR_PRESETS, InputError, Scenario
from scheduler.domain.events import Event
from scheduler.domain.files import load_events, load_plan, load_scenario
from scheduler.engine import LivePlan
from scheduler.gantt import render_gantt
from scheduler.jssp import load_instance
from scheduler.planfile import plan_document
from scheduler.problem import compile_problem, timetable_from_schedule
from scheduler.repair import Receipt
from scheduler.service.auth import read_token
from scheduler.service.client import (
    Connection,
    Row,
    document_of,
    header,
    mes_sim,
    replay_gantt,
    row_line,
    write_result,
)
from scheduler.service.config import load_config
from scheduler.service.convert import event_message, pb, pb_grpc
from scheduler.service.server import Server, serve
from scheduler.solver import SolverConfig, solve
from scheduler.store import default_data_dir


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

    p = commands.add_parser("serve", help="run the gRPC service (until SIGTERM or Ctrl-C)")
    p.add_argument("--addr", help="host:port to listen on (default 127.0.0.1:50051; port 0 picks one)")
    p.add_argument("--data-dir", type=Path, metavar="DIR", help="event log and plans (default ~/.local/share/...)")
    p.add_argument("--config", type=Path, metavar="FILE.toml", help="settings file ([server] table)")
    p.add_argument("--tls-cert", type=Path, metavar="PEM", help="server certificate (with --tls-key)")
    p.add_argument("--tls-key", type=Path, metavar="PEM", help="server private key")
    p.add_argument("--client-ca", type=Path, metavar="PEM", help="require client certificates signed by this CA")
    p.add_argument("--token-file", type=Path, metavar="FILE", help="require 'authorization: Bearer <token>'")
    p.add_argument("--max-solves", type=_positive(int), metavar="N", help="solves at once (default 2)")
    p.add_argument("--port-file", type=Path, metavar="FILE", help="write the bound port here once listening")

    p = commands.add_parser("client", help="talk to a running server (create, events, get, list, watch, delete)")
    _connection_flags(p)
    actions = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    a = actions.add_parser("create", help="create a plan from a scenario file")
    a.add_argument("scenario", type=Path)
    a.add_argument("--plan-id", default="")
    a = actions.add_parser("events", help="report a scenario's event script (or the events of --events FILE)")
    a.add_argument("plan_id")
    a.add_argument("scenario", type=Path, help="the plan's scenario (names and time base of the events)")
    a.add_argument("--events", type=Path, metavar="FILE", help="events instead of the scenario's script")
    a.add_argument("--budget-ms", type=_positive(int), metavar="N")
    a = actions.add_parser("get", help="print a plan version as JSON")
    a.add_argument("plan_id")
    a.add_argument("--version", type=_non_negative, default=0, help="0: the latest")
    actions.add_parser("list", help="list the plans")
    a = actions.add_parser("watch", help="print each new plan version as it is made")
    a.add_argument("plan_id")
    a.add_argument("--from-version", type=_non_negative, default=0)
    a = actions.add_parser("delete", help="delete a plan")
    a.add_argument("plan_id")

    p = commands.add_parser("bench", help="run the benchmark suite (source checkout): JSON, markdown table, plots")
    p.add_argument("--suite", choices=["smoke", "full", "targets"], default="smoke",
                   help="smoke: CI, minutes; full: every instance and budget, about a day on 2 cores; "
                        "targets: the README's target cells, about 2 hours")  # fmt: skip
    p.add_argument("--out", type=Path, default=Path("out/bench"), metavar="DIR")
    p.add_argument("--instances", default="", metavar="A,B", help="only these instances (default: the suite's)")
    p.add_argument(
        "--budgets", type=_budgets, default="", metavar="MS,MS", help="repair budgets (default: the suite's)"
    )
    p.add_argument("--events", type=_positive(int), metavar="N", help="events per cell (default: the suite's)")

    p = commands.add_parser("mes-sim", help="replay a scenario's event script against a server, as an MES")
    p.add_argument("scenario", type=Path)
    _connection_flags(p)
    p.add_argument("--speed", type=float, default=0.0, metavar="X",
                   help="X times real time between events (default 0: as fast as answers come)")  # fmt: skip
    p.add_argument("--events", type=Path, metavar="FILE", help="events instead of the scenario's script")
    p.add_argument("--plan-id", default="")
    p.add_argument("--budget-ms", type=_positive(int), metavar="N")
    p.add_argument("--out", type=Path, metavar="RESULT.json")
    p.add_argument("--gantt", type=Path, metavar="FILE.html", help="the plan before and after, checked")
    return parser


def _connection_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--addr", default="127.0.0.1:50051", help="server host:port")
    p.add_argument("--token-file", type=Path, metavar="FILE", help="send its token as a bearer token")
    p.add_argument("--tls-ca", type=Path, metavar="PEM", help="use TLS, trusting this CA")
    p.add_argument("--tls-cert", type=Path, metavar="PEM", help="client certificate (mutual TLS)")
    p.add_argument("--tls-key", type=Path, metavar="PEM", help="client private key (mutual TLS)")


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


def _script(args: argparse.Namespace) -> tuple[Scenario, list[Event]]:
    """The scenario and the events to play: its script, or those of ``--events FILE``."""
    _writable(args.out, "--out")
    _writable(args.gantt, "--gantt")
    scenario = load_scenario(args.scenario)
    events = load_events(args.events, scenario) if args.events else scenario.events
    if not events:
        raise InputError.single("events", "no events to play (the scenario has none; give --events FILE)")
    return scenario, events


def _repair(args: argparse.Namespace) -> int:
    scenario, events = _script(args)
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


def _serve(args: argparse.Namespace) -> int:
    config = load_config(args.config, addr=args.addr, data_dir=args.data_dir, tls_cert=args.tls_cert,
                         tls_key=args.tls_key, client_ca=args.client_ca, token_file=args.token_file,
                         max_solves=args.max_solves)  # fmt: skip
    _writable(args.port_file, "--port-file")

    def ready(server: Server) -> None:
        host = config.addr.rsplit(":", 1)[0]
        data = config.data_dir or default_data_dir()
        print(f"lean-scheduler: listening on {host}:{server.port} (data: {data})", flush=True)
        if args.port_file:
            _write(args.port_file, f"{server.port}\n", "--port-file")

    asyncio.run(serve(config, ready))
    return 0


def _client(args: argparse.Namespace) -> int:

    connection = _connection(args)
    with connection.channel() as channel:
        stub, meta = pb_grpc.SchedulerServiceStub(channel), connection.metadata
        if args.action == "create":
            created = stub.CreatePlan(pb.CreatePlanRequest(plan_id=args.plan_id, scenario=document_of(args.scenario)),
                                      metadata=meta).plan  # fmt: skip
            print(f"created plan {created.plan_id} version {created.version}, makespan {created.kpis.makespan}")
        elif args.action == "events":
            scenario = load_scenario(args.scenario)
            events = load_events(args.events, scenario) if args.events else scenario.events
            request = pb.ReportEventsRequest(plan_id=args.plan_id, events=[event_message(e) for e in events])
            if args.budget_ms:
                request.budget.FromMilliseconds(args.budget_ms)
            answer = stub.ReportEvents(request, metadata=meta)
            for ack in answer.acks:
                print(f"{ack.event_id}: version {ack.version}{' (duplicate)' if ack.duplicate else ''}, "
                      f"{ack.receipt.latency_ms:.0f} ms, makespan {ack.receipt.makespan_after}")  # fmt: skip
        elif args.action == "get":
            plan = stub.GetPlan(pb.GetPlanRequest(plan_id=args.plan_id, version=args.version), metadata=meta).plan
            print(json.dumps(MessageToDict(plan, preserving_proto_field_name=True), indent=1))
        elif args.action == "list":
            for summary in stub.ListPlans(pb.ListPlansRequest(), metadata=meta).plans:
                print(f"{summary.plan_id}  v{summary.latest_version}  {summary.operations} ops  "
                      f"makespan {summary.makespan}  {summary.name}")  # fmt: skip
        elif args.action == "watch":
            watch = pb.WatchPlanRequest(plan_id=args.plan_id, from_version=args.from_version)
            for item in stub.WatchPlan(watch, metadata=meta):
                print(f"version {item.plan.version}: makespan {item.plan.kpis.makespan}", flush=True)
        elif args.action == "delete":
            stub.DeletePlan(pb.DeletePlanRequest(plan_id=args.plan_id), metadata=meta)
            print(f"deleted plan {args.plan_id}")
    return 0


def _mes_sim(args: argparse.Namespace) -> int:
    scenario, events = _script(args)
    rows: list[Row] = []
    steps = []
    first = last = None
    print(f"{scenario.name}: creating the plan on {args.addr}, then {len(events)} event(s)", flush=True)
    for plan, row in mes_sim(_connection(args), args.scenario, scenario, events, args.speed, args.plan_id,
                             args.budget_ms):  # fmt: skip
        if row is None:
            first = plan
            print(f"plan {plan.plan_id} version 1: makespan {plan.kpis.makespan}", flush=True)
            print(header(), flush=True)
            continue
        steps.append((events[len(rows)], plan, row.version != (last or first).version))  # type: ignore[union-attr]
        rows.append(row)
        last = plan
        print(row_line(row), flush=True)
    assert first is not None and last is not None
    if args.out:
        write_result(args.out, last, rows)
    if args.gantt:
        _write(args.gantt, replay_gantt(scenario, first, steps), "--gantt")
    return 0 if all(r.receipt.valid for r in rows) else 1


def _bench(args: argparse.Namespace) -> int:
    """pytest-benchmark runs the suite in ``benchmarks/``; its report script writes the rest."""
    suite_dir = Path(__file__).resolve().parents[1] / "benchmarks"
    if not (suite_dir / "test_suite.py").exists():
        raise InputError.single("bench", f"needs the source checkout's benchmarks/ (not found at {suite_dir})")
    for name in filter(None, args.instances.split(",")):
        if name != "demo" and not (suite_dir.parent / "scenarios" / "jssp" / f"{name}.json").exists():
            raise InputError.single(
                "--instances", f"unknown instance {name!r} (scenarios/jssp/ has the job shops; demo)"
            )
    args.out.mkdir(parents=True, exist_ok=True)
    run = args.out / "pytest-benchmark.json"
    command = [sys.executable, "-m", "pytest", str(suite_dir / "test_suite.py"), "--suite", args.suite,
               "--instances", args.instances, "--budgets", args.budgets, "--events", str(args.events or 0),
               "--benchmark-enable", f"--benchmark-json={run}",
               "--benchmark-columns=min,max", "-p", "no:cacheprovider", "-v", "-s", "-o", "addopts="]  # fmt: skip
    print(f"lean-scheduler bench: the {args.suite} suite -> {args.out}", flush=True)
    tests = subprocess.run(command, cwd=suite_dir.parent, check=False).returncode
    if not run.exists():
        return tests or 1
    report = subprocess.run([sys.executable, str(suite_dir / "report.py"), str(run), "--out", str(args.out)],
                            check=False, capture_output=True, text=True)  # fmt: skip
    print(report.stdout, end="")
    if report.returncode:
        print(report.stderr, file=sys.stderr)
    return tests or report.returncode


def _connection(args: argparse.Namespace) -> Connection:
    token = None
    if args.token_file:
        try:
            token = read_token(args.token_file.read_text(encoding="utf-8"))
        except OSError as error:
            raise InputError.single("--token-file", f"cannot read {args.token_file}: {error.strerror}") from None
    return Connection(args.addr, token, args.tls_ca, args.tls_cert, args.tls_key)


def _remote(handler: Any) -> Any:
    """A command that calls a server: a failed call is one line, exit 2 when the request
    was at fault (invalid, unknown plan, refused credentials), else 1."""

    def run(args: argparse.Namespace) -> int:
        try:
            code: int = handler(args)
        except grpc.RpcError as error:
            status = error.code()
            print(f"lean-scheduler: error: {status.name}: {error.details()}", file=sys.stderr)
            ours = {"INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS", "ABORTED", "UNAUTHENTICATED"}
            return 2 if status.name in ours else 1
        return code

    return run


_COMMANDS = {
    "solve": _solve,
    "repair": _repair,
    "check": _check,
    "schema": _schema,
    "import-jssp": _import_jssp,
    "serve": _serve,
    "client": _remote(_client),
    "mes-sim": _remote(_mes_sim),
    "bench": _bench,
}


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
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _budgets(text: str) -> str:
    """Comma-separated positive milliseconds, as the suite's ``--budgets`` takes them."""
    parse = _positive(int)
    return ",".join(str(parse(part)) for part in text.split(",") if part.strip())


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
