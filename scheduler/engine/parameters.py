"""Pull parameters as they stand, and a ``parameter_changed`` applied to them: the kanban cap
of a buffer, the CONWIP cap, the drum's time buffer (plant), the repair preset (policy)."""

from __future__ import annotations

from scheduler.domain import REPAIR_PRESETS, InputError, RepairPolicy, Scenario
from scheduler.domain.events import ParameterChanged
from scheduler.domain.rules import Action


def current(scenario: Scenario, policy: RepairPolicy, action: Action) -> int | str | None:
    """What ``action`` would change, as it is now (a preset: its name, or ``custom``)."""
    plant = scenario.plant
    if action.set == "kanban":
        return next((b.kanban for b in plant.buffers if b.id == action.buffer), None)
    if action.set == "conwip":
        return plant.conwip
    if action.set == "drum_buffer":
        return plant.bottleneck_buffer
    return policy.preset


def changed(scenario: Scenario, policy: RepairPolicy, event: ParameterChanged) -> tuple[Scenario, RepairPolicy]:
    """The scenario and repair policy after ``event``."""
    plant = scenario.plant
    if event.parameter == "preset":
        assert event.preset is not None
        return scenario, policy.with_preset(event.preset)
    if event.parameter == "kanban":
        assert event.buffer is not None and event.value is not None
        return with_kanban(scenario, {event.buffer: event.value}), policy
    if event.parameter == "conwip":
        plant = plant.model_copy(update={"conwip": event.value})
    else:
        plant = plant.model_copy(update={"bottleneck_buffer": event.value})
    return scenario.model_copy(update={"plant": plant}), policy


def careful(policy: RepairPolicy) -> RepairPolicy:
    """How a parameter change is repaired: moves cost (the stability preset's weights, unless
    the policy weighs moves already), so the plan changes only where the new bound pays: an
    efficiency-only repair moved 22 operations for one kanban card more on the demo line, at
    equal makespan (docs/benchmarks.md)."""
    if policy.stability.moved_operations > 0:
        return policy
    return policy.model_copy(update={"stability": REPAIR_PRESETS["stability"].stability, "mode": "windows"})


def touched(scenario: Scenario, event: ParameterChanged) -> set[str] | None:
    """The machines whose work a change bears on (None: all): a kanban cap, its two stations'."""
    buffer = next((b for b in scenario.plant.buffers if b.id == event.buffer), None)
    if event.parameter != "kanban" or buffer is None:
        return None
    stations = {buffer.upstream, buffer.downstream}
    return {m.id for s in scenario.plant.stations if s.id in stations for m in s.machines}


def with_kanban(scenario: Scenario, kanban: dict[str, int]) -> Scenario:
    """``scenario`` with new kanban caps (buffer id ``UP->DOWN`` -> cap); unknown buffers are named."""
    known = {b.id for b in scenario.plant.buffers}
    for k, buffer_id in enumerate(kanban):
        if buffer_id not in known:
            raise InputError.single(f"kanban_caps[{k}].buffer", f"unknown buffer {buffer_id!r}")
    buffers = [b.model_copy(update={"kanban": kanban.get(b.id, b.kanban)}) for b in scenario.plant.buffers]
    return scenario.model_copy(update={"plant": scenario.plant.model_copy(update={"buffers": buffers})})
