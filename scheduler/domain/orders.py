"""Orders (jobs) and their operations."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, model_validator

from scheduler.domain.base import DomainModel, Id
from scheduler.domain.bounds import (
    MAX_DURATION,
    MAX_ORDER_WEIGHT,
    MAX_QUANTITY,
    Amount,
    Duration,
    PositiveAmount,
)
from scheduler.domain.errors import invalid, show
from scheduler.domain.timebase import Tick

MAX_OPERATIONS_PER_ORDER = 1_000


class Timing(DomainModel):
    """How long an operation takes: a fixed ``duration``, or ``setup + quantity x cycle_time``.

    Times are in ticks; a computed duration is rounded up to a whole tick.
    """

    duration: Duration | None = None
    setup: Amount | None = None
    cycle_time: PositiveAmount | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Timing:
        if self.duration is not None and (self.setup is not None or self.cycle_time is not None):
            raise invalid("duration", "give either duration or setup/cycle_time, not both")
        if self.setup is not None and self.cycle_time is None:
            raise invalid("cycle_time", "setup needs a cycle_time")
        return self

    @property
    def given(self) -> bool:
        return self.duration is not None or self.cycle_time is not None

    def ticks(self, quantity: int) -> int:
        if self.duration is not None:
            return self.duration
        assert self.cycle_time is not None
        return max(1, math.ceil((self.setup or 0.0) + quantity * self.cycle_time - 1e-9))


class MachineOption(Timing):
    """An eligible machine for an operation; without its own timing it takes the operation's."""

    machine: Id


class Operation(Timing):
    """One step of an order at a station.

    Eligible machines: those listed in ``machines`` (each with its own timing or the
    operation's), or else every machine of the station with the operation's timing.
    ``after`` lists predecessor operations of the same order (``routing: dag`` only).
    """

    id: Id
    station: Id
    machines: list[MachineOption] | None = None
    after: list[Id] = []

    @model_validator(mode="after")
    def _has_timing(self) -> Operation:
        if self.machines is not None:
            if not self.machines:
                raise invalid("machines", f"operation {show(self.id)} has no eligible machine")
            for j, option in enumerate(self.machines):
                if not option.given and not self.given:
                    raise invalid(f"machines[{j}]", f"no duration or cycle_time for machine {show(option.machine)}")
        elif not self.given:
            raise invalid("duration", f"operation {show(self.id)} needs a duration or a cycle_time")
        return self

    def options(self, station_machines: list[str], quantity: int) -> list[tuple[str, int]]:
        """(machine id, duration in ticks) for every eligible machine."""
        if self.machines is None:
            return [(machine, self.ticks(quantity)) for machine in station_machines]
        return [(o.machine, (o if o.given else self).ticks(quantity)) for o in self.machines]


class Order(DomainModel):
    """A job: released at ``release``, due at ``due``, routed through its operations.

    ``routing: sequence`` runs the operations in the order listed; ``routing: dag`` uses
    each operation's ``after`` list instead.
    """

    id: Id
    family: str = "default"
    release: Tick = 0
    due: Tick | None = None
    weight: Annotated[int, Field(ge=1, le=MAX_ORDER_WEIGHT)] = 1
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)] = 1
    routing: Literal["sequence", "dag"] = "sequence"
    operations: Annotated[list[Operation], Field(min_length=1, max_length=MAX_OPERATIONS_PER_ORDER)]

    @model_validator(mode="after")
    def _routing(self) -> Order:
        if self.due is not None and self.due < self.release:
            raise invalid("due", f"due {self.due} is before release {self.release}")
        ids = [op.id for op in self.operations]
        for k, op in enumerate(self.operations):
            _check_length(op, self.quantity, f"operations[{k}]")
            if ids.count(op.id) > 1:
                raise invalid(f"operations[{k}].id", f"duplicate operation id {show(op.id)}")
            for pred in op.after:
                if self.routing == "sequence":
                    raise invalid(
                        f"operations[{k}].after", "after needs routing: dag (a sequence is ordered as listed)"
                    )
                if pred not in ids:
                    raise invalid(f"operations[{k}].after", f"unknown operation {show(pred)} in order {show(self.id)}")
                if pred == op.id:
                    raise invalid(f"operations[{k}].after", f"operation {show(op.id)} cannot follow itself")
        cycle = _find_cycle({op.id: op.after for op in self.operations})
        if cycle:
            raise invalid("operations", "routing has a cycle: " + " -> ".join(cycle))
        return self

    def precedences(self) -> list[tuple[str, str]]:
        """(predecessor id, successor id) pairs of the routing."""
        if self.routing == "sequence":
            return [(a.id, b.id) for a, b in zip(self.operations, self.operations[1:], strict=False)]
        return [(pred, op.id) for op in self.operations for pred in op.after]


def _check_length(op: Operation, quantity: int, where: str) -> None:
    """setup + quantity x cycle_time must stay within the longest duration there is."""
    for j, timing in [(None, op), *enumerate(op.machines or [])]:
        if timing.cycle_time is None:
            continue
        length = (timing.setup or 0.0) + quantity * timing.cycle_time
        if length > MAX_DURATION:
            at = where if j is None else f"{where}.machines[{j}]"
            raise invalid(
                f"{at}.cycle_time",
                f"setup + quantity x cycle_time is {length:.6g} ticks, over the {MAX_DURATION}-tick limit",
            )


def _find_cycle(after: dict[str, list[str]]) -> list[str]:
    """A cycle in the predecessor graph as a list of ids (first repeated last), or []."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for pred in after.get(node, []):
            if state.get(pred) == 1:
                return [*stack[stack.index(pred) :], pred]
            if pred not in state and (found := visit(pred)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in after:
        if node not in state and (found := visit(node)):
            return found
    return []
