"""Shop-floor events: an envelope (``event_id``, ``source``, optional ``sequence``, ``time``)
and a typed payload, chosen by ``type``. A scenario's event script is a list of these.

``(source, event_id)`` identifies an event: a duplicate has no second effect.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from scheduler.domain.base import BufferId, DomainModel, Id
from scheduler.domain.bounds import (
    MAX_DURATION,
    MAX_EVENTS,
    MAX_FACTOR,
    MAX_KANBAN,
    MAX_QUANTITY,
    MAX_SEQUENCE,
    Duration,
    PositiveAmount,
    Text,
)
from scheduler.domain.errors import UNION_TAGS, invalid
from scheduler.domain.orders import Order
from scheduler.domain.timebase import Tick, parse_utc


class EventBase(DomainModel):
    event_id: Id
    source: Id = "mes"
    sequence: Annotated[int, Field(ge=0, le=MAX_SEQUENCE)] | None = None
    time: Tick = Field(description="When it happened, in ticks (a timestamp is rounded to the nearest tick).")
    at: datetime | None = Field(default=None, description="The exact time as reported, when it was a timestamp.")

    @model_validator(mode="before")
    @classmethod
    def _exact_time(cls, data: Any) -> Any:
        """Keep a reported timestamp as it was, beside the tick it rounds to."""
        if isinstance(data, dict) and isinstance(data.get("time"), str | datetime) and data.get("at") is None:
            with contextlib.suppress(PydanticCustomError):  # the time field reports a bad timestamp itself
                return {**data, "at": parse_utc(data["time"])}
        return data

    def differs_from(self, other: EventBase) -> str | None:
        """The first field in which ``other`` (an event with the same id) says something else."""
        mine, theirs = self.model_dump(exclude={"at"}), other.model_dump(exclude={"at"})
        return next((name for name in mine if mine[name] != theirs.get(name)), None)


class DowntimeStarted(EventBase):
    """A machine stopped. Without ``expected_end`` or ``expected_duration`` the policy's
    default duration is assumed; a later update or end event corrects it."""

    type: Literal["downtime_started"] = "downtime_started"
    machine: Id
    downtime_id: Id
    expected_end: Tick | None = None
    expected_duration: Duration | None = None
    reason: Text = ""

    @model_validator(mode="after")
    def _one_expectation(self) -> DowntimeStarted:
        if self.expected_end is not None and self.expected_duration is not None:
            raise invalid("expected_end", "give expected_end or expected_duration, not both")
        if self.expected_end is not None and self.expected_end <= self.time:
            raise invalid("expected_end", f"expected_end {self.expected_end} is not after time {self.time}")
        return self


class DowntimeUpdated(EventBase):
    type: Literal["downtime_updated"] = "downtime_updated"
    machine: Id
    downtime_id: Id
    expected_end: Tick


class DowntimeEnded(EventBase):
    """The machine is back at ``time``."""

    type: Literal["downtime_ended"] = "downtime_ended"
    machine: Id
    downtime_id: Id


class MaintenancePlanned(EventBase):
    """A stop announced ahead (a maintenance system): ``machine`` cannot work in [start,
    end). It is planned unavailability, not a fact: "now" moves only to the announcement's
    ``time``, and nothing is frozen by it. Sent again with the same ``maintenance_id`` it
    moves the window; with ``end`` equal to ``start`` it withdraws it."""

    type: Literal["maintenance_planned"] = "maintenance_planned"
    machine: Id
    maintenance_id: Id
    start: Tick
    end: Tick
    reason: Text = "planned maintenance"

    @model_validator(mode="after")
    def _ahead(self) -> MaintenancePlanned:
        if self.start < self.time:
            raise invalid("start", f"start {self.start} is before time {self.time}: a stop under way is a "
                                   "downtime_started")  # fmt: skip
        if self.end < self.start:
            raise invalid("end", f"end {self.end} is before start {self.start}")
        return self


class CycleTimeObserved(EventBase):
    """A station (or one of its machines) runs at ``observed`` instead of ``planned`` cycle
    time, or at ``factor`` times its planned durations."""

    type: Literal["cycle_time_observed"] = "cycle_time_observed"
    station: Id | None = None
    machine: Id | None = None
    observed: PositiveAmount | None = None
    planned: PositiveAmount | None = None
    factor: Annotated[float, Field(ge=1 / MAX_FACTOR, le=MAX_FACTOR, allow_inf_nan=False)] | None = None
    samples: Annotated[list[Id], Field(max_length=1000)] = Field(
        default=[], description="The completions the observation rests on (the takt monitor's evidence)."
    )

    @model_validator(mode="after")
    def _what_and_how_much(self) -> CycleTimeObserved:
        if (self.station is None) == (self.machine is None):
            raise invalid("station", "give exactly one of station or machine")
        if self.factor is None and (self.observed is None or self.planned is None):
            raise invalid("factor", "give a factor, or observed and planned cycle times")
        if self.factor is not None and self.observed is not None:
            raise invalid("factor", "give a factor or observed/planned, not both")
        if self.factor is None and not 1 / MAX_FACTOR <= self.ratio <= MAX_FACTOR:
            raise invalid(
                "observed",
                f"observed / planned = {self.ratio:.6g} is outside [{1 / MAX_FACTOR:g}, {MAX_FACTOR:g}]",
            )
        return self

    @property
    def ratio(self) -> float:
        if self.factor is not None:
            return self.factor
        assert self.observed is not None and self.planned is not None
        return self.observed / self.planned


class OperationStarted(EventBase):
    type: Literal["operation_started"] = "operation_started"
    operation: Id
    machine: Id | None = Field(default=None, description="Where it started; default: where it was planned.")


class OperationCompleted(EventBase):
    type: Literal["operation_completed"] = "operation_completed"
    operation: Id
    machine: Id | None = Field(default=None, description="Where it ran; default: where it started, else planned.")
    quantity: Annotated[int, Field(ge=0, le=MAX_QUANTITY)] | None = Field(default=None, description="Units done.")


class OrderAdded(EventBase):
    """A new (rush) order."""

    type: Literal["order_added"] = "order_added"
    order: Order


class ParameterChanged(EventBase):
    """A pull parameter changes from ``time`` on: a buffer's kanban cap, the CONWIP cap,
    the drum's time buffer (``value``), or the repair preset (``preset``). A rule's firing
    (source ``rules``) or a planner's audited change; everything not started is re-planned."""

    type: Literal["parameter_changed"] = "parameter_changed"
    parameter: Literal["kanban", "conwip", "drum_buffer", "preset"]
    buffer: BufferId | None = None
    value: Annotated[int, Field(ge=0, le=MAX_DURATION)] | None = None
    preset: Literal["efficiency", "stability"] | None = None
    rule: Id | None = Field(default=None, description="The rule that fired, if one did.")
    reason: Text = ""
    kpi_before: float | None = Field(default=None, description="The rule's KPI over its window when it fired.")
    baseline: float | None = Field(
        default=None,
        description="The expected KPI over the `within` ticks before the firing: what it is judged against.",
    )
    previous_value: Annotated[int, Field(ge=0, le=MAX_DURATION)] | None = None
    previous_preset: Literal["efficiency", "stability", "custom"] | None = None
    """What the parameter was before (what a revert restores)."""

    @model_validator(mode="after")
    def _what(self) -> ParameterChanged:
        if self.parameter == "preset":
            if self.preset is None or self.value is not None:
                raise invalid("preset", "a preset change names the preset and no value")
        elif self.value is None or self.preset is not None:
            raise invalid("value", f"a {self.parameter} change gives a value and no preset")
        if (self.parameter == "kanban") != (self.buffer is not None):
            raise invalid("buffer", "a kanban change names its buffer, and only a kanban change does")
        if self.parameter in ("kanban", "conwip") and self.value is not None and not 1 <= self.value <= MAX_KANBAN:
            raise invalid("value", f"a {self.parameter} cap lies in [1, {MAX_KANBAN}], not {self.value}")
        return self


