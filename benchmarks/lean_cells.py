"""The capped-line suite: seeded lean flow lines (``scheduler.lines``) of 300 to 5 000
operations, their first plan and a shift of events repaired in sequence, every method on
the same states, every answer checked.

Baselines in the same run, on every state: the shop's own pull rules by hand (FIFO and EDD:
each free machine takes the first waiting job whose card is free; ``pull.shop``), the pull
dispatcher alone (all its priorities, no time limit), right-shift (the previous plan
patched), plain CP-SAT hinted with the FIFO pull plan (same budget, whole problem). The
reference is the best of those, our answers and a long CP-SAT run hinted with the best.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from disruptions import lean_stream

from scheduler.check import check
from scheduler.domain import Scenario
from scheduler.domain.events import DowntimeEnded, Event
from scheduler.engine import LivePlan
from scheduler.lines import SUITE, flow_line
from scheduler.problem import ProblemData, Timetable, compile_problem, schedule_from_timetable
from scheduler.problem.freeze import is_finished
from scheduler.repair import change, pull, right_shift
from scheduler.repair.dispatch import dispatch
from scheduler.repair.initial import initial_plan
from scheduler.solver import SolverConfig, solve

LINES = SUITE


@dataclass(frozen=True)
class LeanSettings:
    budgets: tuple[int, ...] = (200,)
    events: int = 12
    first_s: float = 10.0
    reference_s: float = 20.0
    deterministic: bool = False
    workers: int = 2
    seed: int = 0


def line(name: str) -> Scenario:
    if name not in LINES:
        raise ValueError(f"unknown capped line {name!r} (one of {', '.join(LINES)})")
    return flow_line(LINES[name], 0, name=name)


def config(settings: LeanSettings, seconds: float) -> SolverConfig:
    workers = 1 if settings.deterministic else settings.workers
    return SolverConfig(time_limit_s=seconds, workers=workers, seed=settings.seed,
                        deterministic=settings.deterministic, probing=False)  # fmt: skip


def scored(problem: ProblemData, plan: Timetable | None, seconds: float = 0.0, **extra: Any) -> dict[str, Any]:
    """What a method's plan is worth (``answered`` False when it has none)."""
    if plan is None:
        return {"answered": False, **extra}
    report = check(problem, plan)
    k = report.kpis
    return {"answered": True, "valid": report.valid, "objective": k.objective, "makespan": k.makespan,
            "weighted_tardiness": k.total_weighted_tardiness, "ms": round(seconds * 1000, 2),
            "half_empty": half_empty(problem, plan), **extra}  # fmt: skip


def half_empty(problem: ProblemData, plan: Timetable) -> int:
    """Ticks after now in which the line holds fewer than half its CONWIP while a released
    job waits to enter (a serial tail): 0 on a line without CONWIP."""
    if problem.conwip is None:
        return 0
    events: list[tuple[int, int, int]] = []  # (time, d in process, d released and waiting)
    for j, ops in enumerate(problem.job_ops):
        if is_finished(problem, j):
            continue
        first, last = min(plan.start[i] for i in ops), max(plan.end[i] for i in ops)
        release = max(problem.now, problem.job_release[j])
        events += [(first, 1, 0), (last, -1, 0)]
        if release < first:
            events += [(release, 0, 1), (first, 0, -1)]
    total, inside, waiting, last_t = 0, 0, 0, problem.now
    for t, d_in, d_wait in sorted(events):
        if t > last_t and 2 * inside < problem.conwip and waiting > 0:
            total += t - max(last_t, problem.now)
        last_t = max(last_t, t)
        inside, waiting = inside + d_in, waiting + d_wait
    return total


