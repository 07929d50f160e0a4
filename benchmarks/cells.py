"""The suite's measurements, as plain functions (``test_suite.py`` runs them under
pytest-benchmark; ``report.py`` turns their records into tables and plots).

Every method repairs the same states: each event of a seeded stream is applied on its own
to the instance's base plan, and right-shift, plain CP-SAT, our repair with the default
and the stability policy, and the 10 s reference all start from that frozen state.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from disruptions import stream
from ortools.sat.python import cp_model
from plain import plain_jssp

from scheduler.check import check
from scheduler.domain import Scenario, Schedule
from scheduler.domain.files import load_plan, load_scenario
from scheduler.engine import LivePlan
from scheduler.jssp import scenario_from_matrices
from scheduler.problem import ProblemData, Timetable, compile_problem, schedule_from_timetable
from scheduler.repair import change, tier_zero
from scheduler.solver import SolverConfig, solve
from scheduler.solver.constraints import add_all
from scheduler.solver.objective import set_objective
from scheduler.solver.variables import create_variables

ROOT = Path(__file__).resolve().parents[1]
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Settings:
    budgets: tuple[int, ...] = (100, 200, 500, 2000)
    events: int = 200
    seed: int = 1
    reference_s: float = 10.0
    deterministic: bool = False
    """Smoke runs: CP-SAT deterministic time everywhere and one worker, so that two runs
    give the same numbers (timings aside)."""
    workers: int = 2


CHAIN = "+chain"
"""An instance name ending so (``ta21+chain``): its events are applied in sequence, as on a
real shift (the default repair's answer to one is the state the next one meets)."""


def scenario_path(name: str) -> Path:
    return ROOT / "scenarios" / ("demo_line.yaml" if name == "demo" else f"jssp/{name}.json")


def synthetic(jobs: int, machines: int, seed: int) -> Scenario:
    """A Taillard-style instance: each job visits every machine once in a random order,
    durations uniform in 1..99."""
    rng = random.Random(seed)
    order = [rng.sample(range(machines), machines) for _ in range(jobs)]
    durations = [[rng.randint(1, 99) for _ in range(machines)] for _ in range(jobs)]
    return scenario_from_matrices(f"syn{jobs}x{machines}", order, durations)


def load(name: str) -> Scenario:
    """A shipped scenario, or ``synJxM``: the synthetic J x M instance (seed J * 1000 + M)."""
    if name.startswith("syn"):
        jobs, machines = (int(x) for x in name[3:].split("x"))
        return synthetic(jobs, machines, seed=jobs * 1000 + machines)
    return load_scenario(scenario_path(name))


def base_plan(name: str) -> tuple[Scenario, Schedule]:
    """The instance and its base plan: stored in ``benchmarks/plans`` (60 s CP-SAT), else a
    deterministic solve (5 units of deterministic time, one worker, seed 0)."""
    scenario = load(name)
    stored = ROOT / "benchmarks" / "plans" / f"{name}.json"
    if stored.exists():
        return scenario, load_plan(stored, scenario)
    problem = compile_problem(scenario)
    result = solve(problem, SolverConfig(time_limit_s=5.0, workers=1, seed=0, deterministic=True))
    assert result.timetable is not None, f"no base plan for {name}"
    return scenario, schedule_from_timetable(problem, result.timetable)


def _config(settings: Settings, seconds: float) -> SolverConfig:
    workers = 1 if settings.deterministic else settings.workers
    return SolverConfig(time_limit_s=seconds, workers=workers, seed=settings.seed,
                        deterministic=settings.deterministic, probing=False)  # fmt: skip


def repair_records(name: str, settings: Settings, progress: Progress | None = None) -> dict[str, Any]:
    """Per event: what each method answered (latency, quality, change, tier, validity).
    With :data:`CHAIN` the events meet the state the default repair (first budget) left."""
    chained = name.endswith(CHAIN)
    scenario, schedule = base_plan(name.removesuffix(CHAIN))
    workers = 1 if settings.deterministic else settings.workers
    policy = scenario.policy.repair.model_copy(update={"deterministic": settings.deterministic, "workers": workers})
    base = LivePlan.create(scenario, schedule, policy)
    makespan = max(a.end for a in schedule.assignments)
    records: list[dict[str, Any]] = []
    for event in stream(scenario, makespan, 3 * settings.events, settings.seed):
        if len(records) == settings.events:
            break
        problem, reference, unchanged = base.preview(event)
        if unchanged:  # nothing to repair: not a cell's event (but part of the shift when chained)
            if chained:
                base.apply(event)
            continue
        began = time.perf_counter()
        tier0 = tier_zero(problem, reference)
        rs_ms = (time.perf_counter() - began) * 1000
        row: dict[str, Any] = {"event": event.event_id, "type": event.type}
        row["right_shift"] = _answer(problem, reference, tier0, rs_ms, "right_shift", "not_run")
        long = solve(problem, _config(settings, settings.reference_s), hint=tier0)
        row["reference"] = _answer(problem, reference, long.timetable, 0.0, "cp_sat", long.status.value)
        for budget in settings.budgets:
            began = time.perf_counter()
            start = tier_zero(problem, reference)
            plain = solve(problem, _config(settings, budget / 1000), hint=start)
            latency = (time.perf_counter() - began) * 1000
            row[f"plain_cp_sat@{budget}"] = _answer(problem, reference, plain.timetable, latency, "cp_sat",
                                                    plain.status.value)  # fmt: skip
            for preset in ("default", "stability"):
                live = base.fork()
                live.policy = policy.with_preset("efficiency" if preset == "default" else preset)
                live.policy = live.policy.model_copy(update={"budget_ms": budget})
                result = live.apply(event)
                if preset == "default" and budget == settings.budgets[0]:
                    following = live
                receipt = result.receipt
                row[f"{preset}@{budget}"] = _answer(problem, reference, result.timetable, receipt.latency_ms,
                                                    receipt.tier, receipt.solver_status)  # fmt: skip
        records.append(row)
        if chained:
            base = following
        if progress:
            progress(1)
    return {"instance": name, "operations": len(schedule.assignments), "records": records}


def _answer(
    problem: ProblemData, reference: Any, plan: Timetable | None, latency: float, tier: str, status: str
) -> dict[str, Any]:
    if plan is None:
        return {"answered": False, "latency_ms": latency, "tier": "none", "status": status}
    report = check(problem, plan)
    moves = change(problem, reference, plan)
    return {"answered": True, "latency_ms": round(latency, 3), "tier": tier, "status": status,
            "valid": report.valid, "makespan": report.kpis.makespan,
            "weighted_tardiness": report.kpis.total_weighted_tardiness, "moved": moves.moved_operations,
            "shift": moves.total_abs_shift}  # fmt: skip


def initial_quality(name: str, seconds: float, settings: Settings) -> dict[str, Any]:
    """Our model against a plain CP-SAT job-shop model, same limit: gap to the best known."""
    scenario = load_scenario(scenario_path(name))
    bound = scenario.metadata.get("upper_bound")
    problem = compile_problem(scenario)
    ours = solve(problem, _config(settings, seconds) if settings.deterministic else replace(
        _config(settings, seconds), probing=True))  # fmt: skip
    report = check(problem, ours.timetable) if ours.timetable else None
    plain_makespan, plain_valid = plain_jssp(problem, seconds, 1 if settings.deterministic else settings.workers,
                                             settings.seed, settings.deterministic)  # fmt: skip
    return {
        "instance": name,
        "seconds": seconds,
        "best_known": bound,
        "ours": report.kpis.makespan if report else None,
        "ours_valid": report.valid if report else None,  # None: no plan within the limit
        "plain": plain_makespan,
        "plain_valid": plain_valid,
    }


def scaling(names: Iterable[str], repeats: int = 5) -> list[dict[str, Any]]:
    """Model build time and right-shift time against the number of operations (medians)."""
    rows = []
    for name in names:
        scenario, schedule = base_plan(name)
        problem = compile_problem(scenario)
        builds = []
        for _ in range(repeats):
            began = time.perf_counter()
            model = cp_model.CpModel()
            variables = create_variables(model, problem)
            add_all(model, problem, variables)
            set_objective(model, problem, variables, problem.weights)
            builds.append((time.perf_counter() - began) * 1000)
        base = LivePlan.create(scenario, schedule)
        makespan = max(a.end for a in schedule.assignments)
        event = next(e for e in stream(scenario, makespan, 50, 1) if e.type == "downtime_started")
        frozen, reference, _ = base.preview(event)
        shifts = []
        for _ in range(repeats):
            began = time.perf_counter()
            tier_zero(frozen, reference)
            shifts.append((time.perf_counter() - began) * 1000)
        rows.append({"instance": name, "operations": problem.num_ops, "build_ms": statistics.median(builds),
                     "right_shift_ms": statistics.median(shifts)})  # fmt: skip
    return rows


def dump(data: object, path: Path) -> None:
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
