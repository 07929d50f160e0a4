"""Domain + plan -> ProblemData: integer ticks and index arrays, built once per call."""

from scheduler.problem.compile import (
    compile_problem,
    compile_weights,
    reference_of,
    rows_of,
    schedule_from_timetable,
    timetable_from_schedule,
)
from scheduler.problem.data import BufferData, Position, ProblemData, Timetable, Weights, cap_demands

__all__ = [
    "BufferData",
    "Position",
    "ProblemData",
    "Timetable",
    "Weights",
    "cap_demands",
    "compile_problem",
    "compile_weights",
    "reference_of",
    "rows_of",
    "schedule_from_timetable",
    "timetable_from_schedule",
]