def first_plan(name: str, settings: LeanSettings) -> dict[str, Any]:
    """The first plan at ``first_s`` against the shop's pull rules, the dispatcher alone and plain CP-SAT."""
    scenario = line(name)
    problem = compile_problem(scenario)
    pl = pull.line_of(problem)
    row: dict[str, Any] = {"line": name, "operations": problem.num_ops, "seconds": settings.first_s}
    for rule in (pull.Rule.FIFO, pull.Rule.EDD):
        began = time.perf_counter()
        row[f"{rule.value}_pull"] = scored(problem, pull.shop(pl, rule), time.perf_counter() - began)
    began = time.perf_counter()
    row["dispatcher"] = scored(problem, dispatch(problem), time.perf_counter() - began)
    fifo = pull.shop(pl, pull.Rule.FIFO)
    began = time.perf_counter()
    plain = solve(problem, config(settings, settings.first_s), hint=fifo)
    row["plain_cp_sat"] = scored(problem, plain.timetable, time.perf_counter() - began)
    began = time.perf_counter()
    ours = initial_plan(problem, config(settings, settings.first_s))
    row["ours"] = scored(problem, ours.timetable, time.perf_counter() - began, status=ours.status.value)
    return row


def repairs(name: str, settings: LeanSettings, progress: Any = None) -> dict[str, Any]:
    """A shift of events on the line's first plan (the dispatcher's, so that every run starts
    alike), applied in sequence: each state repaired by every method; the shift goes on from
    our answer at the first budget."""
    scenario = line(name)
    problem = compile_problem(scenario)
    base = dispatch(problem)
    policy = scenario.policy.repair.model_copy(
        update={"deterministic": settings.deterministic, "workers": 1 if settings.deterministic else settings.workers}
    )
    live = LivePlan.create(scenario, schedule_from_timetable(problem, base), policy)
    records = []
    for event in lean_stream(scenario, max(base.end), settings.events, settings.seed):
        records.append(_state(live, event, settings))
        live = records[-1].pop("following")
        if progress:
            progress(1)
    return {"line": name, "operations": problem.num_ops, "records": records}


def _state(live: LivePlan, event: Event, settings: LeanSettings) -> dict[str, Any]:
    before = live.kpis
    assert before is not None
    problem, reference, unchanged = live.preview(event)
    row: dict[str, Any] = {"event": event.event_id, "type": event.type, "early": _early(live, event),
                           "before": {"objective": before.objective, "makespan": before.makespan}}  # fmt: skip
    pl = pull.line_of(problem)
    began = time.perf_counter()
    shifted = right_shift(problem, reference, pl)
    took = time.perf_counter() - began
    row["right_shift"] = scored(problem, shifted, took, moved=_moved(problem, reference, shifted))
    shops = {rule: pull.shop(pl, rule) for rule in (pull.Rule.FIFO, pull.Rule.EDD)}
    for rule, plan in shops.items():
        row[f"{rule.value}_pull"] = scored(problem, plan)
    plays = [plan for _, plan in pull.race(pl, pull.rules_for(problem, True), reference)]
    won = min(plays, key=lambda t: check(problem, t).kpis.objective)
    row["dispatcher"] = scored(problem, won, moved=_moved(problem, reference, won))
    fifo = shops[pull.Rule.FIFO]
    plans: list[Timetable] = [p for p in (fifo, shifted, *plays) if p is not None]
    following = live
    for k, budget in enumerate(settings.budgets):
        began = time.perf_counter()
        plain = solve(problem, config(settings, budget / 1000), hint=fifo)
        row[f"plain_cp_sat@{budget}"] = scored(problem, plain.timetable, time.perf_counter() - began)
        fork = live.fork()
        fork.policy = fork.policy.model_copy(update={"budget_ms": budget})
        result = fork.apply(event)
        ours = result.timetable
        row[f"ours@{budget}"] = scored(problem, ours, result.receipt.latency_ms / 1000,
                                       tier=result.receipt.tier.value, moved=_moved(problem, reference, ours),
                                       warnings=list(result.receipt.warnings))  # fmt: skip
        plans += [p for p in (plain.timetable, result.timetable) if p is not None]
        if k == 0:
            following = fork
    valid = [p for p in plans if check(problem, p).valid]
    best = min(valid, key=lambda t: check(problem, t).kpis.objective)
    if settings.reference_s and not unchanged:
        long = solve(problem, config(settings, settings.reference_s), hint=best)
        if long.timetable is not None and check(problem, long.timetable).valid:
            valid.append(long.timetable)
    row["reference"] = scored(problem, min(valid, key=lambda t: check(problem, t).kpis.objective))
    row["following"] = following
    return row


