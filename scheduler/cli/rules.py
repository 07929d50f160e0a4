"""``lean-scheduler client rules | set | rule``: the lean rules of a plan on a server, and a
planner's audited changes (a parameter, a rule suspended or resumed)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from pydantic import ValidationError

from scheduler.client import SchedulerClient
from scheduler.domain import InputError
from scheduler.domain.errors import field_problems
from scheduler.domain.events import ParameterChanged, RuleRevised
from scheduler.service.convert import event_message

ACTIONS = ("rules", "set", "rule")
PLANNER = "planner"
"""The source of a planner's changes."""


def rule_action(server: SchedulerClient, args: argparse.Namespace) -> int:
    if args.action == "rules":
        show_rules(server.line_state(args.plan_id))
        return 0
    now = server.line_state(args.plan_id).now_tick
    event_id = args.event_id or f"{args.action}-{time.time_ns()}"
    try:
        if args.action == "set":
            value: dict[str, Any] = {"preset": args.value} if args.parameter == "preset" else {"value": args.value}
            event: ParameterChanged | RuleRevised = ParameterChanged(
                event_id=event_id, source=PLANNER, time=now, parameter=args.parameter, buffer=args.buffer,
                reason=args.reason, **value)  # fmt: skip
        else:
            event = RuleRevised(event_id=event_id, source=PLANNER, time=now, rule=args.rule, revision=args.revision,
                                reason=args.reason)  # fmt: skip
    except ValidationError as error:
        raise InputError(field_problems(error)) from None
    answer = server.report_events(args.plan_id, [event_message(event)])
    for ack in answer.acks:
        print(f"{ack.event_id} at tick {now}: version {ack.version}, makespan {ack.receipt.makespan_after}")
    return 0


def show_rules(state: Any) -> None:
    """Each rule's state, then its firings with their verdicts, then the revisions."""
    for r in state.rules:
        status = "suspended" if r.suspended else ("waiting for its verdict" if r.pending else "active")
        print(f"{r.rule}: {status}, step {r.step}, {r.firings} firing(s), {r.misses} miss(es) in a row")
    for f in state.firings:
        after = f"{f.kpi_after:.4g}" if f.HasField("kpi_after") else "-"
        print(
            f"  {f.tick}: {f.rule} set {f.action} (KPI {f.kpi_before:.4g} -> {after}, {f.verdict or 'not judged yet'})"
        )
    for e in state.revisions:
        body = e.rule_revised if e.WhichOneof("payload") == "rule_revised" else e.parameter_changed
        what = e.rule_revised.revision if e.WhichOneof("payload") == "rule_revised" else "revert"
        print(f"  {e.occur_tick}: {body.rule} revised: {what} ({body.reason})")
