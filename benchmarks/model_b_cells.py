"""A few of the suite's model-B cells, quickly: each event of the seeded mixed stream on its
own on the base plan, right-shift, plain CP-SAT, our default and stability repairs on the
same states, against a CP-SAT reference of ``--reference-s`` (the suite uses 10 s).

    python benchmarks/model_b_cells.py --instance ta01 --instance ta21 --budget-ms 500 --events 20
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cells import Settings, dump, repair_records
from metrics import summarise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instance", action="append", required=True)
    parser.add_argument("--budget-ms", type=int, default=500)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--reference-s", type=float, default=5.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    settings = Settings(budgets=(args.budget_ms,), events=args.events, seed=1, reference_s=args.reference_s)
    rows = []
    for name in args.instance:
        for row in summarise(repair_records(name, settings), settings.budgets):
            row.pop("latency_samples")
            rows.append(row)
            print(json.dumps({k: row[k] for k in ("instance", "method", "budget_ms", "latency_ms",
                                                  "makespan_vs_reference", "moved_vs_right_shift", "tiers",
                                                  "worse_than_right_shift", "invalid")}), flush=True)  # fmt: skip
    if args.out:
        dump(rows, args.out)


if __name__ == "__main__":
    main()
