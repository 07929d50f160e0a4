"""The benchmark suite under pytest-benchmark: one test per instance (all methods and
budgets on the same states), initial quality, cost against size, the service end to end.

Run it with ``lean-scheduler bench [--suite smoke|full] [--out DIR]`` (which also writes
the tables and plots), or directly: ``pytest benchmarks/test_suite.py --benchmark-enable
--suite smoke``. Each test keeps its measurements in ``extra_info``; in the smoke suite it
also asserts quality bounds and validity (never timings).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any

import pytest
from cells import initial_quality, repair_records, scaling
from lean_cells import first_plan, first_rows, repairs
from lean_cells import summarise as lean_summary
from metrics import summarise
from service_bench import latency
from suites import SUITES, Suite
from tqdm import tqdm


@pytest.fixture
def suite(request: pytest.FixtureRequest) -> Suite:
    """The chosen suite, with the budgets and event count the command line overrides."""
    chosen = SUITES[request.config.getoption("--suite")]
    budgets = tuple(int(b) for b in request.config.getoption("--budgets").split(",") if b)
    events = request.config.getoption("--events")
    settings = replace(chosen.settings, budgets=budgets or chosen.settings.budgets,
                       events=events or chosen.settings.events)  # fmt: skip
    lean = replace(chosen.lean_settings, budgets=budgets or chosen.lean_settings.budgets,
                   events=events or chosen.lean_settings.events)  # fmt: skip
    return replace(chosen, settings=settings, budgets_for={} if budgets else chosen.budgets_for, lean_settings=lean)


def test_repair(benchmark: Any, suite: Suite, repair_instance: str) -> None:
    settings = replace(suite.settings, budgets=suite.budgets(repair_instance))
    with tqdm(total=settings.events, desc=f"repair {repair_instance}", unit="event", file=sys.stderr,
              leave=False) as bar:  # fmt: skip
        result = benchmark.pedantic(repair_records, args=(repair_instance, settings, bar.update), rounds=1,
                                    iterations=1)  # fmt: skip
    rows = summarise(result, settings.budgets)
    benchmark.extra_info.update(kind="repair", rows=rows, records={repair_instance: result["records"]})
    assert all(row["invalid"] == 0 for row in rows), rows
    for row in rows:
        if row["method"] in ("default", "stability"):
            assert row["worse_than_right_shift"] == 0, row
    if suite.name == "smoke":
        rs = rows[0]
        for row in rows:
            if row["method"] == "default" and rs["makespan_vs_reference"] is not None:
                assert row["makespan_vs_reference"] <= rs["makespan_vs_reference"] + 1e-9, row
            if row["method"] == "stability" and row["moved_vs_right_shift"] is not None:
                assert row["moved_vs_right_shift"] <= 1.0, row


def test_initial_quality(benchmark: Any, suite: Suite, initial_instance: str) -> None:
    results = benchmark.pedantic(
        lambda: [initial_quality(initial_instance, s, suite.settings) for s in suite.initial_seconds],
        rounds=1, iterations=1,
    )  # fmt: skip
    benchmark.extra_info.update(kind="initial", rows=results)
    for r in results:
        # a plan found is a valid plan; finding none within the limit is a result (ta71 at 1 s)
        assert r["ours_valid"] is not False and r["plain_valid"] is not False, r
        if suite.name == "smoke":
            assert r["ours"] is not None and r["ours"] <= 1.10 * r["best_known"], r


def test_lean_first_plan(benchmark: Any, suite: Suite, lean_line: str) -> None:
    """A capped line's first plan: never worse than the shop's own pull rules by hand."""
    row = benchmark.pedantic(first_plan, args=(lean_line, suite.lean_settings), rounds=1, iterations=1)
    rows = first_rows(row)
    benchmark.extra_info.update(kind="lean_initial", rows=rows)
    ours = row["ours"]
    assert all(r["valid"] for r in rows), rows
    for shop in ("fifo_pull", "edd_pull"):
        assert ours["makespan"] <= row[shop]["makespan"], (shop, row)
        assert ours["weighted_tardiness"] <= row[shop]["weighted_tardiness"], (shop, row)
    assert ours["objective"] <= row["dispatcher"]["objective"], row


def test_lean_repair(benchmark: Any, suite: Suite, lean_line: str) -> None:
    """A shift of events on a capped line: every answer valid, never worse than the previous
    plan patched or the dispatcher, an early return never worse than the plan before."""
    settings = suite.lean_settings
    with tqdm(total=settings.events, desc=f"lean {lean_line}", unit="event", file=sys.stderr, leave=False) as bar:
        result = benchmark.pedantic(repairs, args=(lean_line, settings, bar.update), rounds=1, iterations=1)
    rows = lean_summary(result, settings.budgets)
    benchmark.extra_info.update(kind="lean_repair", rows=rows, lean_records={lean_line: result["records"]})
    for row in rows:
        if row["method"].startswith("ours@"):
            assert row["invalid"] == 0 and row["unanswered"] == 0, row
            assert row["worse_than_right_shift"] == 0 and row["worse_than_dispatcher"] == 0, row
            assert row["early_return_worse"] == 0, row


def test_cost_against_size(benchmark: Any, suite: Suite) -> None:
    if not suite.scaling:
        pytest.skip("this suite measures no cost against size")
    rows = benchmark.pedantic(scaling, args=(suite.scaling,), rounds=1, iterations=1)
    benchmark.extra_info.update(kind="scaling", rows=rows)
    assert [r["operations"] for r in rows] == sorted(r["operations"] for r in rows)


def test_report_events_over_grpc(benchmark: Any, suite: Suite) -> None:
    if not suite.service_events:
        pytest.skip("this suite measures no service latency")
    result = benchmark.pedantic(latency, args=(suite.service_events, suite.settings.seed), rounds=1, iterations=1)
    benchmark.extra_info.update(kind="service", rows=[result])
    assert result["invalid"] == 0 and result["events"] == suite.service_events
