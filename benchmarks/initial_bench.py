"""The first plan: our initial solve against a plain CP-SAT job-shop model, same wall-clock
limit, gap to the best known bound (instances from the shared bundle, vendored or not).

    python benchmarks/initial_bench.py --seconds 10 --seeds 3 --out out/initial.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from plain import plain_jssp, pyjobshop_jssp

from scheduler.check import check
from scheduler.jssp import load_instance
from scheduler.problem import compile_problem
from scheduler.repair import initial
from scheduler.solver import SolverConfig

BUNDLE = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "jssp_benchmark_instances.json"
INSTANCES = ["ta21", "ta31", "ta41", "ta51", "ta61", "ta71", "ta11", "ta42", "ta52", "ta62", "ta72"]
"""ta21-ta71 as in the suite, and ta11, ta31, ta42, ta52, ta62, ta72: not vendored."""


def run(name: str, seconds: float, seed: int, pyjobshop: bool) -> dict[str, Any]:
    scenario = load_instance(BUNDLE, name)
    problem = compile_problem(scenario)
    result = initial.initial_plan(problem, SolverConfig(time_limit_s=seconds, workers=2, seed=seed))
    assert result.timetable is not None
    report = check(problem, result.timetable)
    plain, plain_valid = plain_jssp(problem, seconds, 2, seed, False)
    best = float(scenario.metadata["upper_bound"])  # type: ignore[arg-type]
    pjs, pjs_valid = pyjobshop_jssp(problem, seconds, 2, seed) if pyjobshop else (None, None)
    return {"pyjobshop": pjs, "pyjobshop_valid": pjs_valid, "pyjobshop_gap": None if pjs is None else pjs / best - 1,
            "instance": name, "operations": problem.num_ops, "seed": seed, "seconds": seconds, "best_known": best,
            "ours": report.kpis.makespan, "ours_valid": report.valid, "ours_status": result.status.value,
            "ours_wall_s": round(result.wall_time_s, 2), "plain": plain, "plain_valid": plain_valid,
            "ours_gap": report.kpis.makespan / best - 1,
            "plain_gap": None if plain is None else plain / best - 1}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--instance", action="append", help="default: " + " ".join(INSTANCES))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--pyjobshop", action="store_true", help="also PyJobShop (pip install pyjobshop==0.0.9)")
    args = parser.parse_args()
    rows = []
    for name in args.instance or INSTANCES:
        for seed in range(args.seeds):
            rows.append(run(name, args.seconds, seed, args.pyjobshop))
            print(json.dumps(rows[-1]), flush=True)
    paired = [r for r in rows if r["plain_gap"] is not None]
    summary = {
        "ours_mean_gap": statistics.mean(r["ours_gap"] for r in rows),
        "plain_mean_gap_where_it_answered": statistics.mean(r["plain_gap"] for r in paired) if paired else None,
        "ours_mean_gap_paired": statistics.mean(r["ours_gap"] for r in paired) if paired else None,
        "plain_answered": len(paired), "solves": len(rows),
        "ours_shorter": sum(r["ours"] < r["plain"] for r in paired),
        "plain_shorter": sum(r["plain"] < r["ours"] for r in paired),
        "invalid": sum(not r["ours_valid"] for r in rows),
    }  # fmt: skip
    if args.pyjobshop:
        both = [r for r in rows if r["pyjobshop_gap"] is not None]
        summary |= {"pyjobshop_answered": len(both),
                    "pyjobshop_mean_gap_where_it_answered": statistics.mean(r["pyjobshop_gap"] for r in both),
                    "ours_mean_gap_where_pyjobshop_answered": statistics.mean(r["ours_gap"] for r in both),
                    "ours_shorter_than_pyjobshop": sum(r["ours"] < r["pyjobshop"] for r in both),
                    "pyjobshop_shorter": sum(r["pyjobshop"] < r["ours"] for r in both)}  # fmt: skip
    print(json.dumps(summary))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"rows": rows, "summary": summary}, indent=1) + "\n")


if __name__ == "__main__":
    main()
