"""Domain models (pydantic v2, frozen, extra fields forbidden): the project's boundary types."""

from scheduler.domain.errors import FieldProblem, InputError
from scheduler.domain.orders import MachineOption, Operation, Order
from scheduler.domain.plant import Buffer, Machine, Plant, Station, Unavailability
from scheduler.domain.policy import (
    REPAIR_PRESETS,
    ObjectiveWeights,
    Policy,
    RepairPolicy,
    SolverSettings,
    StabilityWeights,
)
from scheduler.domain.scenario import Scenario, load_schedule
from scheduler.domain.schedule import Assignment, Schedule
from scheduler.domain.timebase import TimeBase, TimeUnit

__all__ = [
    "REPAIR_PRESETS",
    "Assignment",
    "Buffer",
    "FieldProblem",
    "InputError",
    "Machine",
    "MachineOption",
    "ObjectiveWeights",
    "Operation",
    "Order",
    "Plant",
    "Policy",
    "RepairPolicy",
    "Scenario",
    "Schedule",
    "SolverSettings",
    "StabilityWeights",
    "Station",
    "TimeBase",
    "TimeUnit",
    "Unavailability",
    "load_schedule",
]
