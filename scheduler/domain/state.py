"""The state a repair leaves: what ``lean-scheduler repair --out`` writes beside the plan so
that ``lean-scheduler check`` can verify it in the situation the events made."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from scheduler.domain.base import DomainModel, Id
from scheduler.domain.bounds import MAX_FACTOR, MAX_OPERATIONS, MAX_ORDERS, MAX_WINDOWS
from scheduler.domain.errors import invalid, show
from scheduler.domain.orders import Order
from scheduler.domain.timebase import Tick

Factor = Annotated[float, Field(ge=1 / MAX_FACTOR, le=MAX_FACTOR, allow_inf_nan=False)]


class RepairState(DomainModel):
    """``now``; the orders after the events (rush orders added, cancelled ones trimmed);
    the frozen operations as (machine, start, end); downtime windows; cycle-time factors."""

    now: Tick
    orders: Annotated[list[Order], Field(min_length=1, max_length=MAX_ORDERS)]
    facts: Annotated[dict[Id, tuple[Id, Tick, Tick]], Field(max_length=MAX_OPERATIONS)] = {}
    downtimes: Annotated[list[tuple[Id, Tick, Tick]], Field(max_length=MAX_WINDOWS)] = []
    factors: dict[Id, Factor] = {}
    machine_factors: dict[Id, Factor] = {}

    @model_validator(mode="after")
    def _facts_name_operations(self) -> RepairState:
        ops = {op.id for order in self.orders for op in order.operations}
        for op_id, (_, start, end) in self.facts.items():
            if op_id not in ops:
                raise invalid(f"facts.{op_id}", f"unknown operation {show(op_id)}")
            if end <= start:
                raise invalid(f"facts.{op_id}", f"end {end} is not after start {start}")
        return self
