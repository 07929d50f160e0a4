"""Orders (jobs) and their operations."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, PositiveFloat, PositiveInt, model_validator

from scheduler.domain.base import DomainModel, Id
from scheduler.domain.errors import invalid, show
from scheduler.domain.timebase import Tick

NonNegativeFloat = Annotated[float, Field(ge=0)]


class Timing(DomainModel):
    """How long an operation takes: a fixed ``duration``, or ``setup + quantity x cycle_time``.

    Times are in ticks; a computed duration is rounded up to a whole tick.
    """

    duration: PositiveInt | None = None
    setup: NonNegativeFloat | None = None
    cycle_time: PositiveFloat | None = None

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
    weight: PositiveInt = 1
    quantity: PositiveInt = 1
    routing: Literal["sequence", "dag"] = "sequence"
    operations: Annotated[list[Operation], Field(min_length=1)]

    @model_validator(mode="after")
    def _routing(self) -> Order:
        if self.due is not None and self.due < self.release:
            raise invalid("due", f"due {self.due} is before release {self.release}")
        ids = [op.id for op in self.operations]
        for k, op in enumerate(self.operations):
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
