"""What the pull dispatcher knows of a line: its caps as units, who takes and gives them
back, the flow's order of stations and the work left after each operation. Computed once
per problem for every priority the dispatcher plays (``repair.pull``)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from scheduler.problem import ProblemData
from scheduler.problem.compile import merge_windows
from scheduler.problem.freeze import is_finished


@dataclass
class Gate:
    """One cap (a buffer's kanban or the CONWIP) as the checker states it: committed holders
    (facts) may overfill it, and no new holder may join while they do. ``free`` holds the
    free units, each remembering who gave it back (an operation's start for a buffer, a
    job's end for the CONWIP; -1: free from now on); ``debt`` counts the committed holders
    beyond the cap, whose leaving frees no unit, and ``paid`` who they were: a new holder
    comes after all of them. So the plan can be tightened afterwards without two holders of
    one unit meeting (``pull_play.Play.compact``, ``right_shift``)."""

    free: deque[int]
    debt: int = 0
    paid: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, committed: int, cap: int) -> Gate:
        return cls(deque([-1] * max(0, cap - committed)), max(0, committed - cap))

    def admits(self, count: int = 1) -> bool:
        return len(self.free) >= count

    def take(self, count: int = 1) -> list[int]:
        """Units for a new holder: who it comes after (each unit's last holder, and the debt's payers)."""
        return [*(self.free.popleft() for _ in range(count)), *self.paid]

    def give(self, by: int, fact: bool) -> None:
        if fact and self.debt:
            self.debt -= 1
            self.paid.append(by)
        else:
            self.free.append(by)

    def copy(self) -> Gate:
        return Gate(deque(self.free), self.debt, list(self.paid))


@dataclass(frozen=True)
class Line:
    problem: ProblemData
    successors: list[list[tuple[int, int]]]
    """Per operation: (successor, least time between its end and the successor's start)."""
    predecessors: list[list[tuple[int, int]]]
    """Per operation: (predecessor, least time between its end and this one's start)."""
    durations: list[dict[int, int]]
    """Per operation: machine -> duration, for each eligible machine."""
    fixed: list[bool]
    feeds: list[tuple[int, ...]]
    """Per operation: the buffers (by index, once per pair) whose cards its start takes."""
    drains: list[list[tuple[int, bool]]]
    """Per operation: (buffer, committed) of each card its start gives back."""
    buffers: list[Gate]
    conwip: Gate | None
    job_in: list[bool]
    """Per job: it holds a CONWIP unit at now (a frozen operation, not finished)."""
    order: list[int]
    """Per station: its rank, downstream first (the longest chain of routings before it, negated)."""
    remaining: list[int]
    """Per operation: its shortest duration plus the longest chain of work after it."""
    feeders: list[tuple[int, ...]]
    """Per buffer: the machines whose operations take its cards."""
    most: list[int]
    """Per buffer: the most cards of it one operation takes (one per pair)."""
    entry: tuple[int, ...]
    """The machines where jobs enter the line (taking CONWIP units)."""
    station_machines: list[tuple[int, ...]]
    blocked: list[list[tuple[int, int]]]
    """Per machine: its downtime, maintenance and frozen work after now, merged and sorted."""


def line_of(problem: ProblemData) -> Line:
    n = problem.num_ops
    successors: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    predecessors: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for a, b in problem.precedences:
        successors[a].append((b, problem.lag(a, b)))
        predecessors[b].append((a, problem.lag(a, b)))
    feeds: list[list[int]] = [[] for _ in range(n)]
    drains: list[list[tuple[int, bool]]] = [[] for _ in range(n)]
    gates = []
    for k, buffer in enumerate(problem.buffers):
        committed = [problem.committed(pair) for pair in buffer.pairs]
        gates.append(Gate.of(sum(committed), buffer.cap))
        for (u, d), fact in zip(buffer.pairs, committed, strict=True):
            if not fact:
                feeds[u].append(k)
            drains[d].append((k, fact))
    jobs = range(len(problem.job_ids))
    job_in = [problem.job_committed(j) and not is_finished(problem, j) for j in jobs]
    feeders: list[set[int]] = [set() for _ in gates]
    for u in range(n):
        for k in feeds[u]:
            feeders[k].update(m for m, _ in problem.op_modes[u])
    entry = {m for j in jobs if not job_in[j] for i in problem.job_sources[j] for m, _ in problem.op_modes[i]}
    return Line(
        problem=problem,
        successors=successors,
        predecessors=predecessors,
        durations=[dict(modes) for modes in problem.op_modes],
        fixed=[problem.fixed(i) is not None for i in range(n)],
        feeds=[tuple(f) for f in feeds],
        drains=drains,
        buffers=gates,
        conwip=None if problem.conwip is None else Gate.of(sum(job_in), problem.conwip),
        job_in=job_in,
        order=[-d for d in _depths(problem)],
        remaining=_remaining(problem, successors),
        feeders=[tuple(sorted(f)) for f in feeders],
        most=[max((f.count(k) for f in feeds if k in f), default=1) for k in range(len(gates))],
        entry=tuple(sorted(entry)),
        station_machines=[
            tuple(m for m, s in enumerate(problem.machine_station) if s == k) for k in range(len(problem.station_ids))
        ],
        blocked=_blocked(problem),
    )


def _depths(problem: ProblemData) -> list[int]:
    """Per station, the longest chain of stations leading to it along the routings."""
    stations = len(problem.station_ids)
    depth = [0] * stations
    edges = {(problem.op_station[a], problem.op_station[b]) for a, b in problem.precedences}
    for _ in range(stations):  # longest paths; on a cycle the bound stops it
        changed = False
        for a, b in edges:
            if a != b and depth[b] < depth[a] + 1 <= stations:
                depth[b], changed = depth[a] + 1, True
        if not changed:
            break
    return depth


def _remaining(problem: ProblemData, successors: list[list[tuple[int, int]]]) -> list[int]:
    """Per operation: its shortest duration plus the longest chain (work and lags) after it."""
    shortest = [min(d for _, d in modes) for modes in problem.op_modes]
    remaining = list(shortest)
    done = [False] * problem.num_ops
    for first in range(problem.num_ops):
        stack = [first]
        while stack:  # depth first, each operation once its successors are known
            a = stack[-1]
            todo = [b for b, _ in successors[a] if not done[b]]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            if not done[a]:
                remaining[a] = shortest[a] + max((remaining[b] + lag for b, lag in successors[a]), default=0)
                done[a] = True
    return remaining


def _blocked(p: ProblemData) -> list[list[tuple[int, int]]]:
    blocked = [list(w) for w in p.unavailability]
    for i in range(p.num_ops):
        f = p.fixed(i)
        if f is not None and f[2] > p.now:
            blocked[f[0]].append((f[1], f[2]))
    return [list(merge_windows(w)) for w in blocked]
