"""CP-SAT decision variables: one start/end per operation, one optional interval per eligible machine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from scheduler.problem import ProblemData, Timetable


@dataclass
class Variables:
    start: list[cp_model.IntVar]
    end: list[cp_model.IntVar]
    mode_present: list[list[cp_model.IntVar | int]]
    """Per op, per mode (index into ``ProblemData.op_modes[op]``): presence literal, or 1."""
    mode_interval: list[list[cp_model.IntervalVar]]
    completion: list[cp_model.IntVar]
    """Per job: end of its last operation (exact)."""
    constant: list[tuple[int, int, int] | None] = field(default_factory=list)
    """Per op: (machine, start, end) when the model fixes it (frozen or pinned), else None."""
    derived: list[tuple[cp_model.IntVar, Callable[[Timetable], int]]] = field(default_factory=list)
    """Auxiliary variables and how to compute their value from a timetable, so that a hint
    can be complete (CP-SAT may otherwise fail to complete it in time)."""

    def derive(self, var: cp_model.IntVar, value: Callable[[Timetable], int]) -> cp_model.IntVar:
        self.derived.append((var, value))
        return var


def create_variables(
    model: cp_model.CpModel, problem: ProblemData, pinned: Mapping[int, tuple[int, int, int]] | None = None
) -> Variables:
    """Operations with their alternative machines; a single eligible machine needs no literal.

    Frozen operations (facts) and ``pinned`` ones (kept in place by a local repair:
    op -> (machine, start, end)) get constant positions.
    """
    pinned = pinned or {}
    horizon = problem.horizon
    latest = horizon if problem.deadline is None else min(horizon, problem.deadline)
    start, end, intervals, constant = [], [], [], []
    present: list[list[cp_model.IntVar | int]] = []
    for i, modes in enumerate(problem.op_modes):
        fixed = problem.fixed(i) or pinned.get(i)
        constant.append(fixed)
        earliest = max(problem.job_release[problem.op_job[i]], problem.now)
        shortest, longest = min(d for _, d in modes), max(d for _, d in modes)
        if fixed is not None:
            s = model.new_constant(fixed[1])
            e = model.new_constant(fixed[2])
        else:
            s = model.new_int_var(earliest, latest - shortest, f"start_{i}")
            e = model.new_int_var(earliest + shortest, latest, f"end_{i}")
        if len(modes) == 1:
            present.append([1])
            intervals.append([model.new_interval_var(s, longest, e, f"op_{i}")])
        else:
            literals: list[cp_model.IntVar | int] = []
            mode_intervals = []
            for k, (machine, duration) in enumerate(modes):
                lit = model.new_bool_var(f"mode_{i}_{k}")
                if fixed is not None:
                    model.add(lit == int(machine == fixed[0]))
                mode_intervals.append(model.new_optional_fixed_size_interval_var(s, duration, lit, f"op_{i}_{k}"))
                model.add(e == s + duration).only_enforce_if(lit)
                literals.append(lit)
            model.add_exactly_one(literals)
            present.append(literals)
            intervals.append(mode_intervals)
        start.append(s)
        end.append(e)
    completion = []
    for j, sinks in enumerate(problem.job_sinks):
        if len(sinks) == 1:
            completion.append(end[sinks[0]])
        else:
            c = model.new_int_var(0, horizon, f"completion_{j}")
            model.add_max_equality(c, [end[i] for i in sinks])
            completion.append(c)
    variables = Variables(start, end, present, intervals, completion, constant)
    for j, sinks in enumerate(problem.job_sinks):
        if len(sinks) > 1:
            variables.derive(completion[j], latest_end(sinks))
    return variables


def latest_end(ops: tuple[int, ...] | list[int]) -> Callable[[Timetable], int]:
    return lambda t: max(t.end[i] for i in ops)


def earliest_start(ops: tuple[int, ...] | list[int]) -> Callable[[Timetable], int]:
    return lambda t: min(t.start[i] for i in ops)
