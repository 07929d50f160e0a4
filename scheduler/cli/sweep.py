"""``lean-scheduler sweep``: many twin runs over a grid of pull configurations, with common
random numbers, on a local process pool or Ray; results.json, table.md and plots in DIR."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

from scheduler.cli.output import writable
from scheduler.domain import Scenario, Schedule
from scheduler.domain.files import load_plan, load_scenario
from scheduler.domain.scenario import load_schedule
from scheduler.engine import LivePlan
from scheduler.sweep.executors import executor
from scheduler.sweep.grid import count, own
from scheduler.sweep.report import write_results
from scheduler.sweep.run import Origin
from scheduler.sweep.search import Progress, RunCache, run_sweep
from scheduler.sweep.spec import load_sweep
from scheduler.twin import for_the_twin


def sweep(args: argparse.Namespace) -> int:
    out: Path = args.out
    writable(out / "results.json", "--out")
    scenario = for_the_twin(load_scenario(args.scenario))
    spec = load_sweep(args.grid, scenario).overridden("command line", args.replications, args.seed)
    total = count(spec.axes)
    print(f"{scenario.name}: {total} configuration(s) x {spec.replications} replication(s), search {spec.search}, "
          f"{args.executor} executor, {args.jobs} job(s)", file=sys.stderr, flush=True)  # fmt: skip
    live = LivePlan.create(scenario, _plan(args, scenario, out))
    origin = Origin(live)
    began = time.perf_counter()
    runner = executor(args.executor, args.jobs, args.ray_address)
    try:
        summaries = run_sweep(origin, spec, own(scenario, spec.axes), runner, RunCache(out / "runs", args.resume),
                              _Bar())  # fmt: skip
    finally:
        runner.close()
    results = write_results(out, scenario.name, spec, summaries)
    print(file=sys.stderr)
    best, gain = results["best"], results["best"]["better_than_own"]
    print(
        f"best: {best['key']} (score {best['score']}); the scenario's own {results['own']['key']} "
        f"scores {results['own']['score']}" + (f", {gain['score']:+g}" if gain and gain["score"] is not None else "")
    )
    print(f"{len(results['configurations'])} configurations in {time.perf_counter() - began:.1f} s: "
          f"{out / 'results.json'}, {out / 'table.md'}, plots in {out}")  # fmt: skip
    return 0


def _plan(args: argparse.Namespace, scenario: Scenario, out: Path) -> Schedule | None:
    """The plan every run starts from: ``--plan``, the one this folder solved before (with
    ``--resume``, for the same scenario), the scenario's baseline, or solved now and kept."""
    if args.plan:
        return load_plan(args.plan, scenario)
    digest = hashlib.sha256(scenario.model_dump_json(exclude_none=True).encode()).hexdigest()
    kept = out / "plan.json"
    if args.resume and kept.exists():
        data = json.loads(kept.read_text())
        if data.get("scenario") == digest:
            return load_schedule(data["plan"], scenario)
    if scenario.baseline is not None:
        return None
    print("solving the plan every run starts from...", file=sys.stderr, flush=True)
    schedule = LivePlan.create(scenario).schedule()
    plan = json.loads(schedule.model_dump_json(exclude_none=True))
    kept.write_text(json.dumps({"scenario": digest, "plan": plan}) + "\n")
    return schedule


class _Bar:
    """Runs done/total, configurations done, the best so far: one line, redrawn on a terminal,
    else printed every tenth of the way."""

    def __init__(self) -> None:
        self.tty, self.shown = sys.stderr.isatty(), -1

    def __call__(self, p: Progress) -> None:
        tenth = 10 * p.runs_done // max(1, p.runs_total)
        if not self.tty and tenth == self.shown:
            return
        self.shown = tenth
        filled = 24 * p.runs_done // max(1, p.runs_total)
        best = f"best so far {p.best} ({p.best_score:g})" if p.best and p.best_score is not None else "no best yet"
        line = (f"[{'#' * filled}{'.' * (24 - filled)}] {p.runs_done}/{p.runs_total} runs, "
                f"{p.configurations_done}/{p.configurations_total} configurations, {best}")  # fmt: skip
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n", file=sys.stderr, flush=True)
