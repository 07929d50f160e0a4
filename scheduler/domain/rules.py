"""Lean decision rules: "when a realised KPI over a window crosses a threshold, change a
pull parameter by a bounded step, and expect the KPI to move within so many ticks".

A scenario declares them under ``rules`` (or a rules file holds them: the same schema).
``docs/lean.md`` says how they are evaluated, judged and revised.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from scheduler.domain.base import BufferId, DomainModel, Id
from scheduler.domain.bounds import MAX_DURATION, MAX_KANBAN, Text
from scheduler.domain.errors import invalid, show
from scheduler.domain.plant import Plant

Kpi = Literal[
    "throughput",
    "takt_adherence",
    "lead_time_mean",
    "wip_mean",
    "wip_peak",
    "waiting_mean",
    "bottleneck_utilisation",
    "bottleneck_starvation",
    "blocking",
    "schedule_adherence",
]
PER_BUFFER = ("wip_mean", "wip_peak")
"""KPIs measured per buffer: a rule on them names the buffer."""
Parameter = Literal["kanban", "conwip", "drum_buffer", "preset"]
Window = Annotated[int, Field(ge=1, le=MAX_DURATION)]
Threshold = Annotated[float, Field(ge=-1e12, le=1e12, allow_inf_nan=False)]
Step = Annotated[int, Field(ge=-MAX_KANBAN, le=MAX_KANBAN)]
Bound = Annotated[int, Field(ge=0, le=MAX_DURATION)]
MAX_RULES = 100


class _Crossing(DomainModel):
    kpi: Kpi
    buffer: BufferId | None = Field(default=None, description="The buffer (UP->DOWN) of a per-buffer KPI.")
    above: Threshold | None = None
    below: Threshold | None = None

    @model_validator(mode="after")
    def _one_side(self) -> _Crossing:
        if (self.above is None) == (self.below is None):
            raise invalid("above", "give exactly one of above or below")
        return self

    def met(self, value: float) -> bool:
        return value > self.above if self.above is not None else value < (self.below or 0.0)

    @property
    def threshold(self) -> float:
        return self.above if self.above is not None else (self.below or 0.0)


class Condition(_Crossing):
    """The rule fires when the KPI over the last ``window`` ticks is above (below) the threshold."""

    window: Window


class Expectation(_Crossing):
    """``within`` ticks of a firing, the KPI over those ticks should be above (below) the threshold."""

    within: Window


class Action(DomainModel):
    """What a firing changes: ``kanban`` of ``buffer``, ``conwip``, ``drum_buffer`` (the
    drum's time buffer in ticks), all by ``step`` inside [min, max]; or ``preset``: the
    repair preset ``value``."""

    set: Parameter
    buffer: BufferId | None = None
    step: Step = 0
    min: Bound = 0
    max: Bound = MAX_KANBAN
    value: Literal["efficiency", "stability"] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Action:
        if self.set == "preset":
            if self.value is None:
                raise invalid("value", "a preset action names the preset (efficiency or stability)")
            return self
        if self.value is not None:
            raise invalid("value", f"value is for preset actions, not {self.set}")
        if self.step == 0:
            raise invalid("step", f"a {self.set} action needs a step other than 0")
        if self.min > self.max:
            raise invalid("min", f"min {self.min} is above max {self.max}")
        if self.set == "kanban" and self.buffer is None:
            raise invalid("buffer", "a kanban action names its buffer (UP->DOWN)")
        if self.set in ("kanban", "conwip") and self.min < 1:
            raise invalid("min", f"a {self.set} cap is at least 1, not {self.min}")
        return self


class Rule(DomainModel):
    id: Annotated[Id, Field(max_length=100)]
    description: Text = ""
    when: Condition
    then: Action
    expect: Expectation
    cooldown: Annotated[int, Field(ge=0, le=MAX_DURATION)] = 0
    """Ticks after a firing (or a veto) before the rule may fire again."""
    warmup: Annotated[int, Field(ge=0, le=MAX_DURATION)] = 0
    """No firing before this tick: a line's start-up (an empty drum) is not a deviation."""
    verify: Literal["none", "twin"] = "none"
    """``twin``: fire only if the twin, run from the live state for ``horizon`` ticks with
    and without the action, predicts the expected improvement."""
    horizon: Window | None = None
    """The twin's look-ahead (default: ``expect.within``)."""


class RuleSet(DomainModel):
    """A rules file (``--rules``)."""

    rules: Annotated[list[Rule], Field(max_length=MAX_RULES)]


def check_rules(rules: list[Rule], plant: Plant, path: str = "rules") -> None:
    """Raise naming the field if a rule repeats an id, names an unknown buffer, leaves out
    the buffer of a per-buffer KPI, or acts on CONWIP in a plant without it."""
    buffers = {b.id for b in plant.buffers}
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        at = f"{path}[{i}]"
        if rule.id in seen:
            raise invalid(f"{at}.id", f"duplicate rule id {show(rule.id)}")
        seen.add(rule.id)
        for part, crossing in (("when", rule.when), ("expect", rule.expect)):
            if crossing.kpi in PER_BUFFER and crossing.buffer is None:
                raise invalid(f"{at}.{part}.buffer", f"{crossing.kpi} is per buffer: name one (UP->DOWN)")
            if crossing.kpi not in PER_BUFFER and crossing.buffer is not None:
                raise invalid(f"{at}.{part}.buffer", f"{crossing.kpi} is not per buffer")
            if crossing.buffer is not None and crossing.buffer not in buffers:
                raise invalid(f"{at}.{part}.buffer", f"unknown buffer {show(crossing.buffer)}")
        action = rule.then
        if action.buffer is not None and action.buffer not in buffers:
            raise invalid(f"{at}.then.buffer", f"unknown buffer {show(action.buffer)}")
        if action.set == "conwip" and plant.conwip is None:
            raise invalid(f"{at}.then.set", "the plant has no CONWIP cap to change")
