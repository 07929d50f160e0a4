"""What the engine answers to an event, what it has answered, and the rule for an event id
sent again."""

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


class Answers:
    """What a live plan answered, by (source, event id): the last :attr:`KEEP` answers whole;
    of older ones the version and the receipt only (a result holds the problem at its event:
    a megabyte at 5 000 operations, kept for every event it grew without bound). A duplicate
    of an older event gets its first receipt and version with the plan as it is now."""

    KEEP = 16

    def __init__(self) -> None:
        self._whole: dict[tuple[str, str], tuple[Event, RepairResult]] = {}
        self._old: dict[tuple[str, str], tuple[Event, int, Receipt]] = {}

    def first(self, event: Event) -> RepairResult | tuple[int, Receipt] | None:
        """The first answer to ``event``'s id (refused when it says something else), or None."""
        key = (event.source, event.event_id)
        whole = self._whole.get(key)
        if whole is not None:
            refuse_conflicting_duplicate(whole[0], event)
            return whole[1]
        old = self._old.get(key)
        if old is None:
            return None
        refuse_conflicting_duplicate(old[0], event)
        return old[1], old[2]

    def add(self, event: Event, result: RepairResult) -> None:
        self._whole[(event.source, event.event_id)] = (event, result)
        if len(self._whole) > self.KEEP:
            key, (first, oldest) = next(iter(self._whole.items()))
            del self._whole[key]
            self._old[key] = (first, oldest.version, oldest.receipt)


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
