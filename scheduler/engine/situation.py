"""The situation a repair starts from: the ledger's facts at their true times, combined with
the plan and the policy, as what is frozen at "now" (``problem.freeze.Situation``).

- Reported operations are frozen where they ran; one still running ends when its work is
  done, paused by every downtime that started on its machine after it (resumed or
  restarted, by the policy) and stretched or shortened by the cycle times observed while it
  ran. A later reported start on its machine ends it there.
- A downtime lasts until its reported end; an open one until its expected end, or (not
  reported back once that has passed) until "now" plus the policy's default downtime, so
  that nothing is ever planned or frozen on a machine not reported back. A reported start
  on its machine ends it there.
- With the policy's ``started: assumed``, what the plan started before "now" and nobody
  reported is taken as having started, unless a fact or a downtime makes that impossible or
  its job's earlier operations are not frozen before it.
- The frozen horizon pins what the plan starts within it, where that is still possible.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass

from scheduler.domain import RepairPolicy
from scheduler.engine.ledger import Ledger, OperationFact
from scheduler.problem import Position, ProblemData
from scheduler.problem.compile import merge_windows
from scheduler.problem.freeze import Situation

Window = tuple[int, int]


@dataclass(frozen=True)
class Seen:
    """The situation and what it rests on."""

    situation: Situation
    warnings: tuple[str, ...]


def derive(ledger: Ledger, plan: Mapping[str, Position], now: int, problem: ProblemData, policy: RepairPolicy) -> Seen:
    """The situation at ``now``; ``problem`` is the compiled (unfrozen) problem."""
    warnings: list[str] = []
    windows = downtime_windows(ledger, now, policy, warnings)
    blocked = with_planned(windows, problem)  # work pauses in planned maintenance too
    fixed = _reported(ledger, problem, blocked, policy, warnings)
    if policy.started == "assumed":
        _assume(plan, now, problem, ledger, blocked, fixed, policy)
    _implied(plan, problem, blocked, fixed, warnings)
    if policy.frozen_horizon:
        _pin(plan, now, now + policy.frozen_horizon, problem, blocked, fixed)
    station_of = {m: problem.station_ids[problem.machine_station[k]] for k, m in enumerate(problem.machine_ids)}
    tolerance = policy.takt_tolerance
    factors = {s: f for s in problem.station_ids if (f := ledger.factor_at(("station", s), now, tolerance)) != 1.0}
    machine_factors = {m: ledger.factor_at(("machine", m), now, tolerance) for m in station_of
                       if _observed(ledger, ("machine", m))}  # fmt: skip
    # Windows over before anything still frozen began are history: facts were checked against them when reported.
    cutoff = min([now, *(s for _, s, e in fixed.values() if e > now)])
    downtime = tuple((m, a, b) for m, spans in windows.items() for a, b in spans if b > cutoff)
    return Seen(Situation(now, fixed, downtime, factors, machine_factors), tuple(warnings))


def _observed(ledger: Ledger, key: tuple[str, str]) -> bool:
    return ledger.observed(key)


def downtime_windows(
    ledger: Ledger, now: int, policy: RepairPolicy, warnings: list[str] | None = None
) -> dict[str, list[Window]]:
    """Per machine, the downtime windows the ledger implies at ``now`` (what they rest on
    goes to ``warnings``)."""
    warnings = [] if warnings is None else warnings
    windows: dict[str, list[Window]] = {}
    for down_id, down in ledger.downtimes.items():
        end = down.end
        if end is None:
            back = [f.start for f in ledger.operations.values()
                    if f.machine == down.machine and f.start is not None and f.start >= down.start]  # fmt: skip
            expected = down.expected_end if down.expected_end is not None else down.start + policy.default_downtime
            if back:
                end = min(back)
                warnings.append(f"downtime {down_id!r} on {down.machine} taken as over at {end}: work started there")
            elif expected > now:
                end = expected
            else:
                end = now + policy.default_downtime
                warnings.append(f"downtime {down_id!r} on {down.machine} not reported back: assumed down until {end}")
        if end > down.start:
            windows.setdefault(down.machine, []).append((down.start, end))
    return {m: sorted(spans) for m, spans in windows.items()}


def with_planned(windows: Mapping[str, list[Window]], problem: ProblemData) -> dict[str, list[Window]]:
    """Per machine, its downtimes and its planned unavailability, merged."""
    return {m: list(merge_windows([*windows.get(m, []), *problem.unavailability[k]]))
            for k, m in enumerate(problem.machine_ids)}  # fmt: skip


class _Frozen(dict[str, Position]):
    """Frozen places by operation id, also per machine as spans sorted by start: overlap
    tests look at the few spans near the one tested (scanning them all was quadratic at
    thousands of operations)."""

    def __init__(self) -> None:
        super().__init__()
        self.on: dict[str, list[Window]] = {}
        self.longest = 0

    def __setitem__(self, op_id: str, place: Position) -> None:
        old = self.get(op_id)
        if old is not None:
            self.on[old[0]].remove((old[1], old[2]))
        super().__setitem__(op_id, place)
        bisect.insort(self.on.setdefault(place[0], []), (place[1], place[2]))
        self.longest = max(self.longest, place[2] - place[1])

    def meets(self, machine: str, start: int, end: int) -> bool:
        """A frozen span on ``machine`` meets [start, end)."""
        spans = self.on.get(machine, [])
        first = bisect.bisect_left(spans, (start - self.longest, start - self.longest))
        return any(b > start for _, b in spans[first : bisect.bisect_left(spans, (end, end))])


def _reported(
    ledger: Ledger, problem: ProblemData, windows: dict[str, list[Window]], policy: RepairPolicy, warnings: list[str]
) -> _Frozen:
    fixed = _Frozen()
    for op_id, fact in ledger.operations.items():
        if op_id not in problem.op_index:
            continue  # an operation of an order cancelled before it started
        duration = _duration(problem, op_id, fact.machine)
        start = fact.start
        if start is None:
            start = _inferred_start(ledger, problem, op_id, fact, duration, policy)
        end = fact.end
        if end is None:
            end = running_end(ledger, problem, fact.machine, start, duration, windows.get(fact.machine, []), policy)
            later = [f.start for other, f in ledger.operations.items() if other != op_id and f.machine == fact.machine
                     and f.start is not None and start < f.start < end]  # fmt: skip
            if later:
                end = min(later)
                warnings.append(f"{op_id} taken as complete at {end}: the next operation started on {fact.machine}")
        fixed[op_id] = (fact.machine, start, end)
    return fixed


def _inferred_start(
    ledger: Ledger, problem: ProblemData, op_id: str, fact: OperationFact, duration: int, policy: RepairPolicy
) -> int:
    """Its duration before the completion, but after what the ledger has end on its machine
    before then and after its job's reported predecessors."""
    assert fact.end is not None
    station = problem.station_ids[problem.machine_station[problem.machine_index[fact.machine]]]
    factor = _factor(ledger, fact.machine, station, fact.end, policy)
    start = fact.end - max(1, math.ceil(duration * factor - 1e-9))
    op = problem.op_index[op_id]
    preds = {problem.op_ids[a] for a in problem.predecessors[op]}
    for other_id, other in ledger.operations.items():
        if other.end is None or other.end > fact.end or other_id == op_id:
            continue
        if other.machine == fact.machine or other_id in preds:
            start = max(start, other.end)
    return max(0, min(start, fact.end - 1))


