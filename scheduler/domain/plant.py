"""The plant: stations with their machines, buffers with kanban caps, the bottleneck."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from scheduler.domain.base import DomainModel, Id
from scheduler.domain.bounds import (
    MAX_CONWIP,
    MAX_DURATION,
    MAX_KANBAN,
    MAX_MACHINES_PER_STATION,
    MAX_STATIONS,
    MAX_WINDOWS,
    PositiveAmount,
    Text,
)
from scheduler.domain.errors import invalid, show
from scheduler.domain.timebase import Tick


class Machine(DomainModel):
    """One machine (resource) of a station."""

    id: Id
    name: Text = ""


class Station(DomainModel):
    """A process step (work centre) with one or more machines, not necessarily identical."""

    id: Id
    name: Text = ""
    machines: Annotated[list[Machine], Field(min_length=1, max_length=MAX_MACHINES_PER_STATION)]


class Buffer(DomainModel):
    """The buffer between two stations: at most ``kanban`` jobs may wait in it.

    A job waits in the buffer from the end of its operation at ``upstream`` until the start
    of its next operation at ``downstream``.
    """

    upstream: Id
    downstream: Id
    kanban: Annotated[int, Field(ge=1, le=MAX_KANBAN)]

    @property
    def id(self) -> str:
        return f"{self.upstream}->{self.downstream}"


class Unavailability(DomainModel):
    """A window [start, end) in which a machine cannot work: maintenance, breaks, shifts."""

    machine: Id
    start: Tick
    end: Tick
    reason: Text = "maintenance"
    id: Id | None = Field(default=None, description="Set by a maintenance_planned event: its maintenance_id.")

    @model_validator(mode="after")
    def _positive_length(self) -> Unavailability:
        if self.end <= self.start:
            raise invalid("end", f"end {self.end} is not after start {self.start}")
        return self


class Plant(DomainModel):
    """Stations, buffers, unavailability windows and the lean parameters of the line."""

    stations: Annotated[list[Station], Field(min_length=1, max_length=MAX_STATIONS)]
    buffers: Annotated[list[Buffer], Field(max_length=MAX_STATIONS * MAX_STATIONS)] = []
    unavailability: Annotated[list[Unavailability], Field(max_length=MAX_WINDOWS)] = []
    conwip: Annotated[int, Field(ge=1, le=MAX_CONWIP)] | None = None
    takt: PositiveAmount | None = Field(
        default=None, description="Ticks per order the customer demands; derived from due dates when absent."
    )
    bottleneck: Id | None = Field(default=None, description="The drum station; computed from load when not declared.")
    bottleneck_buffer: Annotated[int, Field(ge=0, le=MAX_DURATION)] = Field(
        default=0,
        description="Time buffer in ticks: each predecessor of a bottleneck operation must "
        "end at least this long before it starts.",
    )

    @model_validator(mode="after")
    def _references(self) -> Plant:
        station_ids = [s.id for s in self.stations]
        _unique(station_ids, "stations", "id")
        known_machines: set[str] = set()
        for i, station in enumerate(self.stations):
            for j, machine in enumerate(station.machines):
                if machine.id in known_machines:
                    raise invalid(f"stations[{i}].machines[{j}].id", f"duplicate machine id {show(machine.id)}")
                known_machines.add(machine.id)
        known_stations = set(station_ids)
        pairs: set[tuple[str, str]] = set()
        for i, buffer in enumerate(self.buffers):
            for side in ("upstream", "downstream"):
                if getattr(buffer, side) not in known_stations:
                    raise invalid(f"buffers[{i}].{side}", f"unknown station {show(getattr(buffer, side))}")
            if buffer.upstream == buffer.downstream:
                raise invalid(
                    f"buffers[{i}].downstream", f"a buffer cannot lead from {show(buffer.upstream)} to itself"
                )
            if (buffer.upstream, buffer.downstream) in pairs:
                raise invalid(f"buffers[{i}]", f"duplicate buffer {show(buffer.id)}")
            pairs.add((buffer.upstream, buffer.downstream))
        for i, window in enumerate(self.unavailability):
            if window.machine not in known_machines:
                raise invalid(f"unavailability[{i}].machine", f"unknown machine {show(window.machine)}")
        if self.bottleneck is not None and self.bottleneck not in known_stations:
            raise invalid("bottleneck", f"unknown station {show(self.bottleneck)}")
        return self

    def station_of_machine(self) -> dict[str, str]:
        return {m.id: s.id for s in self.stations for m in s.machines}


def _unique(ids: list[str], collection: str, field: str) -> None:
    """Raise at the second occurrence of an id."""
    seen: set[str] = set()
    for i, item_id in enumerate(ids):
        if item_id in seen:
            raise invalid(f"{collection}[{i}].{field}", f"duplicate id {show(item_id)}")
        seen.add(item_id)
