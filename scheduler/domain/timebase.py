"""Time in scenarios: integer ticks of a declared unit, or ISO-8601 UTC timestamps.

Inside ``scheduler/`` time is always an integer number of ticks from the scenario's
start. Scenario files may write a time as such an integer, or as an ISO-8601 timestamp
with a UTC offset (any precision), which is converted with the scenario's ``start`` and
``time_unit`` to the nearest tick (halves round up). The conversion needs the enclosing scenario's time base
while nested models are validated; :func:`use_timebase` provides it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from scheduler.domain.bounds import max_tick


class TimeUnit(StrEnum):
    """The length of one tick. ``tick`` has no wall-clock meaning (job-shop instances)."""

    TICK = "tick"
    SECOND = "second"
    MINUTE = "minute"
    HOUR = "hour"

    @property
    def seconds(self) -> int | None:
        return {"tick": None, "second": 1, "minute": 60, "hour": 3600}[self.value]


@dataclass(frozen=True)
class TimeBase:
    unit: TimeUnit
    start: datetime | None

    def to_ticks(self, moment: datetime) -> int:
        if self.start is None or self.unit.seconds is None:
            raise PydanticCustomError(
                "time",
                "a timestamp needs the scenario's start and a time_unit other than tick",
            )
        elapsed = moment - self.start
        micro = (elapsed.days * 86_400 + elapsed.seconds) * 1_000_000 + elapsed.microseconds
        unit = self.unit.seconds * 1_000_000
        ticks = (micro + unit // 2) // unit  # the nearest tick, halves up (exact integer arithmetic)
        return self.bounded(ticks, moment.isoformat())

    @property
    def max_tick(self) -> int:
        return max_tick(self.unit.seconds)

    def bounded(self, ticks: int, shown: object) -> int:
        """``ticks`` when it lies in [0, max_tick], else a time error showing ``shown``."""
        if not 0 <= ticks <= self.max_tick:
            raise PydanticCustomError(
                "time",
                "time {value} is outside the plan's range: ticks 0 to {most} ({unit}s from the start)",
                {"value": str(shown), "most": self.max_tick, "unit": self.unit.value},
            )
        return ticks

    def to_datetime(self, ticks: int) -> datetime | None:
        """The wall-clock time of a tick (None without a start, or beyond the calendar)."""
        if self.start is None or self.unit.seconds is None:
            return None
        try:
            return self.start + timedelta(seconds=ticks * self.unit.seconds)
        except OverflowError:
            return None


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""Timestamps (a scenario's start, event times) lie in these years."""

_current: ContextVar[TimeBase | None] = ContextVar("timebase", default=None)


@contextlib.contextmanager
def use_timebase(base: TimeBase) -> Iterator[None]:
    """Validate times inside this block against ``base``."""
    token = _current.set(base)
    try:
        yield
    finally:
        _current.reset(token)


def parse_utc(value: object) -> datetime:
    """An aware datetime from an ISO-8601 string or datetime; naive ones are refused."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError(
                "time",
                "{value} is neither an integer tick nor an ISO-8601 timestamp",
                {"value": repr(value)},
            ) from None
    if not isinstance(value, datetime):
        raise PydanticCustomError("time", "expected an ISO-8601 timestamp, got {value}", {"value": repr(value)})
    if value.tzinfo is None:
        raise PydanticCustomError(
            "time",
            "timestamp {value} has no UTC offset (write Z or +00:00)",
            {"value": value.isoformat()},
        )
    if not EARLIEST <= value <= LATEST:
        raise PydanticCustomError(
            "time",
            "timestamp {value} is outside {earliest} to {latest}",
            {"value": value.isoformat(), "earliest": EARLIEST.year, "latest": LATEST.year},
        )
    return value.astimezone(UTC)


def _to_ticks(value: object) -> object:
    if isinstance(value, bool):
        raise PydanticCustomError("time", "expected a time, got {value}", {"value": repr(value)})
    base = _current.get() or TimeBase(TimeUnit.TICK, None)
    if isinstance(value, int):
        return base.bounded(value, value)
    if isinstance(value, float) and value.is_integer():
        return base.bounded(int(value), value)
    if isinstance(value, (str, datetime)):
        return base.to_ticks(parse_utc(value))
    raise PydanticCustomError(
        "time", "expected integer ticks or an ISO-8601 timestamp, got {value}", {"value": repr(value)}
    )


_TICK_SCHEMA = {
    "anyOf": [
        {"type": "integer", "minimum": 0, "maximum": max_tick(None)},
        {"type": "string", "format": "date-time", "description": "ISO-8601 with a UTC offset"},
    ]
}
Tick = Annotated[int, BeforeValidator(_to_ticks), WithJsonSchema(_TICK_SCHEMA)]
"""A point in time: integer ticks from the scenario start (ISO-8601 UTC accepted on input)."""
