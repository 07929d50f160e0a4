"""What the engine answers to an event, and the rule for an event id sent again."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from scheduler.domain import InputError, Scenario, Schedule
from scheduler.domain.events import Event
from scheduler.problem import ProblemData, Timetable, schedule_from_timetable
from scheduler.repair import Receipt


@dataclass(frozen=True)
class RepairResult:
    version: int
    receipt: Receipt
    problem: ProblemData
    """The problem the plan was checked against (frozen at the event's time)."""
    timetable: Timetable

    @cached_property
    def schedule(self) -> Schedule:
        """The plan as a schedule, built when asked for (5 000 assignments cost 30 ms)."""
        return schedule_from_timetable(self.problem, self.timetable)


def within_range(plan: Timetable, scenario: Scenario, field: str) -> None:
    """A plan must end inside the time range a scenario can write (a slowed station can push it out)."""
    latest, most = max(plan.end, default=0), scenario.timebase.max_tick
    if latest > most:
        raise InputError.single(field, f"the plan would end at tick {latest}, beyond the plan's range (tick {most})")


def refuse_conflicting_duplicate(first: Event, again: Event) -> None:
    """A resent event id must say the same as the first time."""
    field_name = first.differs_from(again)
    if field_name is not None:
        raise InputError.single(
            f"event.{field_name}",
            f"event {again.event_id!r} from {again.source!r} was already taken with another {field_name} "
            f"({getattr(first, field_name)!r}, now {getattr(again, field_name)!r})",
        )
