"""From per-event records to the suite's metrics: one row per (instance, budget, method),
and the same split by event type. Pure functions on the records ``cells.repair_records``
writes, so that ``report.py`` can recompute them from any stored run."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any


def summarise(result: dict[str, Any], budgets: Iterable[int]) -> list[dict[str, Any]]:
    """One row per (budget, method): the metrics of the issue, against the same states."""
    records = result["records"]
    rows = [_row(result, "-", "right_shift", [r["right_shift"] for r in records], records)]
    for budget in budgets:
        for method in ("plain_cp_sat", "default", "stability"):
            rows.append(_row(result, budget, method, [r[f"{method}@{budget}"] for r in records], records))
    return rows


def _row(result: dict[str, Any], budget: int | str, method: str, answers: list[dict[str, Any]],
         records: list[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    pairs = [(a, r) for a, r in zip(answers, records, strict=True) if a["answered"]]
    latency = sorted(a["latency_ms"] for a in answers)
    ref_ok = [(a, r) for a, r in pairs if r["reference"]["answered"]]
    wt_ref = sum(r["reference"]["weighted_tardiness"] for _, r in ref_ok)
    tiers: dict[str, int] = {}
    for a in answers:
        tiers[a["tier"]] = tiers.get(a["tier"], 0) + 1
    return {
        "instance": result["instance"],
        "operations": result["operations"],
        "budget_ms": budget,
        "method": method,
        "events": len(answers),
        "latency_ms": {str(q): _quantile(latency, q) for q in (50, 95, 99)} | {"max": latency[-1] if latency else None},
        "latency_samples": latency,
        "makespan_vs_reference": _mean(a["makespan"] / r["reference"]["makespan"] - 1 for a, r in ref_ok),
        "weighted_tardiness_vs_reference": (
            sum(a["weighted_tardiness"] for a, _ in ref_ok) / wt_ref - 1 if wt_ref else None
        ),
        "moved_right_shift": _mean(r["right_shift"]["moved"] for r in records),
        # pooled over the answered events: all operations moved / all right-shift moved there
        "moved_vs_right_shift": _pooled(pairs, "moved"),
        # the mean of per-event ratios (events where right-shift moved something): one event
        # where right-shift moves 2 operations and a repair 200 counts as much as any other
        "moved_vs_right_shift_mean": _mean(
            a["moved"] / r["right_shift"]["moved"] for a, r in pairs if r["right_shift"]["moved"]
        ),
        "shift_vs_right_shift": _pooled(pairs, "shift"),
        "worse_than_right_shift": sum(a["makespan"] > r["right_shift"]["makespan"] for a, r in pairs),
        "tiers": {k: v / len(answers) for k, v in sorted(tiers.items())},
        "solver_gave_nothing": sum(a["status"] in ("no_solution",) or not a["answered"] for a in answers),
        "invalid": sum(not a.get("valid", True) for a in answers if a["answered"]),
    }


def _pooled(pairs: list[tuple[dict[str, Any], dict[str, Any]]], key: str) -> float | None:
    """Sum of ``key`` over the answers against the sum of right-shift's on the same events."""
    base = sum(r["right_shift"][key] for _, r in pairs)
    return sum(a[key] for a, _ in pairs) / base if base else None


def _quantile(ordered: list[float], q: int) -> float | None:
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else None


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return statistics.mean(values) if values else None


def budgets_of(records: list[dict[str, Any]]) -> list[int]:
    """The budgets a run measured, read from its records' keys (``default@500``)."""
    return sorted({int(key.split("@")[1]) for r in records for key in r if "@" in key})


def by_event_type(result: dict[str, Any]) -> list[dict[str, Any]]:
    """``summarise`` per event type (downtimes, takt deviations, rush orders): where the
    change a repair makes comes from. Latency and tier shares are left to the main rows."""
    kept = ("instance", "budget_ms", "method", "events", "makespan_vs_reference", "moved_right_shift",
            "moved_vs_right_shift", "moved_vs_right_shift_mean", "shift_vs_right_shift")  # fmt: skip
    rows = []
    for kind in sorted({r["type"] for r in result["records"]}):
        subset = {**result, "records": [r for r in result["records"] if r["type"] == kind]}
        for row in summarise(subset, budgets_of(subset["records"])):
            rows.append({"event_type": kind} | {k: row[k] for k in kept})
    return rows
