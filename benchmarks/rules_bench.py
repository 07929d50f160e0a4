"""The closed lean loop against the open loop and against static configurations a planner
would pick, on the twin: same line, same seeded disturbances (common random numbers).

Two lines: the demo line (drum: weld) and a paint-drum line (the demo's routing with powder
coating 1.6x slower, the drum declared at paint, every kanban cap 2). Every run: lognormal
noise, random breakdowns, a lasting slowdown from ``--onset`` (of the station feeding the
drum, ``--slow feeder``, or of the drum), and a demand
surge (eight more orders released at ``--surge``; they are in the order book from the start,
the twin does not inject orders). Arms:

- ``open``: the scenario's caps, no rules;
- ``closed``: the sensible rule set (``rules_for``), evaluated by the engine as the line runs;
- ``cards``: the same without the time-buffer rule (kanban cards only), and no warm-up;
- ``static+1``: every kanban cap +1, no rules; ``static-drum+2``: the buffers into the drum +2;
- ``bad``: a deliberately bad rule (starvation high -> fewer cards before the drum), to see
  it revised.

Measured over [0, --until): throughput (orders per 100 ticks), mean lead time of completed
orders, mean WIP (sum over buffers), weighted tardiness (completed orders, plus orders due
before the end and not done, counted to the end), drum starvation; the mean over seeds with
a 95% t interval, and per seed the difference against the open loop.

    python benchmarks/rules_bench.py --seeds 4 --jobs 2 --out out/rules
    python benchmarks/rules_bench.py --seeds 4 --arms cards --merge --jobs 2 --out out/rules
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scheduler.domain import Scenario  # noqa: E402
from scheduler.domain.files import load_scenario  # noqa: E402
from scheduler.domain.rules import Rule  # noqa: E402
from scheduler.engine import LivePlan  # noqa: E402
from scheduler.engine.timeline import line_of, runs_of  # noqa: E402
from scheduler.lean.kpis import line_kpis  # noqa: E402
from scheduler.lean.rules import records  # noqa: E402
from scheduler.problem import compile_problem  # noqa: E402
from scheduler.twin import Disturbances, Slowdown, Twin  # noqa: E402
from scheduler.twin.engines import InProcess  # noqa: E402
from scheduler.twin.whatif import TwinCheck  # noqa: E402

DEMO = ROOT / "scenarios" / "demo_line.yaml"
T_CRIT = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26}
ARMS = ("open", "closed", "cards", "static+1", "static-drum+2", "bad")


STARVED = {"kpi": "bottleneck_starvation", "window": 60, "above": 0.05}
FED = {"kpi": "bottleneck_starvation", "below": 0.05, "within": 90}
WARMUP = 200
"""Both lines fill in under 200 ticks: an empty drum before then is the start-up, not a deviation."""


def rules_for(drum: str, into: list[str], out: str) -> list[dict[str, Any]]:
    """Drum-buffer-rope buffer management: a starving drum gets a longer time buffer and a card
    more in each buffer before it; a drum blocked by its exit buffer gets a card more there."""
    common = {"cooldown": 90, "warmup": WARMUP}
    return [
        {"id": f"protect-{drum}", "when": STARVED, "then": {"set": "drum_buffer", "step": 10, "min": 0, "max": 60},
         "expect": FED, **common},
        *({"id": f"feed-{drum}-{k}", "when": STARVED, "then": {"set": "kanban", "buffer": b, "step": 1, "min": 1,
                                                                 "max": 8}, "expect": FED, **common}
          for k, b in enumerate(into)),
        {"id": f"unblock-{drum}", "when": {"kpi": "blocking", "window": 60, "above": 0.05},
         "then": {"set": "kanban", "buffer": out, "step": 1, "min": 1, "max": 8},
         "expect": {"kpi": "blocking", "below": 0.05, "within": 90}, **common},
    ]  # fmt: skip


def bad_rule(into: str) -> list[dict[str, Any]]:
    return [{"id": "starve-the-drum", "when": STARVED, "then": {"set": "kanban", "buffer": into, "step": -2,
             "min": 1, "max": 8}, "expect": FED, "cooldown": 60, "warmup": WARMUP}]  # fmt: skip


def line(name: str, surge: int) -> tuple[Scenario, str]:
    """The scenario of a line (with the surge) and its drum."""
    data = load_scenario(DEMO).model_dump(mode="json", exclude_none=True)
    drum = "weld"
    if name == "paint-drum":
        drum = "paint"
        data["plant"]["bottleneck"] = "paint"
        data["plant"]["buffers"] = [{**b, "kanban": 2} for b in data["plant"]["buffers"]]
        for order in data["orders"]:
            for op in order["operations"]:
                if op["station"] == "paint":
                    op["setup"], op["cycle_time"] = op["setup"] * 1.6, op["cycle_time"] * 1.6
    extra = []
    for order in data["orders"][:8]:
        copy = json.loads(json.dumps(order))
        copy["id"], copy["release"], copy["due"] = f"{order['id']}S", surge, surge + 200
        for op in copy["operations"]:
            op["id"] = op["id"].replace(order["id"], copy["id"], 1)
        extra.append(copy)
    data["orders"] += extra
    data["baseline"], data["events"] = None, []
    return Scenario.model_validate(data), drum


def configured(scenario: Scenario, drum: str, arm: str, budget_ms: int) -> Scenario:
    repair = scenario.policy.repair.model_copy(update={"started": "reported", "deterministic": True, "workers": 1,
                                                       "budget_ms": budget_ms})  # fmt: skip
    solver = scenario.policy.solver.model_copy(update={"deterministic": True, "workers": 1, "time_limit_s": 5.0})
    plant = scenario.plant
    into = [b.id for b in plant.buffers if b.downstream == drum]
    out = next(b.id for b in plant.buffers if b.upstream == drum)
    if arm in ("static+1", "static-drum+2"):
        caps = [b.model_copy(update={"kanban": b.kanban + (1 if arm == "static+1" else 2 * (b.id in into))})
                for b in plant.buffers]  # fmt: skip
        plant = plant.model_copy(update={"buffers": caps})
    rules = rules_for(drum, into, out) if arm in ("closed", "cards") else bad_rule(into[0]) if arm == "bad" else []
    if arm == "cards":  # cards only, from the first full window on
        rules = [{**r, "warmup": 0} for r in rules if r["then"]["set"] == "kanban"]
    policy = scenario.policy.model_copy(update={"repair": repair, "solver": solver})
    return scenario.model_copy(update={"policy": policy, "plant": plant,
                                       "rules": [Rule.model_validate(r) for r in rules]})  # fmt: skip


def one(task: tuple[str, str, int, dict[str, Any]]) -> dict[str, Any]:
    name, arm, seed, knobs = task
    base, drum = line(name, knobs["surge"])
    scenario = configured(base, drum, arm, knobs["budget_ms"])
    began = time.perf_counter()
    live = LivePlan.create(scenario)
    live.predict = TwinCheck(seed=seed)
    first = dict(live.plan)
    feeder = next(b.upstream for b in scenario.plant.buffers if b.downstream == drum)
    slow = Slowdown(feeder if knobs["slow"] == "feeder" else drum, knobs["factor"], knobs["onset"])
    noise = Disturbances(noise=knobs["noise"], slowdowns=(slow,), mtbf=knobs["mtbf"], mttr=knobs["mttr"], seed=seed)
    run = Twin(scenario, first, InProcess(live), noise).simulate(knobs["until"])
    end = knobs["until"]
    kpis = line_kpis(runs_of(run.executed, scenario), line_of(scenario, compile_problem(scenario)), 0, end)
    kept = records(scenario.rules, run.rule_events)
    return {"line": name, "arm": arm, "seed": seed, "seconds": round(time.perf_counter() - began, 1),
            "throughput": round(100 * kpis.throughput, 3), "lead_time": kpis.lead_time_mean,
            "wip": round(sum(kpis.wip_mean.values()), 3), "tardiness": tardiness(scenario, run.executed, end),
            "starvation": kpis.bottleneck_starvation, "completed": kpis.completed,
            "firings": kept["rule_firings"], "revisions": kept["rule_revisions"], "vetoes": kept["rule_vetoes"],
            "caps": {b.id: b.kanban for b in live.scenario.plant.buffers}}  # fmt: skip


def tardiness(scenario: Scenario, executed: dict[str, Any], end: int) -> int:
    done: dict[str, int] = {}
    for order in scenario.orders:
        ends = [executed[op.id][2] for op in order.operations if op.id in executed]
        if len(ends) == len(order.operations):
            done[order.id] = max(ends)
    total = 0
    for order in scenario.orders:
        if order.due is None:
            continue
        finish = done.get(order.id, end if order.due < end else None)
        total += order.weight * max(0, (finish or 0) - order.due)
    return total


def interval(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% t interval."""
    mean = statistics.mean(values)
    if len(values) < 2:
        return mean, float("nan")
    return mean, T_CRIT.get(len(values) - 1, 2.0) * statistics.stdev(values) / len(values) ** 0.5


