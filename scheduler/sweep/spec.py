"""SWEEP.yaml: the axes of a sweep of pull configurations, the disturbances every run meets,
the horizon, and the objective that ranks them. Validated like every other file: each
problem names its field (``axes.kanban.bend->weld[2]``) and the value."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from scheduler.domain import InputError, Scenario
from scheduler.domain.base import BufferId, DomainModel
from scheduler.domain.errors import FieldProblem, field_problems, invalid
from scheduler.domain.files import read_data

KPIS = ("throughput", "lead_time_mean", "wip_mean", "waiting_mean", "takt_adherence", "bottleneck_utilisation",
        "bottleneck_starvation", "blocking", "schedule_adherence", "completed")  # fmt: skip
"""The realised KPIs a run measures over the horizon (``wip_mean``: the mean number of jobs
in all buffers together); an objective weighs these."""

MAX_CONFIGURATIONS = 100_000
"""More than this is a typo in a range, not a sweep."""


class Span(DomainModel):
    """A range of whole values, ``{from: 2, to: 10, step: 2}`` (both ends included)."""

    start: Annotated[int, Field(alias="from", ge=0, le=1_000_000)]
    to: Annotated[int, Field(ge=0, le=1_000_000)]
    step: Annotated[int, Field(ge=1, le=1_000_000)] = 1

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if self.to < self.start:
            raise invalid("to", f"{self.to} is below from ({self.start})")
        if (self.to - self.start) // self.step >= MAX_CONFIGURATIONS:
            raise invalid("step", f"{(self.to - self.start) // self.step + 1} values: at most {MAX_CONFIGURATIONS}")
        return self

    def values(self) -> list[int]:
        return list(range(self.start, self.to + 1, self.step))


Values = list[Annotated[int, Field(ge=0, le=1_000_000)]] | Span


def _listed(values: Values) -> list[int]:
    return values.values() if isinstance(values, Span) else list(values)


class Axes(DomainModel):
    """What varies. An axis left out keeps the scenario's own value."""

    kanban: dict[BufferId, Values] = {}
    """A buffer's kanban cap (``UPSTREAM->DOWNSTREAM``)."""
    conwip: Values | None = None
    bottleneck_buffer: Values | None = None
    """The drum's time buffer, in ticks."""
    preset: list[Literal["efficiency", "stability"]] | None = None
    """The repair policy preset the engine repairs with."""
    rules: list[bool] | None = None
    """The scenario's lean rules on (true) or off (false)."""

    @field_validator("kanban", "conwip", "bottleneck_buffer", "preset", "rules")
    @classmethod
    def _not_empty(cls, value: object) -> object:
        if isinstance(value, dict | list) and not value:
            raise ValueError("an axis needs at least one value")
        if isinstance(value, dict):
            for buffer, values in value.items():
                if isinstance(values, list) and not values:
                    raise ValueError(f"{buffer}: an axis needs at least one value")
        return value

    def named(self) -> dict[str, list[object]]:
        """Every axis by its parameter name (``kanban:bend->weld``, ``conwip``, ...), in order."""
        found: dict[str, list[object]] = {f"kanban:{b}": list(_listed(v)) for b, v in self.kanban.items()}
        for name in ("conwip", "bottleneck_buffer"):
            values = getattr(self, name)
            if values is not None:
                found[name] = list(_listed(values))
        if self.preset is not None:
            found["preset"] = list(self.preset)
        if self.rules is not None:
            found["rules"] = list(self.rules)
        return found


class Breakdowns(DomainModel):
    mtbf: Annotated[float, Field(gt=0, le=1e9, allow_inf_nan=False)]
    """Mean ticks between a machine's breakdowns (exponential)."""
    mttr: Annotated[float, Field(gt=0, le=1e9, allow_inf_nan=False)]
    """Mean ticks to repair (exponential)."""


class SlowdownSpec(DomainModel):
    station: str
    factor: Annotated[float, Field(ge=0.01, le=100, allow_inf_nan=False)]
    start: Annotated[int, Field(ge=0)] = 0
    """Ticks after the sweep's start."""


class DisturbanceSpec(DomainModel):
    """What every run meets, the same draws for every configuration of a replication."""

    noise: Annotated[float, Field(ge=0, le=2, allow_inf_nan=False)] = 0.0
    """Coefficient of variation of the lognormal factor on every operation's time."""
    breakdowns: Breakdowns | None = None
    slowdowns: list[SlowdownSpec] = []
    rush_orders: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.0
    """Rush orders per tick (Poisson): each a copy of one of the scenario's orders, released
    when it arrives, due after half its original lead."""


