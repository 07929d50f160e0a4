"""A scenario: plant + orders + optional baseline schedule + policy."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, JsonValue, ModelWrapValidatorHandler, field_validator, model_validator
from pydantic_core import PydanticCustomError

from scheduler.domain.base import DomainModel
from scheduler.domain.bounds import MAX_EVENTS, MAX_OPERATIONS, MAX_ORDERS, Text
from scheduler.domain.errors import InputError, invalid, show
from scheduler.domain.events import (
    CycleTimeObserved,
    Event,
    OperationCompleted,
    OperationStarted,
    OrderAdded,
    OrderCancelled,
    ParameterChanged,
    RuleJudged,
    RuleRevised,
)
from scheduler.domain.orders import Order
from scheduler.domain.plant import Plant
from scheduler.domain.policy import Policy
from scheduler.domain.rules import MAX_RULES, Rule, check_rules
from scheduler.domain.schedule import Schedule
from scheduler.domain.timebase import TimeBase, TimeUnit, parse_utc, use_timebase


class Scenario(DomainModel):
    """Everything a planner states about a line. Times are ticks of ``time_unit`` after ``start``."""

    name: Text = "scenario"
    description: Text = ""
    time_unit: TimeUnit = TimeUnit.MINUTE
    start: datetime | None = Field(default=None, description="ISO-8601 UTC time of tick 0.")
    plant: Plant
    orders: Annotated[list[Order], Field(min_length=1, max_length=MAX_ORDERS)]
    baseline: Schedule | None = None
    policy: Policy = Policy()
    events: Annotated[list[Event], Field(max_length=MAX_EVENTS)] = Field(
        default=[], description="The event script for `lean-scheduler repair`."
    )
    rules: Annotated[list[Rule], Field(max_length=MAX_RULES)] = Field(
        default=[], description="Lean decision rules the engine evaluates on the line's KPIs."
    )
    metadata: dict[str, JsonValue] = {}

    @field_validator("start", mode="before")
    @classmethod
    def _utc(cls, value: Any) -> Any:
        return None if value is None else parse_utc(value)

    @model_validator(mode="wrap")
    @classmethod
    def _with_timebase(cls, data: Any, handler: ModelWrapValidatorHandler[Scenario]) -> Scenario:
        """Validate nested times against this scenario's own start and unit."""
        with use_timebase(_timebase_of(data)):
            return handler(data)

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        seen_orders: set[str] = set()
        seen_ops: set[str] = set()
        for i, order in enumerate(self.orders):
            self._check_order(order, f"orders[{i}]", seen_orders, seen_ops)
        if len(seen_ops) > MAX_OPERATIONS:
            raise invalid("orders", f"{len(seen_ops)} operations, over the limit of {MAX_OPERATIONS}")
        if self.baseline is not None:
            self.check_schedule(self.baseline, "baseline.assignments")
        check_rules(self.rules, self.plant)
        self.check_events(self.events, "events")
        return self

    def _check_order(self, order: Order, where: str, seen_orders: set[str], seen_ops: set[str]) -> None:
        """Unique ids, known stations, machines of the operation's station; adds the ids seen."""
        stations = {s.id: [m.id for m in s.machines] for s in self.plant.stations}
        if order.id in seen_orders:
            raise invalid(f"{where}.id", f"duplicate order id {show(order.id)}")
        seen_orders.add(order.id)
        for k, op in enumerate(order.operations):
            at = f"{where}.operations[{k}]"
            if op.id in seen_ops:
                raise invalid(f"{at}.id", f"duplicate operation id {show(op.id)}")
            seen_ops.add(op.id)
            if op.station not in stations:
                raise invalid(f"{at}.station", f"unknown station {show(op.station)}")
            for j, option in enumerate(op.machines or []):
                if option.machine not in stations[op.station]:
                    raise invalid(
                        f"{at}.machines[{j}].machine",
                        f"machine {show(option.machine)} is not in station {show(op.station)}",
                    )

    def check_events(self, events: list[Event], path: str = "events") -> None:
        """Raise if an event names an unknown machine, station, order or operation (orders
        added by earlier events of the list count as known)."""
        orders = {o.id for o in self.orders}
        ops = {op.id for o in self.orders for op in o.operations}
        for i, event in enumerate(events):
            self.check_event(event, f"{path}[{i}]", orders, ops)

    def check_event(
        self, event: Event, where: str = "event", orders: set[str] | None = None, ops: set[str] | None = None
    ) -> None:
        """Raise if ``event`` names something unknown; ``orders``/``ops`` are the ids known
        so far (default: the scenario's) and take an added order's ids."""
        orders = {o.id for o in self.orders} if orders is None else orders
        ops = {op.id for o in self.orders for op in o.operations} if ops is None else ops
        machines = set(self.plant.station_of_machine())
        stations = {s.id for s in self.plant.stations}
        machine = getattr(event, "machine", None)
        if machine is not None and machine not in machines:
            raise invalid(f"{where}.machine", f"unknown machine {show(machine)}")
        if isinstance(event, CycleTimeObserved) and event.station is not None and event.station not in stations:
            raise invalid(f"{where}.station", f"unknown station {show(event.station)}")
        if isinstance(event, OperationStarted | OperationCompleted) and event.operation not in ops:
            raise invalid(f"{where}.operation", f"unknown operation {show(event.operation)}")
        if isinstance(event, OrderCancelled) and event.order_id not in orders:
            raise invalid(f"{where}.order_id", f"unknown order {show(event.order_id)}")
        if isinstance(event, ParameterChanged | RuleJudged | RuleRevised):
            self._check_rule_event(event, where)
        if isinstance(event, OrderAdded):
            self._check_order(event.order, f"{where}.order", orders, ops)
            if len(ops) > MAX_OPERATIONS:
                raise invalid(f"{where}.order", f"the plan would hold {len(ops)} operations, over {MAX_OPERATIONS}")

    def _check_rule_event(self, event: ParameterChanged | RuleJudged | RuleRevised, where: str) -> None:
        rules = {r.id for r in self.rules}
        if event.rule is not None and event.rule not in rules:
            raise invalid(f"{where}.rule", f"unknown rule {show(event.rule)}")
        if not isinstance(event, ParameterChanged):
            return
        if event.buffer is not None and event.buffer not in {b.id for b in self.plant.buffers}:
            raise invalid(f"{where}.buffer", f"unknown buffer {show(event.buffer)}")
        if event.parameter == "conwip" and self.plant.conwip is None:
            raise invalid(f"{where}.parameter", "the plant has no CONWIP cap to change")

    def check_schedule(self, schedule: Schedule, path: str = "assignments") -> None:
        """Raise if ``schedule`` does not assign every operation once to an eligible machine.

        Feasibility (overlaps, precedence, caps) is the checker's business, not this one's.
        """
        eligible = self.eligible_machines()
        job_of = {op.id: order.id for order in self.orders for op in order.operations}
        covered: set[str] = set()
        for i, a in enumerate(schedule.assignments):
            where = f"{path}[{i}]"
            if a.operation_id not in eligible:
                raise invalid(f"{where}.operation_id", f"unknown operation {show(a.operation_id)}")
            if a.operation_id in covered:
                raise invalid(f"{where}.operation_id", f"operation {show(a.operation_id)} is assigned twice")
            covered.add(a.operation_id)
            if a.machine_id not in eligible[a.operation_id]:
                raise invalid(
                    f"{where}.machine_id",
                    f"machine {show(a.machine_id)} is not eligible for operation {show(a.operation_id)}",
                )
            if a.job_id is not None and a.job_id != job_of[a.operation_id]:
                raise invalid(
                    f"{where}.job_id",
                    f"operation {show(a.operation_id)} belongs to order "
                    f"{show(job_of[a.operation_id])}, not {show(a.job_id)}",
                )
        missing = [op for op in eligible if op not in covered]
        if missing:
            raise invalid(
                path,
                f"the schedule does not cover {len(missing)} operation(s), first {show(missing[0])}",
            )

    @property
    def timebase(self) -> TimeBase:
        return TimeBase(self.time_unit, self.start)

    def eligible_machines(self) -> dict[str, dict[str, int]]:
        """Operation id -> {machine id: duration in ticks}."""
        station_machines = {s.id: [m.id for m in s.machines] for s in self.plant.stations}
        return {
            op.id: dict(op.options(station_machines[op.station], order.quantity))
            for order in self.orders
            for op in order.operations
        }


def _timebase_of(data: Any) -> TimeBase:
    """The time base declared by raw scenario data; lenient, as the fields validate themselves."""
    if isinstance(data, Scenario):
        return data.timebase
    unit, start = TimeUnit.MINUTE, None
    if isinstance(data, dict):
        with contextlib.suppress(ValueError):
            unit = TimeUnit(data.get("time_unit", unit))
        try:
            start = parse_utc(data["start"]) if data.get("start") is not None else None
        except Exception:  # reported by the field's own validation
            start = None
    return TimeBase(unit, start)


def load_schedule(data: Any, scenario: Scenario) -> Schedule:
    """Validate a schedule (e.g. a plan file) against a scenario, times in its time base.

    Raises pydantic's ValidationError or :class:`InputError`, both naming the field.
    """
    with use_timebase(scenario.timebase):
        schedule = Schedule.model_validate(data)
    try:
        scenario.check_schedule(schedule)
    except PydanticCustomError as error:
        raise InputError.from_custom(error) from None
    return schedule
