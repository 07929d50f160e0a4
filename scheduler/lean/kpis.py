"""Lean KPIs of a timeline: what ran (realised, from the facts) or what is planned (a plan
version), with one set of definitions, over a window [start, end).

- ``throughput``: orders completed in the window per tick; ``takt_adherence`` = throughput x
  takt (1.0: on takt). The takt is the plant's ``takt`` (ticks per order) when declared,
  else derived from demand: the span from the earliest release to the latest due date over
  the orders with a due date.
- ``lead_time_mean``: completion - release over the orders completed in the window.
- ``wip_mean`` / ``wip_peak`` per buffer: jobs waiting in it (from the end of their
  upstream operation to the start of their downstream one), time-weighted over the window.
- ``waiting_mean``: mean time those passages waited, for those that left in the window.
- ``bottleneck_utilisation``: drum machine time busy over drum machine time.
- ``bottleneck_starvation``: share of the window in which a drum machine is idle with no
  job waiting for the drum (its operation before the drum done, the drum's not started).
- ``blocking``: share in which a drum machine is idle while a job waits for it and the
  buffer after the drum is at its kanban cap (the drum may not release more).
- ``schedule_adherence``: mean |start - planned start| over operations started in the window
  (realised timelines only, given the planned starts).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Run:
    """An operation's interval in a timeline."""

    op_id: str
    job: str
    station: str
    machine: str
    start: int
    end: int


@dataclass(frozen=True)
class BufferShape:
    buffer_id: str
    upstream: str
    downstream: str
    cap: int


@dataclass(frozen=True)
class Line:
    """What the KPIs need to know of the line."""

    precedences: tuple[tuple[str, str], ...]
    precedence_stations: tuple[tuple[str, str], ...]
    """The stations of each precedence's two operations."""
    job_release: Mapping[str, int]
    job_ops: Mapping[str, tuple[str, ...]]
    buffers: tuple[BufferShape, ...]
    drum: str | None
    drum_machines: int
    takt: float | None


@dataclass(frozen=True)
class LineKpis:
    start: int
    end: int
    completed: int
    throughput: float
    takt: float | None
    takt_adherence: float | None
    lead_time_mean: float | None
    wip_mean: dict[str, float]
    wip_peak: dict[str, int]
    waiting_mean: float | None
    bottleneck_utilisation: float | None
    bottleneck_starvation: float | None
    blocking: float | None
    schedule_adherence: float | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def line_kpis(runs: Sequence[Run], line: Line, start: int, end: int,
              planned: Mapping[str, int] | None = None) -> LineKpis:  # fmt: skip
    """The KPIs of ``runs`` over [start, end) (an empty window counts as one tick)."""
    length = max(1, end - start)
    by_op = {r.op_id: r for r in runs}
    completions = _completions(by_op, line)
    done = [j for j, t in completions.items() if start <= t < end]
    throughput = len(done) / length
    leads = [completions[j] - line.job_release.get(j, 0) for j in done]
    passages = _passages(by_op, line, end)
    wip_mean, wip_peak = {}, {}
    for shape in line.buffers:
        spans = passages.get(shape.buffer_id, [])
        wip_mean[shape.buffer_id] = round(sum(_overlap(s, e, start, end) for s, e in spans) / length, 4)
        wip_peak[shape.buffer_id] = _peak([(max(s, start), min(e, end)) for s, e in spans])
    left = [e - s for spans in passages.values() for s, e in spans if start <= e < end]
    drum = _drum(runs, line, passages, _waits_for(by_op, line, line.drum, end) if line.drum else [], start, end)
    moved = [abs(r.start - planned[r.op_id]) for r in runs if planned and r.op_id in planned and start <= r.start < end]
    return LineKpis(
        start=start,
        end=end,
        completed=len(done),
        throughput=round(throughput, 6),
        takt=line.takt,
        takt_adherence=round(throughput * line.takt, 4) if line.takt else None,
        lead_time_mean=round(statistics.mean(leads), 2) if leads else None,
        wip_mean=wip_mean,
        wip_peak=wip_peak,
        waiting_mean=round(statistics.mean(left), 2) if left else None,
        bottleneck_utilisation=drum[0],
        bottleneck_starvation=drum[1],
        blocking=drum[2],
        schedule_adherence=round(statistics.mean(moved), 2) if moved else None,
    )


def _completions(by_op: Mapping[str, Run], line: Line) -> dict[str, int]:
    """Orders whose every operation is in the timeline: their completion time."""
    return {job: max(by_op[op].end for op in ops) for job, ops in line.job_ops.items()
            if ops and all(op in by_op for op in ops)}  # fmt: skip


def _passages(by_op: Mapping[str, Run], line: Line, until: int) -> dict[str, list[tuple[int, int]]]:
    """Per buffer, the [upstream end, downstream start) waits of the jobs through it (still
    waiting at ``until``: up to it)."""
    shapes = {(b.upstream, b.downstream): b.buffer_id for b in line.buffers}
    out: dict[str, list[tuple[int, int]]] = {}
    for (pred, succ), stations in zip(line.precedences, line.precedence_stations, strict=True):
        a, b = by_op.get(pred), by_op.get(succ)
        if a is not None and (buffer := shapes.get(stations)):
            out.setdefault(buffer, []).append((a.end, max(a.end, b.start if b is not None else until)))
    return out


def _waits_for(by_op: Mapping[str, Run], line: Line, station: str, until: int) -> list[tuple[int, int]]:
    """The jobs waiting for ``station``: from their previous operation's end to its start."""
    waits = []
    for (pred, succ), (_, down) in zip(line.precedences, line.precedence_stations, strict=True):
        a, b = by_op.get(pred), by_op.get(succ)
        if down == station and a is not None:
            waits.append((a.end, max(a.end, b.start if b is not None else until)))
    return waits


def _drum(
    runs: Sequence[Run],
    line: Line,
    passages: Mapping[str, list[tuple[int, int]]],
    waiting: list[tuple[int, int]],
    start: int,
    end: int,
) -> tuple[float | None, float | None, float | None]:
    """(utilisation, starvation share, blocking share) of the drum over the window."""
    if line.drum is None or not line.drum_machines:
        return None, None, None
    length = max(1, end - start)
    busy = [(r.start, r.end) for r in runs if r.station == line.drum]
    utilisation = sum(_overlap(s, e, start, end) for s, e in busy) / (line.drum_machines * length)
    after = next((b for b in line.buffers if b.upstream == line.drum), None)
    full = passages.get(after.buffer_id, []) if after else []
    starved = blocked = 0
    points = sorted({start, end, *(t for s, e in [*busy, *waiting, *full] for t in (s, e) if start < t < end)})
    for a, b in itertools.pairwise(points):
        middle = (a + b) / 2
        idle = line.drum_machines - sum(s <= middle < e for s, e in busy)
        if idle <= 0:
            continue
        ready = sum(s <= middle < e for s, e in waiting)
        if ready == 0:
            starved += b - a
        elif after is not None and sum(s <= middle < e for s, e in full) >= after.cap:
            blocked += b - a
    return round(utilisation, 4), round(starved / length, 4), round(blocked / length, 4)


def _overlap(s: int, e: int, start: int, end: int) -> int:
    return max(0, min(e, end) - max(s, start))


def _peak(spans: list[tuple[int, int]]) -> int:
    events = sorted([(s, 1) for s, e in spans if e > s] + [(e, -1) for s, e in spans if e > s])
    level = peak = 0
    for _, delta in events:
        level += delta
        peak = max(peak, level)
    return peak
