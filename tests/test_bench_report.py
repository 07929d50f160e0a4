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
    settings = Settings(budgets=(200,), events=4, seed=1, reference_s=0.3, deterministic=True)
    result = repair_records("ft10", settings)
    records = result["records"]
    assert len(records) == 4
    for record in records:  # every answer went through the checker in repair_records
        assert all(answer["valid"] for answer in record.values() if isinstance(answer, dict) and answer["answered"])

    rows = summarise(result, settings.budgets)
    assert [(r["budget_ms"], r["method"]) for r in rows] == [
        ("-", "right_shift"), (200, "plain_cp_sat"), (200, "default"), (200, "stability")
    ]  # fmt: skip
    assert all(r["invalid"] == 0 and r["events"] == 4 for r in rows)
    kinds = by_event_type(result)
    assert {r["event_type"] for r in kinds} == {r["type"] for r in records}
    assert sum(r["events"] for r in kinds if r["method"] == "right_shift") == 4

    first = _run(tmp_path / "a.json", result, rows, "2026-01-01T00:00")
    shorter = result | {"records": records[2:]}
    second = _run(tmp_path / "b.json", shorter, summarise(shorter, settings.budgets), "2026-01-02T00:00")
    write_report([first, second], tmp_path / "out")
    merged = json.loads((tmp_path / "out" / "results.json").read_text())
    # the same instance twice: its rows once, recomputed from the later run's records
    assert [(r["method"], r["events"]) for r in merged["repair"]] == [
        ("right_shift", 2), ("plain_cp_sat", 2), ("default", 2), ("stability", 2)
    ]  # fmt: skip
    stability = next(r for r in merged["repair"] if r["method"] == "stability")
    rs_moved = sum(r["right_shift"]["moved"] for r in records[2:])
    assert rs_moved > 0  # pooled: all operations moved over all that right-shift moved
    assert stability["moved_vs_right_shift"] == sum(r["stability@200"]["moved"] for r in records[2:]) / rs_moved
    table = (tmp_path / "out" / "table.md").read_text()
    assert "2026-01-01T00:00 (commit 0123456), 2026-01-02T00:00 (commit 0123456)" in table
    assert "### Change by event type" in table and "ortools 9.15" in table
