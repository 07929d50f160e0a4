"""Initial scheduling quality through the CLI: makespan against the best-known bounds.

Usage: ``python benchmarks/initial_quality.py [--time-limit 10] [--workers 2] [--out DIR]``
(run from the repository root, with the project installed). Each instance is solved by
``lean-scheduler solve`` in its own process, with wall-clock limits as in production, and
the plan is re-checked with ``lean-scheduler check``. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ["ft06", "ft10", "la16", "la17", "la18", "la19", "la20"]


def solve(scenario: Path, time_limit: float, workers: int, out_dir: Path) -> dict[str, object]:
    plan = out_dir / f"{scenario.stem}.json"
    command = [
        sys.executable, "-m", "scheduler.cli", "solve", str(scenario),
        "--time-limit", str(time_limit), "--workers", str(workers), "--out", str(plan),
    ]  # fmt: skip
    subprocess.run(command, check=False, capture_output=True, text=True)
    document: dict[str, object] = json.loads(plan.read_text())
    checked = subprocess.run([sys.executable, "-m", "scheduler.cli", "check", str(scenario), str(plan)],
                             check=False, capture_output=True)  # fmt: skip
    document["rechecked"] = checked.returncode == 0
    return document


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out_dir = args.out or Path(tempfile.mkdtemp(prefix="lean-bench-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"limit {args.time_limit} s wall, {args.workers} workers")  # fmt: skip
    print("\n| instance | best known | makespan | gap | status | solve time (s) | valid |")
    print("|---|---|---|---|---|---|---|")
    scenarios = [ROOT / "scenarios" / "jssp" / f"{n}.json" for n in INSTANCES]
    for scenario in [*scenarios, ROOT / "scenarios" / "demo_line.yaml"]:
        meta = json.loads(scenario.read_text()).get("metadata", {}) if scenario.suffix == ".json" else {}
        doc = solve(scenario, args.time_limit if scenario.suffix == ".json" else 5.0, args.workers, out_dir)
        kpis = doc["kpis"]
        assert isinstance(kpis, dict)
        best = meta.get("upper_bound")
        gap = f"{100 * (kpis['makespan'] - best) / best:.1f}%" if best else "-"
        valid = "yes" if doc["valid"] and doc["rechecked"] else "NO"
        print(f"| {scenario.stem} | {best or '-'} | {kpis['makespan']} | {gap} | {doc['status']} "
              f"| {doc['wall_time_s']} | {valid} |")  # fmt: skip


if __name__ == "__main__":
    main()
