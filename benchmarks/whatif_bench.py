"""What ``verify: twin`` costs: the twin's what-if (one repair, two arms of two noisy runs)
from live states of the demo line, against the repair alone.

    python benchmarks/whatif_bench.py --states 5 --horizon 90
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scheduler.domain.events import ParameterChanged  # noqa: E402
from scheduler.domain.files import load_scenario  # noqa: E402
from scheduler.domain.rules import Expectation  # noqa: E402
from scheduler.engine import LivePlan  # noqa: E402
from scheduler.twin import Disturbances, Twin  # noqa: E402
from scheduler.twin.engines import InProcess  # noqa: E402
from scheduler.twin.whatif import TwinCheck  # noqa: E402

DEMO = ROOT / "scenarios" / "demo_line.yaml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--states", type=int, default=5)
    parser.add_argument("--horizon", type=int, default=90)
    parser.add_argument("--budget-ms", type=int, default=50)
    args = parser.parse_args()
    scenario = load_scenario(DEMO)
    repair = scenario.policy.repair.model_copy(update={"started": "reported", "deterministic": True, "workers": 1,
                                                       "budget_ms": args.budget_ms})  # fmt: skip
    scenario = scenario.model_copy(update={"policy": scenario.policy.model_copy(update={"repair": repair})})
    expect = Expectation(kpi="bottleneck_starvation", below=0.1, within=args.horizon)
    whatif, repairs = [], []
    for k in range(1, args.states + 1):
        live = LivePlan.create(scenario)
        Twin(scenario, dict(live.plan), InProcess(live), Disturbances(noise=0.1, seed=k)).simulate(60 * k)
        firing = ParameterChanged(event_id=f"w{k}", time=live.now, parameter="kanban", buffer="bend->weld", value=6)
        began = time.perf_counter()
        TwinCheck()(live, firing, args.horizon, expect)
        whatif.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        live.fork().apply(firing)
        repairs.append((time.perf_counter() - began) * 1000)
        print(f"state at tick {live.now}: what-if {whatif[-1]:.0f} ms, the repair alone {repairs[-1]:.0f} ms")
    print(f"median what-if {statistics.median(whatif):.0f} ms (max {max(whatif):.0f}), "
          f"median repair alone {statistics.median(repairs):.0f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
