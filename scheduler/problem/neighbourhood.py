"""Affected operations: what a disruption can reach in the plan's precedence and machine-sequence graph."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from scheduler.problem.data import ProblemData, Timetable


def affected_operations(problem: ProblemData, plan: Timetable, seeds: Iterable[int]) -> set[int]:
    """Free operations reachable from ``seeds`` through routing precedences and the
    machine sequences of ``plan`` (the seeds themselves included)."""
    successors: list[list[int]] = [[] for _ in range(problem.num_ops)]
    for a, b in problem.precedences:
        successors[a].append(b)
    by_machine: list[list[int]] = [[] for _ in problem.machine_ids]
    for i in range(problem.num_ops):
        if problem.fixed(i) is None:
            by_machine[plan.machine[i]].append(i)
    for ops in by_machine:
        ops.sort(key=lambda i: (plan.start[i], i))
        for a, b in itertools.pairwise(ops):
            successors[a].append(b)
    reached = {s for s in seeds if problem.fixed(s) is None}
    stack = list(reached)
    while stack:
        for b in successors[stack.pop()]:
            if b not in reached and problem.fixed(b) is None:
                reached.add(b)
                stack.append(b)
    return reached


def earliest(ops: Iterable[int], plan: Timetable, size: int) -> set[int]:
    """The ``size`` operations of ``ops`` that start first in ``plan``: the repair window."""
    return set(sorted(ops, key=lambda i: (plan.start[i], i))[:size])
