"""Wall time of a sweep of the demo line (100 configurations x 3 replications by default)
through the local pool at 1 and 2 processes and through a local Ray at 2 CPUs, on this
machine; the overhead per task (what an executor adds to the runs' own time); and that every
arm gives the same results.json.

The plan every run starts from is solved once, before the arms (``--plan``), so the arms
time the runs alone. Each arm is a real ``lean-scheduler sweep`` process; the runs' own
seconds come from its run files.

    python benchmarks/sweep_bench.py --horizon 240 --out benchmarks/results/sweep
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scheduler.domain.files import load_scenario  # noqa: E402
from scheduler.engine import LivePlan  # noqa: E402
from scheduler.twin import for_the_twin  # noqa: E402

DEMO = ROOT / "scenarios" / "demo_line.yaml"
GRID = ROOT / "scenarios" / "sweeps" / "demo_sweep.yaml"
ARMS = {"pool-1": ("local", 1), "pool-2": ("local", 2), "ray-2": ("ray", 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizon", type=int, default=240, help="ticks each run lasts (the file says 600)")
    parser.add_argument("--replications", type=int, default=3)
    parser.add_argument("--arms", default=",".join(ARMS), help="pool-1,pool-2,ray-2")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "sweep")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    spec = yaml.safe_load(GRID.read_text())
    spec.update(horizon=args.horizon, replications=args.replications)
    grid = args.out / "sweep.yaml"
    grid.write_text(yaml.safe_dump(spec, sort_keys=False))
    plan = args.out / "plan.json"
    began = time.perf_counter()
    schedule = LivePlan.create(for_the_twin(load_scenario(DEMO))).schedule()
    plan.write_text(schedule.model_dump_json(exclude_none=True))
    print(f"plan solved once in {time.perf_counter() - began:.1f} s", flush=True)
    rows = {name: _arm(name, grid, plan, args.out) for name in args.arms.split(",")}
    results = {name: json.loads((args.out / name / "results.json").read_text()) for name in rows}
    same = len({json.dumps(r, sort_keys=True) for r in results.values()}) == 1
    summary = {"machine": _machine(), "horizon": args.horizon, "replications": args.replications,
               "arms": rows, "identical_results": same}  # fmt: skip
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    for name, row in rows.items():
        print(f"{name}: {row['tasks']} runs in {row['wall_s']:.1f} s wall; runs' own time {row['run_s']:.1f} s; "
              f"overhead {row['overhead_ms_per_task']:.0f} ms per task")  # fmt: skip
    print(f"identical results.json across arms: {same}")


def _arm(name: str, grid: Path, plan: Path, out: Path) -> dict[str, float]:
    kind, jobs = ARMS[name]
    folder = out / name
    command = [sys.executable, "-m", "scheduler", "sweep", str(DEMO), "--grid", str(grid), "--plan", str(plan),
               "--executor", kind, "--jobs", str(jobs), "--out", str(folder)]  # fmt: skip
    for old in (folder / "runs").glob("*.json") if (folder / "runs").exists() else []:
        old.unlink()
    began = time.perf_counter()
    subprocess.run(command, check=True, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - began
    seconds = [json.loads(p.read_text())["seconds"] for p in (folder / "runs").glob("*.json")]
    own = sum(seconds)
    print(f"{name}: {wall:.1f} s", flush=True)
    return {"jobs": jobs, "tasks": len(seconds), "wall_s": round(wall, 2), "run_s": round(own, 2),
            "run_mean_s": round(own / len(seconds), 3),
            "overhead_ms_per_task": round((wall * jobs - own) / len(seconds) * 1000, 1)}  # fmt: skip


def _machine() -> str:
    cpus = os.cpu_count()
    return f"{cpus} CPUs, Python {sys.version.split()[0]}, {os.uname().machine}"


if __name__ == "__main__":
    main()
