"""Background improvement (daemon mode), measured on a live plan after a chain of downtimes.

``gap``: how much of the gap between the plan the repairs left and a 60 s CP-SAT reference
(plain CP-SAT over every remaining operation, hinted with that plan, same state) the
improver closes after 10 s and 60 s idle. ``latency``: the same events sent with idle gaps
between them to two books, one with the improver running (share 1: it runs whenever it
may) and one without; end-to-end event latency in each, in the same run.

    python benchmarks/improve_bench.py gap --instance ta51 --events 5
    python benchmarks/improve_bench.py latency --instance ta51 --events 30 --gap-s 2.5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from disruptions import downtimes
from scale_bench import instance

from scheduler.check import check
from scheduler.domain.events import DowntimeStarted
from scheduler.engine import PlanBook
from scheduler.engine.improve import Improver
from scheduler.solver import SolverConfig, solve
from scheduler.store import SqliteStore


def _book(args: argparse.Namespace, folder: str) -> tuple[PlanBook, list[DowntimeStarted]]:
    scenario, schedule = instance(args.instance, 20.0)
    policy = scenario.policy.model_copy(
        update={"repair": scenario.policy.repair.model_copy(update={"budget_ms": args.budget_ms})}
    )
    book = PlanBook(SqliteStore(Path(folder)))
    book.create(scenario.model_copy(update={"baseline": schedule, "policy": policy}), "p")
    makespan = max(a.end for a in schedule.assignments)
    machines = [m.id for s in scenario.plant.stations for m in s.machines]
    events = sorted(downtimes(machines, makespan, args.events, args.seed, start=(0.1, 0.5)), key=lambda e: e.time)
    return book, events


def gap(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        book, events = _book(args, folder)
        for event in events:
            book.report("p", [event])
        start = book.get("p")
        live = book.fork("p")
        assert live is not None
        problem = live[0].problem()
        began = time.perf_counter()
        ref = solve(problem, SolverConfig(time_limit_s=args.reference_s, workers=2, probing=False),
                    hint=live[0].timetable(problem))  # fmt: skip
        assert ref.timetable is not None
        reference = check(problem, ref.timetable)
        assert reference.valid
        print(f"reference: {reference.kpis.objective} in {time.perf_counter() - began:.1f} s", flush=True)
        improver = Improver(book, share=1.0, min_gain=args.min_gain, idle_s=0.0).start()
        began, samples = time.perf_counter(), {}
        for mark in args.marks:
            time.sleep(max(0.0, began + mark - time.perf_counter()))
            samples[mark] = book.get("p").kpis.objective
            print(f"after {mark} s idle: {samples[mark]}", flush=True)
        improver.close()
        assert book.fork("p") is not None and book.fork("p")[0].check().valid  # type: ignore[index]
    before, best = start.kpis.objective, reference.kpis.objective
    summary = {
        "instance": args.instance, "events": args.events, "objective_after_events": before,
        "reference_objective": best, "reference_s": args.reference_s,
        **{f"objective_after_{m}s": v for m, v in samples.items()},
        **{f"gap_closed_after_{m}s": round((before - v) / (before - best), 3) if before > best else None
           for m, v in samples.items()},
        "published": improver.published,
    }  # fmt: skip
    print(json.dumps(summary))
    return summary


def _arm(args: argparse.Namespace, improve: bool) -> tuple[list[float], dict[str, int]]:
    with tempfile.TemporaryDirectory() as folder:
        book, events = _book(args, folder)
        improver = Improver(book, share=1.0, min_gain=args.min_gain, idle_s=args.idle_s).start() if improve else None
        waited = []
        for event in events:
            time.sleep(args.gap_s)
            began = time.perf_counter()
            book.report("p", [event])
            waited.append((time.perf_counter() - began) * 1000)
        counts = {"final_objective": book.get("p").kpis.objective}
        if improver is not None:
            improver.close()
            counts |= {"passes": improver.passes, "preempted": improver.preempted,
                       "published": improver.published}  # fmt: skip
        return waited, counts


def latency(args: argparse.Namespace) -> dict[str, Any]:
    summary: dict[str, Any] = {"instance": args.instance, "events": args.events, "budget_ms": args.budget_ms,
                               "gap_s": args.gap_s, "idle_s": args.idle_s}  # fmt: skip
    for name, on in (("without", False), ("with", True)):
        waited, counts = _arm(args, on)
        ordered = sorted(waited)
        summary[name] = {"p50_ms": round(statistics.median(ordered), 1),
                         "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1),
                         "max_ms": round(ordered[-1], 1), **counts}  # fmt: skip
        print(name, json.dumps(summary[name]), flush=True)
    print(json.dumps(summary))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["gap", "latency"])
    parser.add_argument("--instance", default="ta51")
    parser.add_argument("--budget-ms", type=int, default=500)
    parser.add_argument("--events", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-gain", type=float, default=0.005)
    parser.add_argument("--reference-s", type=float, default=60.0)
    parser.add_argument("--marks", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--gap-s", type=float, default=2.5, help="idle seconds before each event (latency)")
    parser.add_argument("--idle-s", type=float, default=1.0, help="the improver waits this long after a call")
    args = parser.parse_args()
    gap(args) if args.what == "gap" else latency(args)


if __name__ == "__main__":
    main()
