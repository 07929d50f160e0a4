"""The engine's side of the takt monitor: completions from the ledger as samples, and what
the monitor finds beyond what it reported before as derived events (source ``monitor``)."""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.domain import RepairPolicy, Scenario
from scheduler.domain.events import CycleTimeObserved
from scheduler.engine.ledger import Ledger, OperationFact
from scheduler.engine.situation import Window, downtime_windows, with_planned
from scheduler.lean.monitor import Detection, MonitorSettings, Sample, StationState, watch
from scheduler.problem import ProblemData

MONITOR = "monitor"
"""The source of derived events."""


@dataclass(frozen=True)
class Watched:
    detections: list[Detection]
    stations: dict[str, StationState]
    silent: dict[str, int]
    """Stations that have reported completions but none for much longer than their
    operations take: station -> the end of its last completion."""


def settings(policy: RepairPolicy) -> MonitorSettings:
    return MonitorSettings(tolerance=policy.takt_tolerance)


def samples(
    ledger: Ledger, problem: ProblemData, scenario: Scenario, now: int, policy: RepairPolicy
) -> dict[str, list[Sample]]:
    """Per station, every completion reported with its start: actual work over planned work."""
    windows = with_planned(downtime_windows(ledger, now, policy), problem)
    timing = {op.id: (op, order.quantity) for order in scenario.orders for op in order.operations}
    machines = {s.id: [m.id for m in s.machines] for s in scenario.plant.stations}
    out: dict[str, list[Sample]] = {}
    for op_id, fact in ledger.operations.items():
        if fact.start is None or fact.end is None or fact.started_by is None or op_id not in timing:
            continue  # running, or its start inferred: no measured time
        op, quantity = timing[op_id]
        planned = dict(op.options(machines[op.station], fact.quantity or quantity)).get(fact.machine)
        worked = fact.end - fact.start - _paused(fact, windows.get(fact.machine, []))
        if planned and worked > 0:
            out.setdefault(op.station, []).append(Sample(op_id, fact.end, worked / planned, planned))
    return out


def _paused(fact: OperationFact, windows: list[Window]) -> int:
    assert fact.start is not None and fact.end is not None
    return sum(max(0, min(b, fact.end) - max(a, fact.start)) for a, b in windows)


def watched(ledger: Ledger, problem: ProblemData, scenario: Scenario, now: int, policy: RepairPolicy) -> Watched:
    found, states = watch(samples(ledger, problem, scenario, now, policy), settings(policy))
    silent = {}
    for station, state in states.items():
        ops = [i for i in range(problem.num_ops) if problem.station_ids[problem.op_station[i]] == station]
        typical = sorted(min(d for _, d in problem.op_modes[i]) for i in ops)
        if state.last_end is not None and typical and now - state.last_end > 3 * typical[len(typical) // 2]:
            silent[station] = state.last_end
    return Watched(found, states, silent)


def derived_events(
    ledger: Ledger, problem: ProblemData, scenario: Scenario, now: int, policy: RepairPolicy
) -> list[CycleTimeObserved]:
    """The monitor's detections not reported yet, as events; none with the monitor off."""
    if not policy.takt_monitor:
        return []
    reported: set[str] = set()
    latest: dict[str, int] = {}  # per station, the time of its last reported detection
    for (_, key), seen in ledger.observations.items():
        for o in seen:
            if o.by[0] == MONITOR:
                reported.add(o.by[1])
                latest[key] = max(latest.get(key, o.time), o.time)
    events = []
    for d in watched(ledger, problem, scenario, now, policy).detections:
        event_id = f"takt-{d.station}-{d.number}"
        if event_id in reported or d.time < latest.get(d.station, -1):
            continue  # reported already, or older than what was (a late completion changed the past)
        events.append(CycleTimeObserved(event_id=event_id, source=MONITOR, time=d.time, station=d.station,
                                        factor=d.factor, samples=list(d.samples[-1000:])))  # fmt: skip
    return events