def _moved(problem: ProblemData, reference: Any, plan: Timetable | None) -> int | None:
    return None if plan is None else change(problem, reference, plan).moved_operations


def _early(live: LivePlan, event: Event) -> bool:
    """A machine back before the end the plan assumed (its expected end, or the policy's default)."""
    if not isinstance(event, DowntimeEnded):
        return False
    down = live.ledger.downtimes.get(event.downtime_id)
    if down is None:
        return False
    assumed = down.expected_end if down.expected_end is not None else down.start + live.policy.default_downtime
    return event.time < assumed


METHODS = ("right_shift", "fifo_pull", "edd_pull", "dispatcher")


def summarise(result: dict[str, Any], budgets: tuple[int, ...]) -> list[dict[str, Any]]:
    """Per method (and budget): answers, validity, objective and makespan against the
    reference, latency, and for ours how often it was worse than right-shift, the
    dispatcher or (an early return) the plan before."""
    records = result["records"]
    methods = [*METHODS, *(f"{m}@{b}" for b in budgets for m in ("plain_cp_sat", "ours"))]
    rows = []
    for method in methods:
        answers = [(r, r[method]) for r in records if method in r]
        good = [(r, a) for r, a in answers if a["answered"] and a["valid"]]
        ratios = sorted(a["objective"] / max(1, r["reference"]["objective"]) for r, a in good)
        spans = sorted(a["makespan"] / max(1, r["reference"]["makespan"]) for r, a in good)
        latency = sorted(a["ms"] for _, a in answers if a["answered"])
        row: dict[str, Any] = {"line": result["line"], "operations": result["operations"], "method": method,
                               "events": len(answers), "unanswered": sum(not a["answered"] for _, a in answers),
                               "invalid": sum(a["answered"] and not a["valid"] for _, a in answers),
                               "objective_vs_reference": _quantiles(ratios), "makespan_vs_reference": _quantiles(spans),
                               "latency_ms": _quantiles(latency), "half_empty_max": max(
                                   (a["half_empty"] for _, a in good), default=0)}  # fmt: skip
        if method.startswith("ours@"):
            row["worse_than_right_shift"] = sum(a["objective"] > r["right_shift"]["objective"] for r, a in good
                                                if r["right_shift"]["answered"])  # fmt: skip
            row["worse_than_dispatcher"] = sum(a["objective"] > r["dispatcher"]["objective"] for r, a in good)
            row["early_return_worse"] = sum(a["objective"] > r["before"]["objective"] for r, a in good if r["early"])
        if method in ("right_shift", "dispatcher") or method.startswith("ours@"):
            row["moved_median"] = _quantiles(sorted(a["moved"] for _, a in good if a.get("moved") is not None))["50"]
        rows.append(row)
    return rows


def first_rows(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The first plan's row per method, with its objective against the better shop rule."""
    shop = min(row["fifo_pull"]["objective"], row["edd_pull"]["objective"])
    out = []
    for method in ("fifo_pull", "edd_pull", "dispatcher", "plain_cp_sat", "ours"):
        a = row[method]
        out.append({"line": row["line"], "operations": row["operations"], "seconds": row["seconds"],
                    "method": method, **{k: a.get(k) for k in ("valid", "objective", "makespan",
                                                                "weighted_tardiness", "half_empty", "ms")},
                    "vs_better_shop_rule": None if not a["answered"] else round(a["objective"] / shop, 4)})  # fmt: skip
    return out


def _quantiles(ordered: list[float]) -> dict[str, float | None]:
    if not ordered:
        return {"50": None, "95": None, "99": None, "max": None}
    pick = {q: ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] for q in (50, 95, 99)}
    return {**{str(q): round(v, 4) for q, v in pick.items()}, "max": round(ordered[-1], 4)}
