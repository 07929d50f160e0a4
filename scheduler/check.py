"""The solver-independent checker: the specification of a feasible schedule, and its KPIs.

It reads a :class:`Timetable` against :class:`ProblemData` with plain Python, never the
solver, and reports every violated rule with the ids involved. KPIs are recomputed here
from the timetable alone, so they can be compared with what the solver claims.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field

from scheduler.problem import ProblemData, Timetable, Weights
from scheduler.problem.freeze import is_finished


@dataclass(frozen=True)
class Violation:
    """A broken rule: ``kind`` is one of the rule names below; ``ids`` the ops/machines/jobs."""

    kind: str
    message: str
    ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Kpis:
    makespan: int
    total_weighted_tardiness: int
    late_orders: int
    total_earliness: int
    mean_lead_time: float
    peak_wip: dict[str, int] = field(default_factory=dict)
    """Per buffer id: the most jobs waiting in it at once."""
    peak_conwip: int = 0
    bottleneck_station: str | None = None
    bottleneck_busy: int = 0
    bottleneck_idle: int = 0
    """Machine time inside the bottleneck's working span [first start, last end) that its
    machines spend not processing (planned unavailability inside the span counts as idle)."""
    bottleneck_utilisation: float = 0.0
    objective: int = 0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class CheckReport:
    violations: tuple[Violation, ...]
    kpis: Kpis

    @property
    def valid(self) -> bool:
        return not self.violations


RULES = (
    "frozen",
    "before_now",
    "eligibility",
    "duration",
    "release",
    "precedence",
    "bottleneck_buffer",
    "machine_overlap",
    "unavailability",
    "kanban",
    "conwip",
)


def check(problem: ProblemData, timetable: Timetable, weights: Weights | None = None) -> CheckReport:
    """Every violation of ``timetable`` and its KPIs (objective under ``weights``, default the problem's)."""
    if not len(timetable.machine) == len(timetable.start) == len(timetable.end) == problem.num_ops:
        raise ValueError(f"timetable has {len(timetable.start)} rows for {problem.num_ops} operations")
    violations = [
        *_frozen(problem, timetable),
        *_modes(problem, timetable),
        *_releases(problem, timetable),
        *_precedences(problem, timetable),
        *_machines(problem, timetable),
        *_kanban(problem, timetable),
        *_conwip(problem, timetable),
    ]
    return CheckReport(tuple(violations), kpis(problem, timetable, weights or problem.weights))


def _frozen(p: ProblemData, t: Timetable) -> list[Violation]:
    """Frozen operations stay exactly where the facts put them; the others start at ``now`` or later."""
    out = []
    for i in range(p.num_ops):
        fixed = p.fixed(i)
        if fixed is not None and (t.machine[i], t.start[i], t.end[i]) != fixed:
            m, s, e = fixed
            out.append(
                Violation(
                    "frozen", f"frozen {p.op_ids[i]} must stay on {p.machine_ids[m]} at [{s}, {e})", (p.op_ids[i],)
                )
            )
        elif fixed is None and t.start[i] < p.now:
            out.append(
                Violation("before_now", f"{p.op_ids[i]} starts at {t.start[i]}, before now ({p.now})", (p.op_ids[i],))
            )
    return out


def _modes(p: ProblemData, t: Timetable) -> list[Violation]:
    out = []
    for i in range(p.num_ops):
        if p.fixed(i) is not None:
            continue  # facts: checked by _frozen
        duration = p.duration(i, t.machine[i])
        if duration is None:
            machine = p.machine_ids[t.machine[i]] if 0 <= t.machine[i] < len(p.machine_ids) else str(t.machine[i])
            out.append(Violation("eligibility", f"{p.op_ids[i]} is not eligible on {machine}", (p.op_ids[i], machine)))
        elif t.end[i] - t.start[i] != duration:
            out.append(
                Violation(
                    "duration",
                    f"{p.op_ids[i]} lasts {t.end[i] - t.start[i]} on {p.machine_ids[t.machine[i]]}, needs {duration}",
                    (p.op_ids[i],),
                )
            )
    return out


def _releases(p: ProblemData, t: Timetable) -> list[Violation]:
    return [
        Violation(
            "release",
            f"{p.op_ids[i]} starts at {t.start[i]} before its order's release {p.job_release[p.op_job[i]]}",
            (p.op_ids[i], p.job_ids[p.op_job[i]]),
        )
        for i in range(p.num_ops)
        if t.start[i] < p.job_release[p.op_job[i]] and p.fixed(i) is None
    ]


def _precedences(p: ProblemData, t: Timetable) -> list[Violation]:
    out = []
    for a, b in p.precedences:
        if p.fixed(a) is not None and p.fixed(b) is not None:
            continue  # what happened, happened
        if t.start[b] < t.end[a]:
            out.append(
                Violation(
                    "precedence",
                    f"{p.op_ids[b]} starts at {t.start[b]} before {p.op_ids[a]} ends at {t.end[a]}",
                    (p.op_ids[a], p.op_ids[b]),
                )
            )
        elif t.start[b] < t.end[a] + p.lag(a, b):
            out.append(
                Violation(
                    "bottleneck_buffer",
                    f"bottleneck operation {p.op_ids[b]} starts {t.start[b] - t.end[a]} after {p.op_ids[a]} ends, "
                    f"needs a time buffer of {p.bottleneck_buffer}",
                    (p.op_ids[a], p.op_ids[b]),
                )
            )
    return out


def _machines(p: ProblemData, t: Timetable) -> list[Violation]:
    out = []
    on_machine: dict[int, list[int]] = defaultdict(list)
    for i in range(p.num_ops):
        on_machine[t.machine[i]].append(i)
    for m, ops in on_machine.items():
        if not 0 <= m < len(p.machine_ids):
            continue  # reported as an eligibility violation
        ops.sort(key=lambda i: (t.start[i], t.end[i]))
        latest = ops[0]  # the op seen so far that ends last
        for cur in ops[1:]:
            if t.start[cur] < t.end[latest]:  # facts too: two reported operations cannot share a machine
                out.append(
                    Violation(
                        "machine_overlap",
                        f"{p.op_ids[latest]} and {p.op_ids[cur]} overlap on {p.machine_ids[m]}",
                        (p.op_ids[latest], p.op_ids[cur], p.machine_ids[m]),
                    )
                )
            if t.end[cur] > t.end[latest]:
                latest = cur
        for i in ops:
            for a, b in p.unavailability[m]:
                if _meets(t.start[i], t.end[i], a, b, p.fixed(i) is not None):
                    out.append(
                        Violation(
                            "unavailability",
                            f"{p.op_ids[i]} [{t.start[i]}, {t.end[i]}) overlaps the unavailability "
                            f"of {p.machine_ids[m]} [{a}, {b})",
                            (p.op_ids[i], p.machine_ids[m]),
                        )
                    )
    return out


def _meets(start: int, end: int, a: int, b: int, fact: bool) -> bool:
    """Whether [start, end) breaks the window [a, b). A fact may hold its machine across a
    window (interrupted, then resumed) but cannot start or end inside it."""
    if fact:
        return a <= start < b or a < end <= b
    return start < b and a < end


def peak_overlap(intervals: list[tuple[int, int]]) -> tuple[int, int]:
    """(most intervals [start, end) open at one time, the first time it happens); empty ones count never."""
    events = sorted([(s, 1) for s, e in intervals if e > s] + [(e, -1) for s, e in intervals if e > s])
    peak, at, level = 0, 0, 0
    for time, delta in events:  # at equal times an end (-1) sorts before a start (+1)
        level += delta
        if level > peak:
            peak, at = level, time
    return peak, at


def overfill(intervals: list[tuple[int, int, bool]], cap: int) -> tuple[int, int] | None:
    """The first (time, jobs in) at which a new job is in while more than ``cap`` are.

    ``intervals`` are [start, end) with a flag: committed by fact. Committed jobs may
    overfill (a stop downstream keeps them in); a new one may not join then.
    """
    events = sorted(
        [(s, 1, committed) for s, e, committed in intervals if e > s]
        + [(e, -1, committed) for s, e, committed in intervals if e > s]
    )
    total = new = 0
    for k, (time, delta, committed) in enumerate(events):
        total += delta
        new += 0 if committed else delta
        last_at_time = k + 1 == len(events) or events[k + 1][0] != time
        if last_at_time and new > 0 and total > cap:
            return time, total
    return None


def overload(intervals: list[tuple[int, int, int]], capacity: int) -> int | None:
    """The first time the demands of the [start, end, demand) intervals open together exceed
    ``capacity``, or None."""
    events = sorted([(s, d) for s, e, d in intervals if e > s] + [(e, -d) for s, e, d in intervals if e > s])
    load = 0
    for k, (time, delta) in enumerate(events):
        load += delta
        if load > capacity and (k + 1 == len(events) or events[k + 1][0] != time):
            return time
    return None


def _waiting(p: ProblemData, t: Timetable, pairs: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    return [(t.end[u], t.start[d]) for u, d in pairs]


def _job_spans(p: ProblemData, t: Timetable) -> list[tuple[int, int]]:
    return [(min(t.start[i] for i in ops), max(t.end[i] for i in ops)) for ops in p.job_ops]


def _live_spans(p: ProblemData, t: Timetable) -> list[tuple[int, int]]:
    """Spans of the jobs not finished by ``now`` (finished ones are history, see problem.freeze)."""
    return [span for j, span in enumerate(_job_spans(p, t)) if not is_finished(p, j)]


def _kanban(p: ProblemData, t: Timetable) -> list[Violation]:
    out = []
    for b in p.buffers:
        found = overfill([(t.end[u], t.start[d], p.committed((u, d))) for u, d in b.pairs], b.cap)
        if found is not None:
            at, count = found
            waiting = [p.job_ids[p.op_job[u]] for u, d in b.pairs if t.end[u] <= at < t.start[d]]
            out.append(
                Violation(
                    "kanban",
                    f"{count} jobs wait in buffer {b.buffer_id} at {at}, kanban cap is {b.cap}",
                    (b.buffer_id, *waiting),
                )
            )
    return out


def _conwip(p: ProblemData, t: Timetable) -> list[Violation]:
    if p.conwip is None:
        return []
    spans = _job_spans(p, t)
    live = [j for j in range(len(spans)) if not is_finished(p, j)]
    found = overfill([(*spans[j], p.job_committed(j)) for j in live], p.conwip)
    if found is None:
        return []
    at, count = found
    jobs = [p.job_ids[j] for j in live if spans[j][0] <= at < spans[j][1]]
    return [Violation("conwip", f"{count} jobs in process at {at}, CONWIP cap is {p.conwip}", tuple(jobs))]


def kpis(p: ProblemData, t: Timetable, weights: Weights) -> Kpis:
    """Efficiency and lean KPIs of a timetable, and its objective value under ``weights``."""
    completion = [max(t.end[i] for i in sinks) for sinks in p.job_sinks]
    spans = _job_spans(p, t)
    tardiness = earliness = late = 0
    for j, due in enumerate(p.job_due):
        if due is None:
            continue
        tardiness += p.job_weight[j] * max(0, completion[j] - due)
        earliness += max(0, due - completion[j])
        late += completion[j] > due
    makespan = max(t.end) if t.end else 0
    busy = idle = 0
    utilisation = 0.0
    drum = [i for i in range(p.num_ops) if p.op_station[i] == p.bottleneck_idx]
    if drum:
        first, last = min(t.start[i] for i in drum), max(t.end[i] for i in drum)
        busy = sum(t.end[i] - t.start[i] for i in drum)
        capacity = len(p.bottleneck_machines()) * (last - first)
        idle = capacity - busy
        utilisation = busy / capacity if capacity else 0.0
    objective = (
        weights.makespan * makespan
        + weights.weighted_tardiness * tardiness
        + weights.earliness * earliness
        + weights.bottleneck_idle * idle
    )
    return Kpis(
        makespan=makespan,
        total_weighted_tardiness=tardiness,
        late_orders=late,
        total_earliness=earliness,
        mean_lead_time=sum(e - p.job_release[j] for j, (_, e) in enumerate(spans)) / max(1, len(spans)),
        peak_wip={b.buffer_id: peak_overlap(_waiting(p, t, b.pairs))[0] for b in p.buffers},
        peak_conwip=peak_overlap(_live_spans(p, t))[0],
        bottleneck_station=p.station_ids[p.bottleneck_idx] if p.bottleneck_idx is not None else None,
        bottleneck_busy=busy,
        bottleneck_idle=idle,
        bottleneck_utilisation=round(utilisation, 4),
        objective=objective,
    )
