"""CP-SAT decision variables: one start/end per operation, one optional interval per eligible machine."""

from __future__ import annotations

from dataclasses import dataclass

from ortools.sat.python import cp_model

from scheduler.problem import ProblemData


@dataclass
class Variables:
    start: list[cp_model.IntVar]
    end: list[cp_model.IntVar]
    mode_present: list[list[cp_model.IntVar | int]]
    """Per op, per mode (index into ``ProblemData.op_modes[op]``): presence literal, or 1."""
    mode_interval: list[list[cp_model.IntervalVar]]
    completion: list[cp_model.IntVar]
    """Per job: end of its last operation (exact)."""


def create_variables(model: cp_model.CpModel, problem: ProblemData) -> Variables:
    """Operations with their alternative machines; a single eligible machine needs no literal."""
    horizon = problem.horizon
    start, end, intervals = [], [], []
    present: list[list[cp_model.IntVar | int]] = []
    for i, modes in enumerate(problem.op_modes):
        release = problem.job_release[problem.op_job[i]]
        shortest, longest = min(d for _, d in modes), max(d for _, d in modes)
        s = model.new_int_var(release, horizon - shortest, f"start_{i}")
        e = model.new_int_var(release + shortest, horizon, f"end_{i}")
        if len(modes) == 1:
            present.append([1])
            intervals.append([model.new_interval_var(s, longest, e, f"op_{i}")])
        else:
            literals: list[cp_model.IntVar | int] = []
            mode_intervals = []
            for k, (_, duration) in enumerate(modes):
                lit = model.new_bool_var(f"mode_{i}_{k}")
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
    return Variables(start, end, present, intervals, completion)
