"""The suite's report: metrics from real repair records, runs merged into one table."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from cells import Settings, repair_records  # noqa: E402 - benchmarks/ is not a package
from metrics import by_event_type, summarise  # noqa: E402
from report import write_report  # noqa: E402


def _run(path: Path, result: dict[str, Any], rows: list[dict[str, Any]], when: str) -> Path:
    """What ``test_suite.py`` leaves in pytest-benchmark's JSON for one repair cell."""
    extra = {"kind": "repair", "rows": rows, "records": {result["instance"]: result["records"]}}
    machine = {"machine": "x86_64", "cpu": {"count": 2}, "python_version": "3.11", "ortools": "9.15"}
    run = {"benchmarks": [{"extra_info": extra}], "datetime": when, "commit_info": {"id": "0123456789"},
           "machine_info": machine}  # fmt: skip
    path.write_text(json.dumps(run))
    return path


def test_records_summarise_by_event_type_and_runs_merge(tmp_path: Path) -> None:
    settings = Settings(budgets=(200,), events=3, seed=1, reference_s=0.3, deterministic=True)
    result = repair_records("ft10", settings)
    records = result["records"]
    assert len(records) == 3
    for record in records:  # every answer went through the checker in repair_records
        assert all(answer["valid"] for answer in record.values() if isinstance(answer, dict) and answer["answered"])

    rows = summarise(result, settings.budgets)
    assert [(r["budget_ms"], r["method"]) for r in rows] == [
        ("-", "right_shift"), (200, "plain_cp_sat"), (200, "default"), (200, "stability")
    ]  # fmt: skip
    assert all(r["invalid"] == 0 and r["events"] == 3 for r in rows)
    kinds = by_event_type(result)
    assert {r["event_type"] for r in kinds} == {r["type"] for r in records}
    assert sum(r["events"] for r in kinds if r["method"] == "right_shift") == 3

    first = _run(tmp_path / "a.json", result, rows, "2026-01-01T00:00")
    later_rows = [r | {"invalid": 7} if r["method"] == "stability" else r for r in rows]
    second = _run(tmp_path / "b.json", result, later_rows, "2026-01-02T00:00")
    write_report([first, second], tmp_path / "out")
    merged = json.loads((tmp_path / "out" / "results.json").read_text())
    assert len(merged["repair"]) == 4  # the same cells twice: one row each, the later run's
    assert [r["invalid"] for r in merged["repair"] if r["method"] == "stability"] == [7]
    table = (tmp_path / "out" / "table.md").read_text()
    assert "2026-01-01T00:00 (commit 0123456), 2026-01-02T00:00 (commit 0123456)" in table
    assert "### Change by event type" in table and "ortools 9.15" in table
