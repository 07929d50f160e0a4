"""Seeded disruption streams, written as scenario events so they replay anywhere (the CLI's
``repair --events``, the service, the suite)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

import yaml

from scheduler.domain import Order, Scenario
from scheduler.domain.events import (
    CycleTimeObserved,
    DowntimeEnded,
    DowntimeStarted,
    Event,
    OrderAdded,
    OrderCancelled,
)


def downtimes(
    machines: list[str],
    makespan: int,
    count: int,
    seed: int,
    start: tuple[float, float] = (0.2, 0.6),
    length: tuple[float, float] = (0.05, 0.15),
) -> list[DowntimeStarted]:
    """``count`` downtimes: a random machine, starting uniformly in ``start`` x makespan,
    lasting uniformly ``length`` x makespan (at least one tick)."""
    rng = random.Random(seed)
    return [
        DowntimeStarted(
            event_id=f"down-{k:03d}",
            time=int(rng.uniform(*start) * makespan),
            machine=rng.choice(machines),
            downtime_id=f"d{k:03d}",
            expected_duration=max(1, int(rng.uniform(*length) * makespan)),
            reason="seeded breakdown",
        )
        for k in range(count)
    ]


def downtime_pairs(
    machines: list[str], makespan: int, count: int, seed: int, span: tuple[float, float] = (0.05, 0.6)
) -> list[DowntimeStarted | DowntimeEnded]:
    """A shift as an MES reports it: ``count`` events in time order, each stop (a random
    machine, 1-3% of the makespan) followed by its end."""
    rng = random.Random(seed)
    starts = sorted(int(rng.uniform(*span) * makespan) for _ in range(count // 2))
    events: list[DowntimeStarted | DowntimeEnded] = []
    for k, start in enumerate(starts):
        machine, length = rng.choice(machines), max(1, int(rng.uniform(0.01, 0.03) * makespan))
        events.append(DowntimeStarted(event_id=f"stop-{k:03d}", time=start, machine=machine, downtime_id=f"d{k:03d}",
                                      expected_duration=length, reason="seeded stop"))  # fmt: skip
        events.append(DowntimeEnded(event_id=f"back-{k:03d}", time=start + length, machine=machine,
                                    downtime_id=f"d{k:03d}"))  # fmt: skip
    return sorted(events, key=lambda e: e.time)


@dataclass(frozen=True)
class StreamSpec:
    """The distributions of a disruption stream, in units of the plan's makespan M.

    Breakdowns: per machine, times between failures exponential with mean ``mtbf`` x M;
    repair times lognormal with median ``mttr`` x M and shape 0.5. Takt deviations: per
    station, exponential gaps with mean ``takt_gap`` x M, a factor lognormal with median 1
    and shape ``takt_sigma``. Rush orders: exponential gaps with mean ``rush_gap`` x M, a
    copy of a random order's routing, due after twice its work. Events fall in ``window``.
    """

    mtbf: float = 2.0
    mttr: float = 0.05
    takt_gap: float = 3.0
    takt_sigma: float = 0.15
    rush_gap: float = 1.5
    window: tuple[float, float] = (0.15, 0.65)


def stream(scenario: Scenario, makespan: int, count: int, seed: int, spec: StreamSpec = StreamSpec()) -> list[Event]:
    """``count`` events in time order: breakdowns, takt deviations and rush orders, all
    seeded (with fresh draws over the window again until there are enough)."""
    rng = random.Random(seed)
    machines = [m.id for s in scenario.plant.stations for m in s.machines]
    stations = [s.id for s in scenario.plant.stations]
    lo, hi = (int(f * makespan) for f in spec.window)
    events: list[Event] = []
    rounds = 0
    while len(events) < count:
        drawn: list[tuple[int, str, str]] = []
        for machine in machines:
            drawn += [(t, "down", machine) for t in _arrivals(rng, lo, hi, spec.mtbf * makespan)]
        for station in stations:
            drawn += [(t, "takt", station) for t in _arrivals(rng, lo, hi, spec.takt_gap * makespan)]
        drawn += [(t, "rush", "") for t in _arrivals(rng, lo, hi, spec.rush_gap * makespan)]
        for t, kind, where in sorted(drawn):
            k = len(events)
            if kind == "down":
                length = max(1, int(math.exp(rng.gauss(math.log(spec.mttr * makespan), 0.5))))
                events.append(DowntimeStarted(event_id=f"r{rounds}-down-{k}", time=t, machine=where,
                                              downtime_id=f"d{k}", expected_duration=length,
                                              reason="seeded breakdown"))  # fmt: skip
            elif kind == "takt":
                factor = round(math.exp(rng.gauss(0.0, spec.takt_sigma)), 3)
                events.append(CycleTimeObserved(event_id=f"r{rounds}-takt-{k}", time=t, station=where,
                                                factor=min(100.0, factor)))  # fmt: skip
            else:
                order = _rush(scenario, rng.choice(scenario.orders), f"RUSH{k}", t)
                events.append(OrderAdded(event_id=f"r{rounds}-rush-{k}", time=t, order=order))
        rounds += 1
    return sorted(events[:count], key=lambda e: e.time)


def _arrivals(rng: random.Random, lo: int, hi: int, mean_gap: float) -> list[int]:
    times, t = [], lo + rng.expovariate(1 / mean_gap)
    while t < hi:
        times.append(int(t))
        t += rng.expovariate(1 / mean_gap)
    return times


def _rush(scenario: Scenario, template: Order, order_id: str, now: int) -> Order:
    index = {op.id: f"{order_id}-{k}" for k, op in enumerate(template.operations)}
    operations = [op.model_copy(update={"id": index[op.id], "after": [index[a] for a in op.after]})
                  for op in template.operations]  # fmt: skip
    machines = {s.id: [m.id for m in s.machines] for s in scenario.plant.stations}
    work = sum(min(d for _, d in op.options(machines[op.station], template.quantity)) for op in template.operations)
    return template.model_copy(update={"id": order_id, "release": now, "due": now + 2 * max(1, work), "weight": 3,
                                       "operations": operations})  # fmt: skip


def write_script(events: list[Event], path: Path) -> None:
    """An event file (``{events: [...]}``) that ``lean-scheduler repair --events`` replays."""
    document = {"events": [e.model_dump(mode="json", exclude_none=True) for e in events]}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def lean_stream(scenario: Scenario, makespan: int, count: int, seed: int,
                window: tuple[float, float] = (0.1, 0.6)) -> list[Event]:  # fmt: skip
    """A shift on a capped line, ``count`` events in time order, in blocks that repeat: the
    drum stops with no expected end and is back early (before the policy's assumed end);
    a feeder stops for an expected while and is back a little earlier or later; a station
    slows down, then a rush order, a cancellation of an order not yet released, and the
    slowed station back at its pace."""
    rng = random.Random(f"lean/{seed}")
    drum = scenario.plant.bottleneck
    stations = {s.id: [m.id for m in s.machines] for s in scenario.plant.stations}
    feeders = [m for s, ms in stations.items() if s != drum for m in ms]
    lo, hi = (int(f * makespan) for f in window)
    gap = max(2, (hi - lo) // max(1, count))
    events: list[Event] = []
    t, k = lo, 0
    cancelled: set[str] = set()
    while len(events) < count:
        machine, feeder = rng.choice(stations[drum or scenario.plant.stations[0].id]), rng.choice(feeders)
        slow = rng.choice([s for s in stations if s != drum])
        expected = rng.randint(20, 60)
        block: list[tuple[int, Event]] = [
            (0, DowntimeStarted(event_id=f"drum-stop-{k}", time=0, machine=machine, downtime_id=f"drum-{k}",
                                reason="drum stop, end unknown")),
            (rng.randint(5, 20), DowntimeEnded(event_id=f"drum-back-{k}", time=0, machine=machine,
                                               downtime_id=f"drum-{k}")),
            (gap, DowntimeStarted(event_id=f"feeder-stop-{k}", time=0, machine=feeder, downtime_id=f"feed-{k}",
                                  expected_duration=expected, reason="feeder stop")),
            (int(expected * rng.uniform(0.6, 1.3)), DowntimeEnded(event_id=f"feeder-back-{k}", time=0,
                                                                  machine=feeder, downtime_id=f"feed-{k}")),
            (gap, CycleTimeObserved(event_id=f"slow-{k}", time=0, station=slow,
                                    factor=round(rng.uniform(1.15, 1.4), 2))),
            (gap, OrderAdded(event_id=f"rush-{k}", time=0,
                             order=_rush(scenario, rng.choice(scenario.orders), f"RUSH{k}", 0))),
            (gap, OrderCancelled(event_id=f"cancel-{k}", time=0, order_id="none")),
            (gap, CycleTimeObserved(event_id=f"pace-{k}", time=0, station=slow, factor=1.0)),
        ]  # fmt: skip
        for delay, drawn in block:
            t += delay
            update: dict[str, object] = {"time": t}
            if isinstance(drawn, OrderAdded):
                update["order"] = _rush(scenario, rng.choice(scenario.orders), f"RUSH{k}", t)
            if isinstance(drawn, OrderCancelled):
                later = [o.id for o in scenario.orders if o.release > t + gap and o.id not in cancelled]
                if not later:
                    continue
                chosen = rng.choice(later)
                update["order_id"] = chosen
                cancelled.add(chosen)
            events.append(drawn.model_copy(update=update))
        k += 1
    return events[:count]
