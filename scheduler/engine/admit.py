"""Whether an event may be taken at all, before anything is recorded: its time within reach
of the plan, its fields valid for the scenario, its operation still planned and its
machine eligible. A refused event leaves no trace."""

from __future__ import annotations

from pydantic_core import PydanticCustomError

from scheduler.domain import InputError, Scenario
from scheduler.domain.events import Event, OperationCompleted, OperationStarted
from scheduler.problem import Position, ProblemData


def admit(event: Event, plan: dict[str, Position], scenario: Scenario, problem: ProblemData,
          default_downtime: int) -> None:  # fmt: skip
    """Raise InputError naming the field when ``event`` cannot be taken on ``plan``."""
    horizon = max((end for _, _, end in plan.values()), default=0)
    if event.time > 2 * horizon + default_downtime:
        raise InputError.single("event.time", f"time {event.time} is far in the future (the plan ends at {horizon})")
    try:
        scenario.check_event(event)
    except PydanticCustomError as error:
        raise InputError.from_custom(error, "event") from None
    if isinstance(event, OperationStarted | OperationCompleted) and event.operation not in plan:
        raise InputError.single("event.operation", f"{event.operation!r} is no longer planned (order cancelled)")
    if isinstance(event, OperationStarted | OperationCompleted) and event.machine is not None:
        i, m = problem.op_index[event.operation], problem.machine_index[event.machine]
        if problem.duration(i, m) is None:
            raise InputError.single("event.machine", f"{event.machine!r} is not eligible for {event.operation!r}")