class Halving(DomainModel):
    """Successive halving: every configuration gets ``min_replications``; the best 1/eta go
    on with eta times as many, until the sweep's replications are reached."""

    eta: Annotated[int, Field(ge=2, le=16)] = 3
    min_replications: Annotated[int, Field(ge=1, le=1000)] = 1


class SweepSpec(DomainModel):
    axes: Axes
    disturbances: DisturbanceSpec = DisturbanceSpec()
    horizon: Annotated[int, Field(ge=1, le=10_000_000)] = 600
    """Ticks the twin runs from the start; the KPIs are measured over them."""
    objective: dict[str, Annotated[float, Field(allow_inf_nan=False)]] = {"throughput": -1.0}
    """KPI -> weight; the weighted sum of the means is minimised (a negative weight: more is better)."""
    search: Literal["grid", "halving"] = "grid"
    halving: Halving = Halving()
    replications: Annotated[int, Field(ge=1, le=1000)] = 3
    seed: Annotated[int, Field(ge=0, le=2**31)] = 0
    repair_budget_ms: Annotated[int, Field(ge=10, le=600_000)] = 40
    """The engine's repair budget in the twin, in deterministic units (40: right-shift and
    left-shift, no CP-SAT; every run reproducible)."""

    @field_validator("objective")
    @classmethod
    def _known(cls, objective: dict[str, float]) -> dict[str, float]:
        if not objective:
            raise ValueError("name at least one KPI")
        for kpi in objective:
            if kpi not in KPIS:
                raise ValueError(f"unknown KPI {kpi!r}; one of {', '.join(KPIS)}")
        return objective

    @model_validator(mode="after")
    def _size(self) -> SweepSpec:
        count = 1
        for values in self.axes.named().values():
            count *= len(values)
        if count > MAX_CONFIGURATIONS:
            raise invalid("axes", f"{count} configurations: at most {MAX_CONFIGURATIONS}")
        return self

    def overridden(self, where: str, replications: int | None = None, seed: int | None = None) -> SweepSpec:
        """This sweep with the replications and seed given elsewhere (command-line flags, a
        request), validated as the file's are; problems named at ``where``."""
        update = {k: v for k, v in (("replications", replications), ("seed", seed)) if v is not None}
        return parse_sweep({**self.model_dump(mode="json", by_alias=True), **update}, where) if update else self

    def against(self, scenario: Scenario, where: str) -> SweepSpec:
        """Checked against ``scenario``: its buffers, stations, CONWIP and drum."""
        buffers = {b.id for b in scenario.plant.buffers}
        for buffer, values in self.axes.kanban.items():
            if buffer not in buffers:
                raise InputError.single(f"{where}: axes.kanban.{buffer}", f"no such buffer; one of {sorted(buffers)}")
            if any(not 1 <= v <= 1000 for v in _listed(values)):
                raise InputError.single(f"{where}: axes.kanban.{buffer}", "a kanban cap is between 1 and 1000")
        if self.axes.conwip is not None and scenario.plant.conwip is None:
            raise InputError.single(f"{where}: axes.conwip", "the scenario has no CONWIP cap to vary")
        if self.axes.conwip is not None and any(v < 1 for v in _listed(self.axes.conwip)):
            raise InputError.single(f"{where}: axes.conwip", "a CONWIP cap is at least 1")
        if self.axes.bottleneck_buffer is not None and scenario.plant.bottleneck is None:
            raise InputError.single(f"{where}: axes.bottleneck_buffer", "the scenario names no bottleneck")
        stations = {s.id for s in scenario.plant.stations}
        for k, slowdown in enumerate(self.disturbances.slowdowns):
            if slowdown.station not in stations:
                raise InputError.single(f"{where}: disturbances.slowdowns[{k}].station",
                                        f"unknown station {slowdown.station!r}")  # fmt: skip
        return self


def load_sweep(path: Path, scenario: Scenario) -> SweepSpec:
    """SWEEP.yaml (or .json), validated and checked against ``scenario``."""
    data = read_data(path)
    if not isinstance(data, dict):
        raise InputError.single(str(path), f"a sweep file must be a mapping, got {type(data).__name__}")
    return parse_sweep(data, str(path)).against(scenario, str(path))


def parse_sweep(data: object, where: str = "sweep") -> SweepSpec:
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as error:
        named = [FieldProblem(f"{where}: {p.field}" if p.field else where, p.message) for p in field_problems(error)]
        raise InputError(named) from None
