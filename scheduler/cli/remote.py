"""``lean-scheduler client``: poke at a running server with the thin client (no solver)."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path

import grpc
from google.protobuf.json_format import MessageToDict

from scheduler.cli.rules import ACTIONS, rule_action
from scheduler.client import Connection, ScenarioDocument, SchedulerClient, scenario_document, sweep_document
from scheduler.domain import InputError
from scheduler.domain.files import load_events, load_scenario
from scheduler.service.auth import read_token
from scheduler.service.convert import event_message

_CALLER_AT_FAULT = {"INVALID_ARGUMENT", "NOT_FOUND", "ALREADY_EXISTS", "ABORTED", "UNAUTHENTICATED"}


def remote(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A command that calls a server: a failed call is one line, exit 2 when the request
    was at fault (invalid, unknown plan, refused credentials), else 1."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except grpc.RpcError as error:
            status = error.code()
            print(f"lean-scheduler: error: {status.name}: {error.details()}", file=sys.stderr)
            return 2 if status.name in _CALLER_AT_FAULT else 1

    return run


def connection(args: argparse.Namespace) -> Connection:
    token = None
    if args.token_file:
        try:
            token = read_token(args.token_file.read_text(encoding="utf-8"))
        except OSError as error:
            raise InputError.single("--token-file", f"cannot read {args.token_file}: {error.strerror}") from None
    return Connection(args.addr, token, args.tls_ca, args.tls_cert, args.tls_key)


@remote
def client(args: argparse.Namespace) -> int:
    with SchedulerClient(connection(args)) as server:
        if args.action == "create":
            created = server.create_plan(document(args.scenario), plan_id=args.plan_id)
            print(f"created plan {created.plan_id} version {created.version}, makespan {created.kpis.makespan}")
        elif args.action == "events":
            scenario = load_scenario(args.scenario)
            events = load_events(args.events, scenario) if args.events else scenario.events
            answer = server.report_events(args.plan_id, [event_message(e) for e in events], budget_ms=args.budget_ms)
            for ack in answer.acks:
                print(f"{ack.event_id}: version {ack.version}{' (duplicate)' if ack.duplicate else ''}, "
                      f"{ack.receipt.latency_ms:.0f} ms, makespan {ack.receipt.makespan_after}")  # fmt: skip
        elif args.action == "get":
            plan = server.get_plan(args.plan_id, args.version)
            print(json.dumps(MessageToDict(plan, preserving_proto_field_name=True), indent=1))
        elif args.action == "list":
            for summary in server.list_plans():
                print(f"{summary.plan_id}  v{summary.latest_version}  {summary.operations} ops  "
                      f"makespan {summary.makespan}  {summary.name}")  # fmt: skip
        elif args.action == "watch":
            for version in server.watch(args.plan_id, args.from_version):
                print(f"version {version.version}: makespan {version.kpis.makespan}", flush=True)
        elif args.action == "line-state":
            state = server.line_state(args.plan_id, args.window)
            print(json.dumps(MessageToDict(state, preserving_proto_field_name=True), indent=1))
        elif args.action == "what-if":
            what_if(server, args)
        elif args.action == "sweep":
            sweep(server, args)
        elif args.action == "delete":
            server.delete_plan(args.plan_id)
            print(f"deleted plan {args.plan_id}")
        elif args.action in ACTIONS:
            return rule_action(server, args)
    return 0


def what_if(server: SchedulerClient, args: argparse.Namespace) -> None:
    """EvaluateScenario: one line with the fork's KPIs and its diff (docs/service.md)."""
    if args.events is not None and args.scenario is None:
        raise InputError.single("--scenario", "--events needs the plan's scenario file (its names and time base)")
    events = [event_message(e) for e in load_events(args.events, load_scenario(args.scenario))] if args.events else []
    answer = server.evaluate(args.plan_id, args.version, dict(args.kanban), events, args.budget_ms)
    k, d = answer.plan.kpis, answer.diff
    print(f"what-if on version {answer.plan.version}: makespan {k.makespan} ({d.makespan_delta:+d}), weighted "
          f"tardiness {k.weighted_tardiness} ({d.weighted_tardiness_delta:+d}), {d.moved_operations} moved, "
          f"|shift| {d.total_abs_shift}, {d.machine_reassignments} reassigned")  # fmt: skip


def sweep(server: SchedulerClient, args: argparse.Namespace) -> None:
    """SweepScenarios: a line per progress message, then the best; DIR/results.json and table.md."""
    from scheduler.cli.output import writable  # noqa: PLC0415  # neither loads the engine
    from scheduler.sweep.results import table  # noqa: PLC0415

    out: Path = args.out
    writable(out / "results.json", "--out")
    try:
        grid = sweep_document(args.grid)
    except OSError as error:
        raise InputError.single(str(args.grid), f"cannot read: {error.strerror}") from None
    result = None
    for update in server.sweep_scenarios(args.plan_id, grid, args.replications, args.seed, args.jobs):
        if update.HasField("result"):
            result = update.result
            continue
        p = update.progress
        best = f", best so far {p.best} ({p.best_score:g})" if p.HasField("best_score") else ""
        print(f"{p.runs_done}/{p.runs_total} runs, {p.configurations_done}/{p.configurations_total} "
              f"configurations{best}", flush=True)  # fmt: skip
    assert result is not None, "a sweep's stream ends with its result"
    results = json.loads(result.results_json)
    (out / "results.json").write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    (out / "table.md").write_text(table(results, results["sweep"]["objective"]))
    own = results["own"] or {}
    print(f"best: {result.best} (score {result.best_score if result.HasField('best_score') else '-'}); the line's own "
          f"{own.get('key')} scores {own.get('score')}; from version {result.version} at tick {result.now_tick}: "
          f"{out / 'results.json'}, {out / 'table.md'}")  # fmt: skip


def document(path: Path) -> ScenarioDocument:
    """A scenario file as a document (a one-line error when it cannot be read)."""
    try:
        return scenario_document(path)
    except OSError as error:
        raise InputError.single(str(path), f"cannot read: {error.strerror}") from None