def table(rows: list[dict[str, Any]]) -> str:
    metrics = ("throughput", "lead_time", "wip", "tardiness", "starvation")
    out = ["| line | arm | " + " | ".join(metrics) + " | firings |", "|---" * (len(metrics) + 3) + "|"]
    for name in dict.fromkeys(r["line"] for r in rows):
        for arm in ARMS:
            mine = [r for r in rows if r["line"] == name and r["arm"] == arm]
            if not mine:
                continue
            cells = []
            for m in metrics:
                values = [float(r[m]) for r in mine if r[m] is not None]
                mean, half = interval(values) if values else (float("nan"), float("nan"))
                cells.append(f"{mean:.3g} ± {half:.2g}")
            firings = statistics.mean(len(r["firings"]) for r in mine)
            out.append(f"| {name} | {arm} | " + " | ".join(cells) + f" | {firings:.1f} |")
    return "\n".join(out)


def paired(rows: list[dict[str, Any]]) -> str:
    """Per line and arm, the mean per-seed difference against the open loop (95% t interval)."""
    metrics = ("throughput", "wip", "tardiness", "starvation")
    out = ["| line | arm - open | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 2) + "|"]
    for name in dict.fromkeys(r["line"] for r in rows):
        base = {r["seed"]: r for r in rows if r["line"] == name and r["arm"] == "open"}
        for arm in ARMS[1:]:
            mine = [r for r in rows if r["line"] == name and r["arm"] == arm and r["seed"] in base]
            if not mine:
                continue
            cells = []
            for m in metrics:
                diffs = [float(r[m]) - float(base[r["seed"]][m]) for r in mine
                         if r[m] is not None and base[r["seed"]][m] is not None]  # fmt: skip
                mean, half = interval(diffs) if diffs else (float("nan"), float("nan"))
                cells.append(f"{mean:+.3g} ± {half:.2g}")
            out.append(f"| {name} | {arm} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--lines", nargs="+", default=["demo", "paint-drum"])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    parser.add_argument("--until", type=int, default=900)
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--mtbf", type=float, default=300)
    parser.add_argument("--mttr", type=float, default=15)
    parser.add_argument("--factor", type=float, default=1.5, help="the lasting slowdown")
    parser.add_argument("--slow", choices=("feeder", "drum"), default="feeder", help="the station slowed")
    parser.add_argument("--onset", type=int, default=200)
    parser.add_argument("--surge", type=int, default=250)
    parser.add_argument("--budget-ms", type=int, default=50, help="repair budget (deterministic units)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("out/rules"))
    parser.add_argument("--merge", action="store_true", help="add to the runs in --out (same knobs)")
    args = parser.parse_args()
    names = ("until", "noise", "mtbf", "mttr", "factor", "slow", "onset", "surge", "budget_ms")
    knobs = {k: getattr(args, k) for k in names}
    tasks = [(name, arm, seed, knobs) for name in args.lines for seed in range(1, args.seeds + 1) for arm in args.arms]
    began = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        rows = []
        for row in pool.imap_unordered(one, tasks):
            rows.append(row)
            print(f"{row['line']} {row['arm']} seed {row['seed']}: throughput {row['throughput']}, "
                  f"starvation {row['starvation']}, wip {row['wip']}, {len(row['firings'])} firing(s), "
                  f"{row['seconds']} s", flush=True)  # fmt: skip
    kept = args.out / "rules.json"
    if args.merge and kept.exists():
        before = json.loads(kept.read_text())
        if before["knobs"] != knobs:
            raise SystemExit(f"--merge: {kept} was run with other knobs: {before['knobs']}")
        mine = {(r["line"], r["arm"], r["seed"]) for r in rows}
        rows += [r for r in before["rows"] if (r["line"], r["arm"], r["seed"]) not in mine]
    rows.sort(key=lambda r: (r["line"], ARMS.index(r["arm"]), r["seed"]))
    args.out.mkdir(parents=True, exist_ok=True)
    kept.write_text(json.dumps({"knobs": knobs, "rows": rows}, indent=1) + "\n")
    text = table(rows) + "\n\n" + paired(rows) + "\n"
    (args.out / "table.md").write_text(text)
    print(text)
    print(f"{len(rows)} runs in {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
