"""Seeded disruption streams, written as scenario events so they replay anywhere."""

from __future__ import annotations

import random

from scheduler.domain.events import DowntimeStarted


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
