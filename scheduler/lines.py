"""Seeded lean flow lines: the capped lines the benchmark suite and the tests plan on.

A line of seven stations in flow, three of them with parallel machines (one of each such
station a little slower), kanban caps of 1 to 4 on every buffer, a CONWIP cap, a drum (the
most loaded station, declared) with a time buffer before it, and four product families, one
of which skips a station. Orders arrive at about the drum's pace, due within two to four
times their work plus the queue a CONWIP-full line makes them wait. The same (orders, seed)
always gives the same scenario.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

from scheduler.domain import Scenario

STATIONS = ("saw", "mill", "drill", "weld", "paint", "assemble", "pack")
PARALLEL = ("saw", "drill", "assemble")
DRUM = "weld"
FAMILIES = ("A", "B", "C", "D")
SLOWER = 1.2
"""The second machine of a parallel station takes this much longer."""
SUITE = {"flow300": 45, "flow1000": 150, "flow3000": 445, "flow5000": 740}
"""The benchmark suite's capped lines: name -> orders (seed 0; about 6.75 operations each)."""


def flow_line(orders: int, seed: int = 0, conwip: int = 12, name: str | None = None) -> Scenario:
    """A capped flow line with ``orders`` orders (about 6.75 operations each)."""
    rng = random.Random(f"flow-line/{orders}/{seed}")
    machines = {s: 2 + (rng.random() < 0.3) if s in PARALLEL else 1 for s in STATIONS}
    load = {s: 1.0 if s == DRUM else rng.uniform(0.6, 0.85) for s in STATIONS}
    skipped = rng.choice(STATIONS[1:-1][::2])  # family D skips one of mill, weld, assemble
    times = {f: _family_times(rng, f, skipped, machines, load) for f in FAMILIES}
    drum_per_order = sum(s + 8 * c for s, c in (t[DRUM] for t in times.values() if DRUM in t)) / len(FAMILIES)
    routings = {f: [s for s in STATIONS if s in times[f]] for f in FAMILIES}
    pairs = sorted({(a, b) for r in routings.values() for a, b in itertools.pairwise(r)},
                   key=lambda p: (STATIONS.index(p[0]), STATIONS.index(p[1])))  # fmt: skip
    releases = [0] * min(orders, conwip)  # the line starts full; then orders arrive at the drum's pace
    while len(releases) < orders:
        releases.append(releases[-1] + round(drum_per_order * rng.uniform(0.8, 1.1)))
    data: dict[str, Any] = {
        "name": name or f"flow-line-{orders}-s{seed}",
        "description": f"A seeded capped flow line: {orders} orders, seed {seed} (scheduler/lines.py).",
        "time_unit": "minute",
        "plant": {
            "stations": [
                {"id": s, "machines": [{"id": f"{s.upper()}-{k + 1}"} for k in range(machines[s])]} for s in STATIONS
            ],
            "buffers": [{"upstream": a, "downstream": b, "kanban": rng.randint(1, 4)} for a, b in pairs],
            "conwip": conwip,
            "bottleneck": DRUM,
            "bottleneck_buffer": 10,
        },
        "orders": [_order(rng, k, release, times, machines, drum_per_order) for k, release in enumerate(releases)],
        "policy": {"solver": {"time_limit_s": 10}},
    }
    return Scenario.model_validate(data)


def _family_times(
    rng: random.Random, family: str, skipped: str, machines: dict[str, int], load: dict[str, float]
) -> dict[str, tuple[int, float]]:
    """Per station of the family's routing: (setup, cycle time per unit), each station's
    work per machine about ``load`` times the drum's."""
    drum_setup, drum_cycle = rng.randint(3, 7), rng.uniform(0.9, 1.4)
    times = {}
    for station in STATIONS:
        if family == "D" and station == skipped:
            continue
        scale = load[station] * machines[station] * rng.uniform(0.95, 1.05)
        times[station] = (max(1, round(drum_setup * scale)), round(drum_cycle * scale, 2))
    return times


def _order(
    rng: random.Random,
    k: int,
    release: int,
    times: dict[str, dict[str, tuple[int, float]]],
    machines: dict[str, int],
    drum_per_order: float,
) -> dict[str, Any]:
    family = rng.choice(FAMILIES)
    quantity = rng.randint(4, 12)
    work = sum(math.ceil(s + quantity * c) for s, c in times[family].values())
    due = release + int(work * rng.uniform(2.0, 4.0)) + 4 * int(drum_per_order)
    operations = []
    for station, (setup, cycle) in times[family].items():
        op: dict[str, Any] = {"id": f"O{k + 1:04d}-{station}", "station": station}
        if machines[station] == 1:
            op |= {"setup": setup, "cycle_time": cycle}
        else:
            op["machines"] = [{"machine": f"{station.upper()}-{m + 1}", "setup": setup,
                               "cycle_time": round(cycle * (SLOWER if m else 1.0), 3)}
                              for m in range(machines[station])]  # fmt: skip
        operations.append(op)
    return {"id": f"O{k + 1:04d}", "family": family, "quantity": quantity, "release": release, "due": due,
            "weight": rng.choice([1, 1, 1, 2, 3]), "operations": operations}  # fmt: skip