def running_end(
    ledger: Ledger,
    problem: ProblemData,
    machine: str,
    start: int,
    duration: int,
    windows: list[Window],
    policy: RepairPolicy,
) -> int:
    """When an operation started at ``start`` finishes its ``duration`` of planned work on
    ``machine``: paused by each downtime that starts after it, at the cycle times observed."""
    station = problem.station_ids[problem.machine_station[problem.machine_index[machine]]]
    keys = (("machine", machine), ("station", station))
    changes = ledger.changes_after(keys, start)
    stops = [(a, b) for a, b in windows if a > start]
    cursor, work = start, float(duration)
    while True:
        factor = _factor(ledger, machine, station, cursor, policy)
        need = max(1, math.ceil(work * factor - 1e-9))
        stop = next(((a, b) for a, b in stops if a >= cursor), None)
        change = next((t for t in changes if t > cursor), None)
        horizon = min(x for x in (stop[0] if stop else None, change) if x is not None) if (stop or change) else None
        if horizon is None or cursor + need <= horizon:
            return cursor + need
        work -= (horizon - cursor) / factor
        if stop is not None and horizon == stop[0]:
            cursor = stop[1]
            work = float(duration) if policy.interrupted == "restart" else work
        else:
            cursor = horizon


def _factor(ledger: Ledger, machine: str, station: str, time: int, policy: RepairPolicy) -> float:
    """A machine's own observed factor overrides its station's."""
    own = ledger.observed(("machine", machine), time)
    return ledger.factor_at(("machine", machine) if own else ("station", station), time, policy.takt_tolerance)


