"""How few operations can a repair move? The least-change model on the suite's events.

For each event of the suite's stream (the same events, the same frozen states), CP-SAT
minimises only the number of moved operations (no efficiency terms) under right-shift's
makespan (the cap every repair of ours keeps), hinted with right-shift, for a long limit.
What it finds, against right-shift's moves, is how far more search takes the stability
policy's objective; its proven bound is reported too (weak: LP bounds on counts of moved
operations are close to zero unless the model is solved to optimality).

Usage: ``python benchmarks/least_change.py --instance ta21 --events 20 --seconds 30``
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cells import base_plan
from disruptions import stream

from scheduler.check import check
from scheduler.engine import LivePlan
from scheduler.problem import Weights
from scheduler.repair import change, tier_zero
from scheduler.repair.gap_repair import gap_repair
from scheduler.solver import SolverConfig, Stability, solve

NO_EFFICIENCY = Weights(makespan=0, weighted_tardiness=0, earliness=0, bottleneck_idle=0)


def least_change(name: str, events: int, seconds: float, workers: int, seed: int = 1) -> list[dict[str, Any]]:
    """Per event: right-shift's moves, the fewest moves found and CP-SAT's bound on them."""
    scenario, schedule = base_plan(name)
    base = LivePlan.create(scenario, schedule)
    makespan = max(a.end for a in schedule.assignments)
    stream_events = [e for e in stream(scenario, makespan, 3 * events, seed) if not base.preview(e)[2]]
    rows = []
    for event in stream_events[:events]:
        problem, reference, _ = base.preview(event)
        shifted = tier_zero(problem, reference)
        rs_moved = change(problem, reference, shifted).moved_operations
        cap = check(problem, shifted).kpis.makespan
        stability = Stability(tuple(reference), moved=1, shift=0, reassigned=0, efficiency_scale=1)
        config = SolverConfig(time_limit_s=seconds, workers=workers, seed=seed, probing=False)
        result = solve(problem, config, NO_EFFICIENCY, hint=shifted, stability=stability, makespan_cap=cap)
        best = shifted if result.timetable is None else result.timetable  # the hint is feasible
        assert check(problem, best).valid, event.event_id
        found = change(problem, reference, best).moved_operations
        gap = gap_repair(problem, reference)  # moves only the disrupted chains, whatever the makespan
        gap_moved = None if gap is None else change(problem, reference, gap).moved_operations
        gap_over = None if gap is None else check(problem, gap).kpis.makespan / cap - 1
        rows.append({"event": event.event_id, "type": event.type, "right_shift_moved": rs_moved,
                     "fewest_found": found, "bound": math.ceil(result.bound or 0), "status": result.status.value,
                     "gap_repair_moved": gap_moved, "gap_repair_makespan_over_cap": gap_over})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Ratios to right-shift's moves: means of per-event ratios, and pooled over the events."""
    counted = [r for r in rows if r["right_shift_moved"]]
    by_type: dict[str, Any] = {}
    for kind in sorted({r["type"] for r in counted}):
        of_kind = [r for r in counted if r["type"] == kind]
        by_type[kind] = {
            "events": len(of_kind),
            "fewest_found_vs_right_shift": _mean(r["fewest_found"] / r["right_shift_moved"] for r in of_kind),
            "bound_vs_right_shift": _mean(r["bound"] / r["right_shift_moved"] for r in of_kind),
            "proven_optimal": sum(r["status"] == "optimal" for r in of_kind),
            "gap_repair_answers": len(gaps := [r for r in of_kind if r["gap_repair_moved"] is not None]),
            "gap_repair_moved_vs_right_shift": _mean(r["gap_repair_moved"] / r["right_shift_moved"] for r in gaps),
            "gap_repair_makespan_over_cap": _mean(r["gap_repair_makespan_over_cap"] for r in gaps),
        }
    return {
        "events": len(counted),
        "fewest_found_vs_right_shift_pooled": sum(r["fewest_found"] for r in counted)
        / max(1, sum(r["right_shift_moved"] for r in counted)),
        "fewest_found_vs_right_shift": _mean(r["fewest_found"] / r["right_shift_moved"] for r in counted),
        "bound_vs_right_shift": _mean(r["bound"] / r["right_shift_moved"] for r in counted),
        "by_type": by_type,
    }


def _mean(values: Iterable[float]) -> float | None:
    found = list(values)
    return statistics.mean(found) if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--instance", default="ta21")
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = least_change(args.instance, args.events, args.seconds, args.workers)
    result = {"instance": args.instance, "seconds": args.seconds, "summary": summary(rows), "rows": rows}
    print(json.dumps(result["summary"], indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
