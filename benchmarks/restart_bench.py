"""Restart time and memory of a server's plan book after a long event log.

Builds a store with the demo line and N events (downtimes started and ended, cycle-time
observations, in time order; repaired with a 10 ms budget, so tier 0 answers: the log's
length is the point, not the repairs), then opens the store in fresh processes and times
how long the book takes to load it, with the process's peak RSS.

    python benchmarks/restart_bench.py --events 10000 --out out/restart   # build, then measure
    python benchmarks/restart_bench.py --measure-only --out out/restart    # measure a built store
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scheduler.domain.events import CycleTimeObserved, DowntimeEnded, DowntimeStarted, Event  # noqa: E402
from scheduler.domain.files import load_scenario  # noqa: E402
from scheduler.engine import LivePlan, PlanBook  # noqa: E402
from scheduler.store import SqliteStore  # noqa: E402

DEMO = ROOT / "scenarios" / "demo_line.yaml"
PROBE = """
import resource, sys, time
sys.path.insert(0, {root!r})
began = time.perf_counter()
from scheduler.engine import PlanBook
from scheduler.store import SqliteStore
book = PlanBook(SqliteStore(__import__("pathlib").Path({data!r})))
latest = book.get("demo").version
print(time.perf_counter() - began, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, latest)
"""


def events(count: int, machines: list[str], stations: list[str], seed: int = 7) -> list[Event]:
    """Downtimes of a tick or two on random machines and cycle-time reports, ~12 per tick."""
    rng = random.Random(seed)
    out: list[Event] = []
    down: dict[str, str] = {}
    for k in range(count):
        tick = k // 12
        choice = rng.random()
        if choice < 0.4 and len(down) < len(machines):
            machine = rng.choice([m for m in machines if m not in down])
            down[machine] = f"d{k}"
            out.append(DowntimeStarted(event_id=f"e{k}", time=tick, machine=machine, downtime_id=f"d{k}",
                                       expected_duration=2))  # fmt: skip
        elif choice < 0.8 and down:
            machine = rng.choice(sorted(down))
            out.append(DowntimeEnded(event_id=f"e{k}", time=tick, machine=machine, downtime_id=down.pop(machine)))
        else:
            factor = rng.choice([1.0, 1.1, 0.95, 1.2])
            out.append(CycleTimeObserved(event_id=f"e{k}", time=tick, station=rng.choice(stations), factor=factor))
    return out


def build(data: Path, count: int) -> None:
    scenario = load_scenario(DEMO)
    scenario = scenario.model_copy(update={"baseline": LivePlan.create(scenario).schedule(), "events": []})
    book = PlanBook(SqliteStore(data))
    book.create(scenario, "demo")
    machines = [m.id for s in scenario.plant.stations for m in s.machines]
    stream = events(count, machines, [s.id for s in scenario.plant.stations])
    began = time.perf_counter()
    for k, event in enumerate(stream):
        book.report("demo", [event], budget_ms=10)
        if k % 1000 == 999:
            print(f"  {k + 1} events, {time.perf_counter() - began:.0f} s", flush=True)
    book.store.close()


def measure(data: Path, runs: int) -> dict[str, object]:
    samples = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", PROBE.format(root=str(ROOT), data=str(data))],
                              capture_output=True, text=True, check=True)  # fmt: skip
        seconds, rss_kib, latest = done.stdout.split()
        samples.append((float(seconds), int(rss_kib) / 1024, int(latest)))
    size = sum(p.stat().st_size for p in data.iterdir() if p.is_file()) / 1e6
    return {
        "restart_s": [round(s, 3) for s, _, _ in samples],
        "restart_s_median": round(statistics.median(s for s, _, _ in samples), 3),
        "rss_mb_median": round(statistics.median(r for _, r, _ in samples), 1),
        "latest_version": samples[0][2],
        "store_mb": round(size, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("out/restart"))
    parser.add_argument("--measure-only", action="store_true")
    args = parser.parse_args()
    data = args.out / "data"
    if not args.measure_only:
        if data.exists():
            sys.exit(f"{data} exists: remove it, or use --measure-only")
        data.mkdir(parents=True)
        build(data, args.events)
    result = measure(data, args.runs)
    print(json.dumps(result))
    (args.out / "restart.json").write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
