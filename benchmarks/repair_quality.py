"""Repair latency, quality and stability on job-shop plans under seeded downtimes.

Usage (repository root, project installed)::

    python benchmarks/repair_quality.py --instance ta21 --instance ta51 --events 20 --budget-ms 500
    python benchmarks/repair_quality.py --instance ta71 --events 20 --budget-ms 200 --reference-s 0

Each event is applied to the same base plan (a deterministic CP-SAT solve, fixed seed),
so every method repairs the same state: right-shift; our repair with the default
(efficiency) and the stability preset, each through ``LivePlan.apply``; and, unless
``--reference-s 0``, a makespan-only CP-SAT repair of all remaining operations with that
many seconds, hinted with right-shift. Every answer is re-checked.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from disruptions import downtimes

from scheduler.check import check
from scheduler.domain import REPAIR_PRESETS
from scheduler.domain.files import load_plan, load_scenario
from scheduler.engine import LivePlan
from scheduler.problem import Weights, compile_problem, reference_of, rows_of, schedule_from_timetable
from scheduler.repair import change, tier_zero
from scheduler.solver import SolverConfig, solve

ROOT = Path(__file__).resolve().parents[1]


def base_plan(name: str, seconds: float) -> tuple[Any, Any]:
    """The instance and its base plan: the stored one in ``benchmarks/plans`` (made with
    ``lean-scheduler solve ... --time-limit 60 --workers 2``), else a deterministic solve."""
    scenario = load_scenario(ROOT / "scenarios" / "jssp" / f"{name}.json")
    stored = ROOT / "benchmarks" / "plans" / f"{name}.json"
    if stored.exists():
        return scenario, load_plan(stored, scenario)
    problem = compile_problem(scenario)
    result = solve(problem, SolverConfig(time_limit_s=seconds, workers=1, seed=0, deterministic=True))
    assert result.timetable is not None
    return scenario, schedule_from_timetable(problem, result.timetable)


def run(name: str, events: int, budget_ms: int, reference_s: float, seed: int, plan_s: float) -> dict[str, Any]:
    scenario, schedule = base_plan(name, plan_s)
    makespan = max(a.end for a in schedule.assignments)
    machines = [m.id for s in scenario.plant.stations for m in s.machines]
    rows = []
    for event in downtimes(machines, makespan, events, seed):
        row: dict[str, Any] = {"event": event.event_id, "machine": event.machine, "time": event.time}
        for preset in ("efficiency", "stability"):
            policy = REPAIR_PRESETS[preset].model_copy(update={"budget_ms": budget_ms})
            live = LivePlan.create(scenario, schedule, policy)
            result = live.apply(event)
            receipt = result.receipt
            recheck = check(result.problem, result.timetable)
            row[preset] = {
                "tier": receipt.tier,
                "status": receipt.solver_status,
                "latency_ms": receipt.latency_ms,
                "makespan": recheck.kpis.makespan,
                "moved": receipt.moved_operations,
                "valid": receipt.valid and recheck.valid,
            }
        problem = result.problem
        reference = reference_of(problem, rows_of(schedule))
        began = time.perf_counter()
        tier0 = tier_zero(problem, reference)
        rs_ms = (time.perf_counter() - began) * 1000
        rs = check(problem, tier0)
        row["right_shift"] = {
            "makespan": rs.kpis.makespan,
            "moved": change(problem, reference, tier0).moved_operations,
            "valid": rs.valid,
            "latency_ms": round(rs_ms, 2),
        }
        if reference_s > 0:
            long = solve(replace(problem, weights=Weights(1, 0, 0, 0)),
                         SolverConfig(time_limit_s=reference_s, workers=2, seed=seed), hint=tier0)  # fmt: skip
            assert long.timetable is not None
            row["reference"] = {"makespan": check(problem, long.timetable).kpis.makespan, "status": long.status.value}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    return {"instance": name, "operations": len(reference), "budget_ms": budget_ms, "rows": rows}


def summary(result: dict[str, Any]) -> str:
    rows, budget = result["rows"], result["budget_ms"]
    lines = []
    for preset in ("efficiency", "stability"):
        lat = sorted(r[preset]["latency_ms"] for r in rows)
        p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
        worse = sum(r[preset]["makespan"] > r["right_shift"]["makespan"] for r in rows)
        moved = statistics.mean(r[preset]["moved"] / max(1, r["right_shift"]["moved"]) for r in rows)
        gap = "-"
        if "reference" in rows[0]:
            gap = f"{100 * statistics.mean(r[preset]['makespan'] / r['reference']['makespan'] - 1 for r in rows):+.2f}%"
        tiers = {"cp_sat": sum(r[preset]["tier"] == "cp_sat" for r in rows)}
        tiers["right_shift"] = len(rows) - tiers["cp_sat"]
        lines.append(
            f"| {result['instance']} ({result['operations']} ops) | {budget} | {preset} | "
            f"{sum(not r[preset]['valid'] for r in rows)} | {statistics.median(lat):.0f} / {p99:.0f} / {lat[-1]:.0f} | "
            f"{sum(x > budget + (50 if budget >= 500 else 100) for x in lat)} | {worse} | {gap} | {moved:.2f} | "
            f"{tiers['cp_sat']}/{tiers['right_shift']} |"
        )
    rs_gap = "-"
    if "reference" in rows[0]:
        gaps = [r["right_shift"]["makespan"] / r["reference"]["makespan"] - 1 for r in rows]
        rs_gap = f"{100 * statistics.mean(gaps):+.2f}%"
    rs_lat = sorted(r["right_shift"]["latency_ms"] for r in rows)
    invalid = sum(not r["right_shift"]["valid"] for r in rows)
    latency = f"{statistics.median(rs_lat):.1f} / {rs_lat[-1]:.1f} (max)"
    lines.append(f"| {result['instance']} ({result['operations']} ops) | - | right-shift | {invalid} | {latency} "
                 f"| - | - | {rs_gap} | 1.00 | - |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--instance", action="append", required=True)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--budget-ms", type=int, default=500)
    parser.add_argument("--reference-s", type=float, default=10.0)
    parser.add_argument("--plan-s", type=float, default=5.0, help="deterministic time for the base plan")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.events} downtimes per instance, seed {args.seed}")  # fmt: skip
    print("\n| instance | budget ms | method | invalid | latency p50 / p99 / max ms | over budget+slack | "
          "makespan worse than right-shift | makespan vs 10 s reference | moved / right-shift moved | "
          "answers cp_sat/tier 0 |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    results = [run(n, args.events, args.budget_ms, args.reference_s, args.seed, args.plan_s) for n in args.instance]
    for result in results:
        print(summary(result))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
