"""The files a sweep leaves in its folder: results.json, table.md, the plots."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scheduler.sweep.plots import heat_map, pareto
from scheduler.sweep.results import Summary, document, table
from scheduler.sweep.spec import SweepSpec


def write_results(out: Path, scenario: str, spec: SweepSpec, summaries: Sequence[Summary]) -> dict[str, Any]:
    """Write DIR/results.json, table.md, pareto-throughput.svg, pareto-lead-time.svg and, when
    exactly two axes vary, heat-map.svg; the results document."""
    results = document(scenario, spec, summaries)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    (out / "table.md").write_text(table(results, spec.objective))
    rows = results["configurations"]
    (out / "pareto-throughput.svg").write_text(pareto(rows, "wip_mean", "throughput", more_y_is_better=True))
    (out / "pareto-lead-time.svg").write_text(pareto(rows, "wip_mean", "lead_time_mean", more_y_is_better=False))
    varying = [name for name, values in spec.axes.named().items() if len(values) > 1]
    heat = out / "heat-map.svg"
    if len(varying) == 2:
        heat.write_text(heat_map([r for r in rows if not (r["own"] and _off_grid(r, spec))], varying))
    elif heat.exists():
        heat.unlink()
    return results


def _off_grid(row: dict[str, Any], spec: SweepSpec) -> bool:
    named = spec.axes.named()
    return any(value not in named[name] for name, value in row["parameters"].items())
