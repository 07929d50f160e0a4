"""Seeded disruption streams, written as scenario events so they replay anywhere."""

from __future__ import annotations

import random

from scheduler.domain.events import DowntimeEnded, DowntimeStarted


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
