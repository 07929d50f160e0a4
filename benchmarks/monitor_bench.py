"""The takt monitor against the naive one on seeded completion streams.

Per cell (slowdown size x noise CV): streams of completions at one station whose actual
times are the planned ones times lognormal noise (mean 1, the given CV), and, from
completion ``onset`` on, times the slowdown. Reported: the detection delay (completions at
the station from the onset to the first detection of a factor within half the slowdown of
the true one... or any detection beyond the tolerance) and false alarms per 1 000
completions (detections before the onset, or on streams without a slowdown).

    python benchmarks/monitor_bench.py --streams 200 --out out/monitor
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scheduler.lean.monitor import MonitorSettings, Sample, naive, watch

SLOWDOWNS = (0.10, 0.20, 0.30, 0.50)
NOISES = (0.05, 0.10, 0.20)


def stream(rng: random.Random, cv: float, slowdown: float, onset: int, length: int) -> list[Sample]:
    sigma = math.sqrt(math.log1p(cv * cv))
    out = []
    for k in range(length):
        ratio = math.exp(rng.gauss(-sigma * sigma / 2, sigma)) * (1 + slowdown if k >= onset else 1)
        out.append(Sample(f"op{k}", 10 * (k + 1), ratio))
    return out


def delays_and_alarms(
    streams: int, cv: float, slowdown: float, settings: MonitorSettings, seed: int
) -> dict[str, dict[str, float | None]]:
    """Per method: the median delay (completions after onset) and false alarms per 1000."""
    onset, length = 200, 260
    rng = random.Random(seed)
    results: dict[str, dict[str, list[float]]] = {"cusum": {"delay": [], "missed": [], "alarms": []},
                                                  "naive": {"delay": [], "missed": [], "alarms": []}}  # fmt: skip
    for _ in range(streams):
        samples = stream(rng, cv, slowdown, onset if slowdown else length, length)
        methods = (("cusum", watch({"s": samples}, settings)[0]), ("naive", naive({"s": samples}, settings.tolerance)))
        for name, found in methods:
            before = [d for d in found if d.time <= 10 * onset]
            after = [d for d in found if d.time > 10 * onset and d.factor != 1.0]
            results[name]["alarms"].append(len(before) / (onset if slowdown else length))
            if slowdown:
                if after:
                    results[name]["delay"].append(after[0].time // 10 - onset)
                results[name]["missed"].append(0.0 if after else 1.0)
    summary: dict[str, dict[str, float | None]] = {}
    for name, r in results.items():
        summary[name] = {
            "median_delay": statistics.median(r["delay"]) if r["delay"] else None,
            "missed_share": round(statistics.mean(r["missed"]), 3) if r["missed"] else None,
            "false_alarms_per_1000": round(1000 * statistics.mean(r["alarms"]), 2),
        }
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("out/monitor"))
    args = parser.parse_args()
    settings = MonitorSettings()
    rows = []
    for cv in NOISES:
        for slowdown in (0.0, *SLOWDOWNS):
            cell = delays_and_alarms(args.streams, cv, slowdown, settings, args.seed)
            rows.append({"cv": cv, "slowdown": slowdown, **cell})
            print(f"cv {cv:.2f} slowdown {slowdown:+.0%}: {json.dumps(cell)}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "monitor.json").write_text(json.dumps({"settings": settings.__dict__, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