def _assume(
    plan: Mapping[str, Position],
    now: int,
    problem: ProblemData,
    ledger: Ledger,
    windows: dict[str, list[Window]],
    fixed: _Frozen,
    policy: RepairPolicy,
) -> None:
    """What the plan started before ``now``, where nothing reported contradicts it."""
    for op_id, (machine, start, _) in sorted(plan.items(), key=lambda item: item[1][1]):
        if start >= now or op_id in fixed or op_id not in problem.op_index:
            continue
        if _blocked(machine, start, start + 1, windows, fixed) or not _after_predecessors(problem, op_id, start, fixed):
            continue
        duration = _duration(problem, op_id, machine)
        end = running_end(ledger, problem, machine, start, duration, windows.get(machine, []), policy)
        if not _blocked(machine, start, end, {}, fixed):
            fixed[op_id] = (machine, start, end)


def _implied(
    plan: Mapping[str, Position],
    problem: ProblemData,
    windows: dict[str, list[Window]],
    fixed: _Frozen,
    warnings: list[str],
) -> None:
    """A frozen operation implies that its job's earlier operations ran before it (their
    reports may simply come later): where the plan had them, or just before it."""
    stack = list(fixed)
    while stack:
        op_id = stack.pop()
        succ, start = problem.op_index[op_id], fixed[op_id][1]
        for pred in problem.predecessors[succ]:
            pred_id, lag = problem.op_ids[pred], problem.lag(pred, succ)
            if pred_id in fixed:
                continue
            row = plan.get(pred_id)
            if row is not None and row[2] + lag <= start and not _blocked(row[0], row[1], row[2], windows, fixed):
                fixed[pred_id] = row
            else:
                place = _just_before(problem, pred, start - lag, row[0] if row else None, windows, fixed)
                if place is None:
                    continue  # nothing fits: the checker will name the broken routing
                fixed[pred_id] = place
            warnings.append(f"{pred_id} taken as done before {op_id} started (not reported)")
            stack.append(pred_id)


def _just_before(
    problem: ProblemData,
    op: int,
    end: int,
    planned: str | None,
    windows: dict[str, list[Window]],
    fixed: _Frozen,
) -> Position | None:
    """``op`` ending at ``end``: on its planned machine, else another eligible one that is free."""
    machines = sorted(problem.machine_ids[m] for m, _ in problem.op_modes[op])
    for machine in sorted(machines, key=lambda m: m != planned):
        begin = max(0, end - _duration(problem, problem.op_ids[op], machine))
        if begin < end and not _blocked(machine, begin, end, windows, fixed):
            return (machine, begin, end)
    return None


def _pin(
    plan: Mapping[str, Position],
    now: int,
    until: int,
    problem: ProblemData,
    windows: dict[str, list[Window]],
    fixed: _Frozen,
) -> None:
    """Operations the plan starts in [now, until) stay where they are, when they still can."""
    for op_id, (machine, start, end) in sorted(plan.items(), key=lambda item: item[1][1]):
        if not now <= start < until or op_id in fixed or op_id not in problem.op_index:
            continue
        same = problem.duration(problem.op_index[op_id], problem.machine_index[machine]) == end - start
        free = not _blocked(machine, start, end, windows, fixed)
        if same and free and _after_predecessors(problem, op_id, start, fixed):
            fixed[op_id] = (machine, start, end)


def _blocked(machine: str, start: int, end: int, windows: Mapping[str, list[Window]], fixed: _Frozen) -> bool:
    """[start, end) on ``machine`` meets a downtime window or a frozen operation."""
    spans = windows.get(machine, [])  # sorted and disjoint: the first that ends after start decides
    k = bisect.bisect_right(spans, start, key=lambda w: w[1])
    if k < len(spans) and spans[k][0] < end:
        return True
    return fixed.meets(machine, start, end)


def _after_predecessors(problem: ProblemData, op_id: str, start: int, fixed: _Frozen) -> bool:
    op = problem.op_index[op_id]
    for a in problem.predecessors[op]:
        pred = fixed.get(problem.op_ids[a])
        if pred is None or pred[2] + problem.lag(a, op) > start:
            return False
    return True


def _duration(problem: ProblemData, op_id: str, machine: str) -> int:
    """The planned duration of ``op_id`` on ``machine`` (eligibility is checked on the way in)."""
    duration = problem.duration(problem.op_index[op_id], problem.machine_index[machine])
    assert duration is not None, f"{machine} is not eligible for {op_id}"
    return duration
