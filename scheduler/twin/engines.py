"""Where the twin reports: an engine in the same process, or a running server over gRPC.
Either way each report returns the latest plan and what the engine made of the event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from google.protobuf.json_format import MessageToDict

from scheduler.client import SchedulerClient
from scheduler.domain import Scenario
from scheduler.domain.events import CycleTimeObserved, Event
from scheduler.engine import LivePlan
from scheduler.problem import Position
from scheduler.service.convert import TIER_NAMES, event_message, events_from, plan_rows


@dataclass
class Reported:
    """What the engine answered to one report."""

    plan: Mapping[str, Position]
    receipts: list[dict[str, Any]] = field(default_factory=list)
    derived: list[Event] = field(default_factory=list)
    """The events the engine derived (the takt monitor's and the rules')."""

    @property
    def detections(self) -> list[CycleTimeObserved]:
        return [e for e in self.derived if isinstance(e, CycleTimeObserved)]


def for_the_twin(
    scenario: Scenario, budget_ms: int | None = None, monitor: bool = True, rules: bool = True
) -> Scenario:
    """The scenario as the twin runs it: every start is reported, runs are reproducible
    (deterministic time, one worker), the event script left out."""
    update: dict[str, Any] = {"started": "reported", "deterministic": True, "workers": 1, "takt_monitor": monitor}
    if budget_ms:
        update["budget_ms"] = budget_ms
    solver = scenario.policy.solver.model_copy(update={"deterministic": True, "workers": 1})
    policy = scenario.policy.model_copy(update={"repair": scenario.policy.repair.model_copy(update=update),
                                                "solver": solver})  # fmt: skip
    return scenario.model_copy(update={"policy": policy, "events": [], "rules": scenario.rules if rules else []})


class Engine(Protocol):
    def report(self, event: Event) -> Reported: ...


class InProcess:
    """A live plan in this process; derived events are taken like a server does."""

    def __init__(self, live: LivePlan) -> None:
        self.live = live

    def report(self, event: Event) -> Reported:
        answer = Reported(self.live.plan, [self.live.apply(event).receipt.as_dict()])
        for derived in self.live.derived():
            answer.receipts.append(self.live.apply(derived).receipt.as_dict())
            answer.derived.append(derived)
        answer.plan = self.live.plan
        return answer


class Remote:
    """A plan on a running server."""

    def __init__(self, client: SchedulerClient, plan_id: str, scenario: Scenario) -> None:
        self.client, self.plan_id, self.scenario = client, plan_id, scenario

    def report(self, event: Event) -> Reported:
        answer = self.client.report_events(self.plan_id, [event_message(event)])
        acks = [*answer.acks, *answer.derived]
        receipts = [_receipt(a.receipt) for a in acks]
        derived = events_from([a.event for a in answer.derived], self.scenario)
        return Reported(plan_rows(answer.plan), receipts, list(derived))


def _receipt(receipt: Any) -> dict[str, Any]:
    data = MessageToDict(receipt, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    data["tier"] = TIER_NAMES.get(receipt.tier, "?")
    return data
