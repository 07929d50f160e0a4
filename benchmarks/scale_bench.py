"""Repair at scale: a chain of downtimes on one live plan of 2 000-5 000 operations, as on
a real shift (each event's state is the next one's input). Per event: what the caller waits
(end to end), what the receipt says, which tier answered, CP-SAT threads still alive when
``apply`` returned, and the process's RSS.

    python benchmarks/scale_bench.py latency --instance syn200x25 --budget-ms 200 --events 10
    python benchmarks/scale_bench.py profile --instance syn200x25 --budget-ms 200
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cells import ROOT, load
from disruptions import downtimes

from scheduler.check import check
from scheduler.domain import REPAIR_PRESETS, RepairPolicy, Scenario, Schedule
from scheduler.domain.files import load_plan
from scheduler.engine import LivePlan
from scheduler.problem import ProblemData, compile_problem, schedule_from_timetable
from scheduler.repair import Reference, tier_zero
from scheduler.solver import SolverConfig, solve


def instance(name: str, base_s: float) -> tuple[Scenario, Schedule]:
    """The scenario and a base plan: stored in benchmarks/plans, else CP-SAT for ``base_s``
    hinted with the dispatch plan (the dispatch plan when CP-SAT finds nothing)."""
    scenario = load(name)
    stored = ROOT / "benchmarks" / "plans" / f"{name}.json"
    if stored.exists():
        return scenario, load_plan(stored, scenario)
    from scheduler.repair.dispatch import dispatch  # noqa: PLC0415 (absent from checkouts before it: --before runs)

    problem = compile_problem(scenario)
    start = dispatch(problem)
    result = solve(problem, SolverConfig(time_limit_s=base_s, workers=2, probing=False), hint=start)
    schedule = schedule_from_timetable(problem, result.timetable or start)
    rows = [a.model_dump(mode="json") for a in schedule.assignments]
    stored.write_text(json.dumps({"assignments": rows}, separators=(",", ":")) + "\n")
    return scenario, schedule


def _preset(policy: RepairPolicy, name: str) -> RepairPolicy:
    """The policy with a preset (also on checkouts from before ``with_preset``, to measure them)."""
    if hasattr(policy, "with_preset"):
        return policy.with_preset(name)
    preset = REPAIR_PRESETS[name]
    return policy.model_copy(update={"stability": preset.stability, "neighbourhood": preset.neighbourhood})


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def latency(args: argparse.Namespace) -> dict[str, Any]:
    scenario, schedule = instance(args.instance, args.base_s)
    policy = _preset(scenario.policy.repair, args.preset).model_copy(update={"budget_ms": args.budget_ms})
    live = LivePlan.create(scenario, schedule, policy)
    makespan = max(a.end for a in schedule.assignments)
    machines = [m.id for s in scenario.plant.stations for m in s.machines]
    events = sorted(downtimes(machines, makespan, args.events, args.seed, start=(0.2, 0.6)), key=lambda e: e.time)
    rows: list[dict[str, Any]] = []
    for event in events:
        problem, reference, _ = live.preview(event)  # the state every method repairs
        baselines = _baselines(problem, reference, args.budget_ms) if args.baselines else {}
        began = time.perf_counter()
        result = live.apply(event, began=began)
        waited_ms = (time.perf_counter() - began) * 1000
        alive = sum(t.name == "cp-sat-repair" for t in threading.enumerate())
        report = check(result.problem, result.timetable)
        r = result.receipt
        rows.append({"event": event.event_id, "waited_ms": round(waited_ms, 1), "receipt_ms": r.latency_ms,
                     "tier": r.tier, "status": r.solver_status, "reason": r.reason, "valid": report.valid,
                     "moved": r.moved_operations, "makespan_before": r.makespan_before,
                     "makespan_after": r.makespan_after, "threads_alive": alive,
                     "rss_mb": round(rss_mb(), 1), **baselines})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    waited = sorted(r["waited_ms"] for r in rows)
    summary = {
        "instance": args.instance, "operations": len(schedule.assignments), "budget_ms": args.budget_ms,
        "preset": args.preset, "p50_ms": statistics.median(waited), "max_ms": waited[-1],
        "over_budget_plus_100": sum(w > args.budget_ms + 100 for w in waited),
        "over_budget_plus_50": sum(w > args.budget_ms + 50 for w in waited),
        "receipt_short_by_max_ms": max(r["waited_ms"] - r["receipt_ms"] for r in rows),
        "cp_sat_answers": sum(r["tier"] == "cp_sat" for r in rows), "invalid": sum(not r["valid"] for r in rows),
        "threads_alive_max": max(r["threads_alive"] for r in rows),
        "rss_growth_mb_per_event": round((rows[-1]["rss_mb"] - rows[0]["rss_mb"]) / max(1, len(rows) - 1), 2),
    }  # fmt: skip
    if args.baselines:
        ours = [r["makespan_after"] for r in rows]
        for method in ("right_shift", "plain"):
            theirs = [r[f"{method}_makespan"] for r in rows]
            summary[f"vs_{method}_mean_pct"] = round(
                statistics.mean(100 * (o / t - 1) for o, t in zip(ours, theirs, strict=True)), 3
            )
            summary[f"better_than_{method}"] = sum(o < t for o, t in zip(ours, theirs, strict=True))
            summary[f"worse_than_{method}"] = sum(o > t for o, t in zip(ours, theirs, strict=True))
        summary["plain_p50_ms"] = statistics.median(r["plain_ms"] for r in rows)
    print(json.dumps(summary))
    return summary


def _baselines(problem: ProblemData, reference: Reference, budget_ms: int) -> dict[str, Any]:
    """Right-shift alone, and plain CP-SAT over every remaining operation hinted with it in
    the same budget (what a user of OR-Tools alone would run), on the same state."""
    began = time.perf_counter()
    shifted = tier_zero(problem, reference)
    rs_ms = (time.perf_counter() - began) * 1000
    config = SolverConfig(time_limit_s=max(0.01, budget_ms / 1000 - rs_ms / 1000), workers=2, probing=False)
    plain = solve(problem, config, hint=shifted)
    plain_ms = (time.perf_counter() - began) * 1000
    found = plain.timetable if plain.timetable is not None and check(problem, plain.timetable).valid else shifted
    return {"right_shift_ms": round(rs_ms, 1), "right_shift_makespan": check(problem, shifted).kpis.makespan,
            "plain_ms": round(plain_ms, 1), "plain_makespan": check(problem, found).kpis.makespan}  # fmt: skip


def profile(args: argparse.Namespace) -> None:
    scenario, schedule = instance(args.instance, args.base_s)
    policy = scenario.policy.repair.model_copy(update={"budget_ms": args.budget_ms})
    live = LivePlan.create(scenario, schedule, policy)
    makespan = max(a.end for a in schedule.assignments)
    machines = [m.id for s in scenario.plant.stations for m in s.machines]
    event = downtimes(machines, makespan, 1, args.seed)[0]
    profiler = cProfile.Profile()
    profiler.enable()
    live.apply(event)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["latency", "profile"])
    parser.add_argument("--instance", default="syn200x25")
    parser.add_argument("--budget-ms", type=int, default=200)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--preset", default="efficiency", choices=sorted(REPAIR_PRESETS))
    parser.add_argument("--baselines", action="store_true", help="also right-shift and plain CP-SAT per event")
    parser.add_argument("--base-s", type=float, default=20.0, help="CP-SAT seconds for a base plan not stored")
    args = parser.parse_args()
    if args.what == "latency":
        latency(args)
    else:
        profile(args)


if __name__ == "__main__":
    main()
