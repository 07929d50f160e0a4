"""What the takt monitor buys: how well the plan predicts when each order completes, with
the monitor on and off, on the twin.

The demo line runs on the twin with seeded noise and a sustained slowdown of the drum from
a time on; after every report the plan's promised completion of each order is kept, and at
the end compared with when the order really completed. The error is the mean |promised -
realised| over the promises made after the slowdown began, for orders not complete then.
The same seeds, noise and slowdown for both arms (common random numbers).

    python benchmarks/loop_bench.py --seeds 3 --out out/loop
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scheduler.domain.files import load_scenario  # noqa: E402
from scheduler.engine import LivePlan  # noqa: E402
from scheduler.twin import Disturbances, Slowdown, Twin, TwinRun  # noqa: E402
from scheduler.twin.engines import InProcess  # noqa: E402

DEMO = ROOT / "scenarios" / "demo_line.yaml"


def run(seed: int, monitor: bool, noise: float, slowdown: Slowdown, budget_ms: int) -> TwinRun:
    scenario = load_scenario(DEMO)
    repair = scenario.policy.repair.model_copy(update={"started": "reported", "deterministic": True, "workers": 1,
                                                       "takt_monitor": monitor, "budget_ms": budget_ms})  # fmt: skip
    solver = scenario.policy.solver.model_copy(update={"deterministic": True, "workers": 1})
    policy = scenario.policy.model_copy(update={"repair": repair, "solver": solver})
    scenario = scenario.model_copy(update={"policy": policy, "events": []})
    live = LivePlan.create(scenario)
    disturbances = Disturbances(noise=noise, slowdowns=(slowdown,), seed=seed)
    return Twin(scenario, dict(live.plan), InProcess(live), disturbances).simulate()


def prediction_errors(result: TwinRun, onset: int) -> dict[str, Any]:
    """Mean |promised - realised|, mean signed (promised - realised: > 0 promised too late),
    and both per 100 ticks of how far ahead the promise was."""
    realised: dict[str, int] = {}
    for op, (_, _, end) in result.executed.items():
        job = op.rsplit("-", 1)[0]
        realised[job] = max(realised.get(job, 0), end)
    errors = [(realised[job] - when, promised - realised[job]) for when, promises in result.predictions
              if when >= onset for job, promised in promises.items()
              if job in realised and realised[job] > when]  # fmt: skip
    ahead: dict[int, list[int]] = {}
    for lead, error in errors:
        ahead.setdefault(lead // 100 * 100, []).append(error)
    return {
        "error": round(statistics.mean(abs(e) for _, e in errors), 2) if errors else 0.0,
        "signed": round(statistics.mean(e for _, e in errors), 2) if errors else 0.0,
        "by_lead": {k: [round(statistics.mean(abs(e) for e in v), 1), round(statistics.mean(v), 1), len(v)]
                    for k, v in sorted(ahead.items())},
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--factor", type=float, default=1.3, help="the drum's slowdown")
    parser.add_argument("--onset", type=int, default=100)
    parser.add_argument("--budget-ms", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("out/loop"))
    args = parser.parse_args()
    slowdown = Slowdown("weld", args.factor, args.onset)
    rows: list[dict[str, Any]] = []
    errors: dict[bool, list[float]] = {True: [], False: []}
    for seed in range(1, args.seeds + 1):
        for monitor in (True, False):
            began = time.perf_counter()
            result = run(seed, monitor, args.noise, slowdown, args.budget_ms)
            measured = prediction_errors(result, args.onset)
            error = measured["error"]
            row = {"seed": seed, "monitor": monitor, **measured,
                   "detections": [(d.time, d.station, d.factor) for d in result.detections],
                   "end": result.end, "seconds": round(time.perf_counter() - began, 1)}  # fmt: skip
            rows.append(row)
            errors[monitor].append(error)
            print(json.dumps(row), flush=True)
    on, off = statistics.mean(errors[True]), statistics.mean(errors[False])
    signed = {arm: statistics.mean(r["signed"] for r in rows if r["monitor"] == arm) for arm in (True, False)}
    summary = {"error_on": round(on, 2), "error_off": round(off, 2), "ratio": round(on / off, 3) if off else None,
               "signed_on": round(signed[True], 2), "signed_off": round(signed[False], 2)}  # fmt: skip
    print(json.dumps(summary))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "loop.json").write_text(json.dumps({"settings": vars(args) | {"out": str(args.out)}, "rows": rows,
                                                    "summary": summary}, indent=1) + "\n")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
