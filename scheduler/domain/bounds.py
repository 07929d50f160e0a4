"""The finite bounds of every number a scenario or an event may carry (docs/service.md
lists them). They keep every time, duration and objective inside what CP-SAT's 64-bit
arithmetic can hold, and every collection inside what one process can plan."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_TICK = 1_000_000_000
"""The latest time in ticks (for units with a wall-clock length, at most 200 years)."""
MAX_SPAN_S = 200 * 365 * 24 * 3600
MAX_DURATION = 10_000_000
"""Ticks: an operation's duration, a setup, a cycle time, a downtime, the drum buffer."""
MAX_QUANTITY = 1_000_000
MAX_ORDER_WEIGHT = 10_000
MAX_KANBAN = 100_000
MAX_CONWIP = 1_000_000
MAX_FACTOR = 100.0
"""Cycle-time ratios (observed / planned, or a factor) lie in [1 / MAX_FACTOR, MAX_FACTOR]."""
MAX_OPERATIONS = 50_000
"""Operations in one scenario (orders added by events count)."""
MAX_ORDERS = 20_000
MAX_STATIONS = 1_000
MAX_MACHINES_PER_STATION = 1_000
MAX_WINDOWS = 100_000
MAX_EVENTS = 100_000
"""Events in one scenario script or event file."""
MAX_TEXT = 10_000
"""Characters of a free-text field (names, descriptions, reasons)."""
MAX_SEQUENCE = 2**62

Duration = Annotated[int, Field(ge=1, le=MAX_DURATION)]
Amount = Annotated[float, Field(ge=0, le=MAX_DURATION, allow_inf_nan=False)]
"""A non-negative real number of ticks (a setup)."""
PositiveAmount = Annotated[float, Field(gt=0, le=MAX_DURATION, allow_inf_nan=False)]
Text = Annotated[str, Field(max_length=MAX_TEXT)]


def max_tick(unit_seconds: int | None) -> int:
    """The latest tick for a unit of ``unit_seconds`` (None: ticks without a wall clock)."""
    return MAX_TICK if unit_seconds is None else min(MAX_TICK, MAX_SPAN_S // unit_seconds)
