"""A sweep's results: per configuration the mean and 95% interval of each KPI over its
replications, the objective's score and the rank; ``results.json`` and ``table.md``. Nothing
in them depends on the executor or the order runs finished in."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scheduler.sweep.grid import Configuration
from scheduler.sweep.spec import KPIS, SweepSpec

if TYPE_CHECKING:  # the engine is not loaded by a client that only writes a table
    from scheduler.sweep.run import Kpis

_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)  # fmt: skip
"""Student's t, 97.5% quantile, by degrees of freedom 1..30 (1.96 beyond)."""


@dataclass
class Summary:
    """One configuration's runs, by replication."""

    configuration: Configuration
    runs: dict[int, Kpis] = field(default_factory=dict)
    own: bool = False
    """The scenario's own values (what the best is compared with)."""

    def means(self) -> dict[str, float | None]:
        return {k: (interval([r[k] for r in self.runs.values()]) or {}).get("mean") for k in KPIS}

    def score(self, objective: Mapping[str, float]) -> float | None:
        """The weighted sum of the KPIs' means (None when a weighed KPI has no value)."""
        means = self.means()
        terms = [w * means[k] for k, w in objective.items() if means[k] is not None]  # type: ignore[operator]
        return round(math.fsum(terms), 6) if len(terms) == len(objective) else None


def interval(values: Sequence[float | None]) -> dict[str, float] | None:
    """Mean and 95% interval (Student's t) of the values that exist."""
    xs = [v for v in values if v is not None]
    if not xs:
        return None
    mean = math.fsum(xs) / len(xs)
    half = _T975[min(len(xs), 31) - 2] * statistics.stdev(xs) / math.sqrt(len(xs)) if len(xs) > 1 else 0.0
    if len(xs) > 31:
        half = 1.96 * statistics.stdev(xs) / math.sqrt(len(xs))
    return {"mean": round(mean, 6), "low": round(mean - half, 6), "high": round(mean + half, 6)}


def ranked(summaries: Sequence[Summary], objective: Mapping[str, float]) -> list[Summary]:
    """Best first: the most replications (halving's finalists), then the lowest score, then
    the key (a stable order for ties)."""

    def order(s: Summary) -> tuple[int, int, float, str]:
        score = s.score(objective)
        return (-len(s.runs), score is None, score if score is not None else 0.0, s.configuration.key)

    return sorted((s for s in summaries if s.runs), key=order)


def document(scenario: str, spec: SweepSpec, summaries: Sequence[Summary]) -> dict[str, Any]:
    """results.json."""
    order = ranked(summaries, spec.objective)
    rows = [_row(s, rank, spec) for rank, s in enumerate(order, 1)]
    own = next((r for r in rows if r["own"]), None)
    best = rows[0] if rows else None
    return {
        "scenario": scenario,
        "sweep": spec.model_dump(mode="json", by_alias=True),
        "configurations": rows,
        "best": None if best is None else {**best, "better_than_own": _gain(best, own)},
        "own": own,
    }


def _row(s: Summary, rank: int, spec: SweepSpec) -> dict[str, Any]:
    return {
        "key": s.configuration.key,
        "parameters": s.configuration.as_dict(),
        "rank": rank,
        "score": s.score(spec.objective),
        "replications": len(s.runs),
        "failed": sum(1 for r in s.runs.values() if all(v is None for v in r.values())),
        "own": s.own,
        "kpis": {k: interval([r[k] for _, r in sorted(s.runs.items())]) for k in KPIS},
    }


def _gain(best: dict[str, Any], own: dict[str, Any] | None) -> dict[str, Any] | None:
    """How the best differs from the scenario's own configuration: the score and each KPI's mean."""
    if own is None:
        return None
    delta: dict[str, Any] = {}
    for k in KPIS:
        a, b = best["kpis"][k], own["kpis"][k]
        delta[k] = None if a is None or b is None else round(a["mean"] - b["mean"], 6)
    score = None if best["score"] is None or own["score"] is None else round(best["score"] - own["score"], 6)
    return {"score": score, "kpis": delta}


def table(results: Mapping[str, Any], objective: Mapping[str, float]) -> str:
    """table.md: one row per configuration, best first."""
    shown = list(dict.fromkeys([*objective, "throughput", "lead_time_mean", "wip_mean", "bottleneck_starvation"]))
    lines = [f"# Sweep of {results['scenario']}", "",
             "Objective (minimised): " + " + ".join(f"{w:g} x {k}" for k, w in objective.items()), "",
             "| rank | configuration | runs | score | " + " | ".join(shown) + " |",
             "|---:|---|---:|---:|" + "---:|" * len(shown)]  # fmt: skip
    for row in results["configurations"]:
        cells = [_cell(row["kpis"][k]) for k in shown]
        name = row["key"] + (" (own)" if row["own"] else "")
        score = "-" if row["score"] is None else f"{row['score']:.4g}"
        lines.append(f"| {row['rank']} | {name} | {row['replications']} | {score} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: Mapping[str, float] | None) -> str:
    if value is None:
        return "-"
    half = (value["high"] - value["low"]) / 2
    return f"{value['mean']:.4g} ± {half:.2g}" if half else f"{value['mean']:.4g}"