class RuleJudged(EventBase):
    """A rule's firing judged ``within`` ticks after it (or a firing the twin vetoed)."""

    type: Literal["rule_judged"] = "rule_judged"
    rule: Id
    firing: Id = Field(description="The event id of the firing judged (of the veto: the firing it stopped).")
    verdict: Literal["effective", "ineffective", "harmful", "vetoed"]
    kpi_before: float | None = None
    kpi_after: float | None = None


class RuleRevised(EventBase):
    """A rule's revision: its step halved, suspended, or resumed (by a planner)."""

    type: Literal["rule_revised"] = "rule_revised"
    rule: Id
    revision: Literal["halve_step", "suspend", "resume"]
    step: Annotated[int, Field(ge=-MAX_KANBAN, le=MAX_KANBAN)] | None = Field(
        default=None, description="The rule's step from now on (after halve_step)."
    )
    reason: Text = ""


class OrderCancelled(EventBase):
    """Operations of the order not yet started are dropped; what has started stays."""

    type: Literal["order_cancelled"] = "order_cancelled"
    order_id: Id


class PlanImproved(EventBase):
    """The background improver's record of a version it published between events (source
    ``improver``): the plan comes with it in the log; taken from elsewhere it changes nothing."""

    type: Literal["plan_improved"] = "plan_improved"
    based_on: int = Field(ge=1, description="The version it improved on.")
    objective_before: int = Field(ge=0)
    objective_after: int = Field(ge=0)


Event = Annotated[
    DowntimeStarted
    | DowntimeUpdated
    | DowntimeEnded
    | MaintenancePlanned
    | CycleTimeObserved
    | OperationStarted
    | OperationCompleted
    | OrderAdded
    | OrderCancelled
    | ParameterChanged
    | RuleJudged
    | RuleRevised
    | PlanImproved,
    Field(discriminator="type"),
]

EVENT_TYPES = (
    "downtime_started",
    "downtime_updated",
    "downtime_ended",
    "maintenance_planned",
    "cycle_time_observed",
    "operation_started",
    "operation_completed",
    "order_added",
    "order_cancelled",
    "parameter_changed",
    "rule_judged",
    "rule_revised",
    "plan_improved",
)
UNION_TAGS.update(EVENT_TYPES)


class EventScript(DomainModel):
    """A file of events (``lean-scheduler repair --events``)."""

    events: Annotated[list[Event], Field(max_length=MAX_EVENTS)]
