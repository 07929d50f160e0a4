"""CP-SAT constraints, one function per family. Each mirrors a rule of ``scheduler.check``."""

from __future__ import annotations

from collections.abc import Callable

from ortools.sat.python import cp_model

from scheduler.problem import ProblemData, Timetable, cap_demands
from scheduler.problem.compile import merge_windows
from scheduler.problem.freeze import is_finished
from scheduler.solver.variables import Variables, earliest_start


def add_all(model: cp_model.CpModel, problem: ProblemData, v: Variables) -> None:
    add_machine_capacity(model, problem, v)
    add_precedences(model, problem, v)
    add_kanban_caps(model, problem, v)
    add_conwip(model, problem, v)


def add_machine_capacity(model: cp_model.CpModel, problem: ProblemData, v: Variables) -> None:
    """No overlap per machine; unavailability windows are fixed intervals on the machine.

    Rules: machine_overlap, unavailability (release is in the variables' domains).
    """
    on_machine: list[list[cp_model.IntervalVar]] = [[] for _ in problem.machine_ids]
    blocked: list[list[tuple[int, int]]] = [list(w) for w in problem.unavailability]
    for i, modes in enumerate(problem.op_modes):
        fixed = problem.fixed(i)
        if fixed is not None:
            # Frozen work may overlap other facts (an interrupted operation holds its machine
            # through the downtime): merge it with the windows into one blocked set.
            blocked[fixed[0]].append((fixed[1], fixed[2]))
            continue
        for k, (m, _) in enumerate(modes):
            on_machine[m].append(v.mode_interval[i][k])
    for m, intervals in enumerate(on_machine):
        windows = [
            model.new_fixed_size_interval_var(a, b - a, f"blocked_{m}_{a}") for a, b in merge_windows(blocked[m])
        ]
        if intervals and len(intervals) + len(windows) > 1:
            model.add_no_overlap(intervals + windows)


def add_precedences(model: cp_model.CpModel, problem: ProblemData, v: Variables) -> None:
    """Successor starts after predecessor ends, plus the bottleneck time buffer.

    Rules: precedence, bottleneck_buffer.
    """
    for a, b in problem.precedences:
        if problem.fixed(a) is not None and problem.fixed(b) is not None:
            continue  # both are facts
        model.add(v.start[b] >= v.end[a] + problem.lag(a, b))


def add_kanban_caps(model: cp_model.CpModel, problem: ProblemData, v: Variables) -> None:
    """At most ``cap`` jobs wait between the end of their upstream and the start of their
    downstream operation. Rule: kanban."""
    for b in problem.buffers:
        waiting = []
        for u, d in b.pairs:
            size = v.derive(model.new_int_var(0, problem.horizon, f"wait_{u}_{d}"), _gap_between(u, d))
            waiting.append(model.new_interval_var(v.end[u], size, v.start[d], f"buffer_{u}_{d}"))
        _capped(model, waiting, [problem.committed(pair) for pair in b.pairs], b.cap)


def add_conwip(model: cp_model.CpModel, problem: ProblemData, v: Variables) -> None:
    """At most ``conwip`` jobs between their first start and last end. Rule: conwip.

    The span may start earlier than the first operation: that only costs capacity, so any
    solution with exact spans stays feasible and no exact minimum is needed.
    """
    if problem.conwip is None:
        return
    spans, committed = [], []
    for j, sources in enumerate(problem.job_sources):
        if is_finished(problem, j):
            continue
        committed.append(problem.job_committed(j))
        if len(sources) == 1:
            first = v.start[sources[0]]
        else:
            first = v.derive(
                model.new_int_var(0, problem.horizon, f"job_start_{j}"),
                earliest_start(sources),
            )
            for i in sources:
                model.add(first <= v.start[i])
        size = v.derive(
            model.new_int_var(0, problem.horizon, f"job_span_{j}"),
            _span(problem.job_sources[j], problem.job_sinks[j]),
        )
        spans.append(model.new_interval_var(first, size, v.completion[j], f"job_{j}"))
    _capped(model, spans, committed, problem.conwip)


def _capped(model: cp_model.CpModel, intervals: list[cp_model.IntervalVar], committed: list[bool], cap: int) -> None:
    """At most ``cap`` intervals at once while a new (not committed) one is among them
    (see :func:`scheduler.problem.cap_demands`)."""
    demands, capacity = cap_demands(committed, cap)
    if sum(demands) > capacity:
        model.add_cumulative(intervals, demands, capacity)


def _gap_between(first: int, then: int) -> Callable[[Timetable], int]:
    return lambda t: t.start[then] - t.end[first]


def _span(sources: tuple[int, ...], sinks: tuple[int, ...]) -> Callable[[Timetable], int]:
    return lambda t: max(t.end[i] for i in sinks) - min(t.start[i] for i in sources)
