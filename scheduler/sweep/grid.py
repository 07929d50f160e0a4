"""Configurations: one value per axis. Their order and names are stable (the axes' order in
the file, then the values' order), so results and run keys do not depend on the executor."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from scheduler.domain import Scenario
from scheduler.sweep.spec import Axes

Value = int | str | bool


@dataclass(frozen=True)
class Configuration:
    """Axis name (``kanban:UP->DOWN``, ``conwip``, ``bottleneck_buffer``, ``preset``,
    ``rules``) -> value."""

    values: tuple[tuple[str, Value], ...]

    @property
    def key(self) -> str:
        """``conwip=8,kanban:bend->weld=2``: names the configuration in files and logs."""
        return ",".join(f"{name}={_shown(value)}" for name, value in self.values) or "as-is"

    def as_dict(self) -> dict[str, Value]:
        return dict(self.values)


def _shown(value: Value) -> str:
    return ("on" if value else "off") if isinstance(value, bool) else str(value)


def configurations(axes: Axes) -> list[Configuration]:
    """Every combination of the axes' values (the grid)."""
    named = axes.named()
    combos = itertools.product(*named.values())
    return [Configuration(tuple(zip(named, (_value(v) for v in combo), strict=True))) for combo in combos]


def count(axes: Axes) -> int:
    return math.prod(len(values) for values in axes.named().values())


def own(scenario: Scenario, axes: Axes) -> Configuration:
    """The scenario's own values for the axes of the sweep: what the best is compared with."""
    caps = {b.id: b.kanban for b in scenario.plant.buffers}
    plant = scenario.plant
    values: list[tuple[str, Value]] = []
    for name in axes.named():
        if name.startswith("kanban:"):
            values.append((name, caps[name.removeprefix("kanban:")]))
        elif name == "conwip":
            values.append((name, plant.conwip if plant.conwip is not None else 0))
        elif name == "bottleneck_buffer":
            values.append((name, plant.bottleneck_buffer))
        elif name == "preset":
            values.append((name, scenario.policy.repair.preset))
        else:
            values.append((name, bool(scenario.rules)))
    return Configuration(tuple(values))


def _value(value: object) -> Value:
    assert isinstance(value, int | str | bool)
    return value
