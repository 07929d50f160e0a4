"""Domain + plan -> ProblemData: integer ticks and index arrays, built once per call."""

from scheduler.problem.compile import (
    compile_problem,
    compile_weights,
    schedule_from_timetable,
    timetable_from_schedule,
)
from scheduler.problem.data import BufferData, ProblemData, Timetable, Weights

__all__ = [
    "BufferData",
    "ProblemData",
    "Timetable",
    "Weights",
    "compile_problem",
    "compile_weights",
    "schedule_from_timetable",
    "timetable_from_schedule",
]
