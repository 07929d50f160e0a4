"""A schedule: one assignment per operation."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from scheduler.domain.base import DomainModel, Id
from scheduler.domain.bounds import MAX_OPERATIONS
from scheduler.domain.errors import invalid
from scheduler.domain.timebase import Tick


class Assignment(DomainModel):
    """Operation ``operation_id`` runs on ``machine_id`` during [start, end)."""

    operation_id: Id
    machine_id: Id
    start: Tick
    end: Tick
    job_id: Id | None = None

    @model_validator(mode="after")
    def _positive_length(self) -> Assignment:
        if self.end <= self.start:
            raise invalid("end", f"end {self.end} is not after start {self.start}")
        return self


class Schedule(DomainModel):
    assignments: Annotated[list[Assignment], Field(max_length=MAX_OPERATIONS)]
