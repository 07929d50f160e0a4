"""A live plan's whole state as JSON and back (store snapshots), and plans as changes
against the version before (the event log's records)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from scheduler.domain import Order, Plant, RepairPolicy, Scenario
from scheduler.domain.events import Event
from scheduler.engine.ledger import DowntimeFact, Ledger, Observation, OperationFact
from scheduler.engine.live import LivePlan
from scheduler.problem import Position
from scheduler.repair import Receipt

_ORDERS = TypeAdapter(list[Order])
_EVENTS = TypeAdapter(list[Event])


def dump(live: LivePlan, receipt: Receipt | None) -> str:
    """Everything a restart needs beyond the scenario: orders (rush orders added, cancelled
    ones trimmed), the plant and repair policy as parameter changes left them, the rules'
    log, plan, now, version, ledger, and the receipt of the version."""
    ledger = live.ledger
    state = {
        "receipt": receipt.as_dict() if receipt is not None else None,
        "orders": _ORDERS.dump_python(live.scenario.orders, mode="json", exclude_defaults=True),
        "plant": live.scenario.plant.model_dump(mode="json"),
        "policy": live.policy.model_dump(mode="json"),
        "rule_log": _EVENTS.dump_python(live.rule_log, mode="json"),
        "plan": live.plan,
        "now": live.now,
        "version": live.version,
        "ledger": {
            "operations": {op: _plain(asdict(f)) for op, f in ledger.operations.items()},
            "downtimes": {d: _plain(asdict(f)) for d, f in ledger.downtimes.items()},
            "observations": [_plain(asdict(o)) for seen in ledger.observations.values() for o in seen],
            "sequences": ledger.sequences,
            "gaps": ledger.gaps,
            "regressions": ledger.regressions,
        },
    }
    return json.dumps(state, separators=(",", ":"))


def load(scenario: Scenario, text: str) -> LivePlan:
    """The live plan a snapshot holds; ``scenario`` is the plan's stored scenario."""
    state = json.loads(text)
    update: dict[str, Any] = {"orders": _ORDERS.validate_python(state["orders"])}
    if "plant" in state:  # snapshots before the rules kept neither
        update["plant"] = Plant.model_validate(state["plant"])
    policy = RepairPolicy.model_validate(state["policy"]) if "policy" in state else scenario.policy.repair
    with_orders = scenario.model_copy(update=update)
    plan = {op: (m, int(s), int(e)) for op, (m, s, e) in state["plan"].items()}
    kept = state["ledger"]
    ledger = Ledger(
        operations={op: _fact(OperationFact, f) for op, f in kept["operations"].items()},
        downtimes={d: _fact(DowntimeFact, f) for d, f in kept["downtimes"].items()},
        observations=_observations(kept["observations"]),
        sequences=dict(kept["sequences"]),
        gaps=kept["gaps"],
        regressions=kept["regressions"],
    )
    live = LivePlan(with_orders, plan, policy, seed=scenario.policy.solver.seed, now=state["now"],
                    version=state["version"], ledger=ledger,
                    rule_log=_EVENTS.validate_python(state.get("rule_log", [])))  # fmt: skip
    return live


def receipt_in(text: str) -> dict[str, Any] | None:
    """The receipt a snapshot keeps, as stored."""
    receipt: dict[str, Any] | None = json.loads(text).get("receipt")
    return receipt


def _observations(kept: list[dict[str, Any]]) -> dict[tuple[str, str], list[Observation]]:
    by_key: dict[tuple[str, str], list[Observation]] = {}
    for o in kept:  # stored in time order per key
        key = (o["key"][0], o["key"][1])
        by_key.setdefault(key, []).append(Observation(o["time"], key, o["ratio"], (o["by"][0], o["by"][1])))
    return by_key


def changes(before: Mapping[str, Position], after: Mapping[str, Position]) -> str:
    """``after`` as the rows that differ from ``before`` and the operations it dropped."""
    changed = {op: row for op, row in after.items() if before.get(op) != row}
    return json.dumps({"set": changed, "drop": [op for op in before if op not in after]}, separators=(",", ":"))


def apply_changes(before: Mapping[str, Position], text: str, plan_format: int) -> dict[str, Position]:
    """The plan a log record made, from the plan before it (format 1: all rows)."""
    data = json.loads(text)
    if plan_format == 1:
        return _rows(data)
    plan = {op: row for op, row in before.items() if op not in set(data["drop"])}
    plan.update(_rows(data["set"]))
    return plan


def _rows(data: Mapping[str, Any]) -> dict[str, Position]:
    return {op: (m, int(s), int(e)) for op, (m, s, e) in data.items()}


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}


def _fact(kind: type[Any], data: dict[str, Any]) -> Any:
    values = {}
    for f in fields(kind):
        value = data.get(f.name)
        if f.name.endswith("_at") and value is not None:
            value = datetime.fromisoformat(value)
        elif f.name.endswith("_by") and value is not None:
            value = tuple(value)
        values[f.name] = value
    return kind(**values)
