"""What the commands share: output files that fail early and in one line, and tables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scheduler.check import CheckReport
from scheduler.domain import InputError

if TYPE_CHECKING:  # check and schema must not load the solver
    from scheduler.repair.receipt import Receipt


def writable(path: Path | None, flag: str) -> None:
    """Fail before any work when an output cannot be written (creating its folder)."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError.single(flag, f"cannot write {str(path)!r}: {error.strerror}") from None
    if path.is_dir() or not os.access(path.parent, os.W_OK):
        raise InputError.single(flag, f"cannot write {str(path)!r}: not a writable file path")


def write(path: Path, text: str, flag: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise InputError.single(flag, f"cannot write {str(path)!r}: {error.strerror}") from None


def print_report(report: CheckReport, objective: int | None = None, bound: float | None = None) -> None:
    k = report.kpis
    rows: list[tuple[str, Any]] = [
        ("valid", "yes" if report.valid else f"NO ({len(report.violations)} violations)"),
        ("makespan", k.makespan),
        ("weighted tardiness", k.total_weighted_tardiness),
        ("late orders", k.late_orders),
        ("earliness", k.total_earliness),
        ("mean lead time", f"{k.mean_lead_time:.1f}"),
        (
            "bottleneck",
            f"{k.bottleneck_station} (utilisation {k.bottleneck_utilisation:.1%}, idle {k.bottleneck_idle})",
        ),
    ]
    if k.peak_wip:
        rows.append(("peak WIP per buffer", ", ".join(f"{b}={n}" for b, n in k.peak_wip.items())))
    rows.append(("peak jobs in process", k.peak_conwip))
    if objective is not None:
        rows.append(("objective", f"{objective} (bound {bound:.0f})" if bound is not None else objective))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


def print_receipts(receipts: list[Receipt]) -> None:
    header = ("event", "tier", "solver", "latency ms", "makespan", "moved", "|shift|", "valid")
    rows = [
        (r.event_id, r.tier, r.solver_status, f"{r.latency_ms:.0f}/{r.budget_ms}",
         f"{r.makespan_before} -> {r.makespan_after}", str(r.moved_operations), str(r.total_abs_shift),
         "yes" if r.valid else "NO")
        for r in receipts
    ]  # fmt: skip
    widths = [max(len(h), *(len(row[k]) for row in rows)) for k, h in enumerate(header)]
    for row in [header, *rows]:
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    for r in receipts:
        if r.reason:
            print(f"  {r.event_id}: {r.reason}")
        for warning in r.warnings:
            print(f"  {r.event_id}: warning: {warning}")
        if r.degraded:
            print(f"  {r.event_id}: degraded: {r.degraded}")
