"""The suite's disruption streams: seeded, in time order, and replayable through the CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from scheduler.cli import main
from scheduler.domain.files import load_events, load_scenario

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from disruptions import stream, write_script  # noqa: E402 - benchmarks/ is not a package


def test_a_stream_is_seeded_ordered_and_replays_through_repair(tmp_path, capsys):
    demo = load_scenario(ROOT / "scenarios" / "demo_line.yaml")
    first, again, other = (stream(demo, 900, 12, seed) for seed in (5, 5, 6))
    assert first == again and first != other
    assert [e.time for e in first] == sorted(e.time for e in first)
    assert {e.type for e in stream(demo, 900, 60, 5)} >= {"downtime_started", "cycle_time_observed", "order_added"}
    script = tmp_path / "events.yaml"
    write_script(first[:4], script)
    assert load_events(script, demo) == first[:4]
    ft06 = ROOT / "scenarios" / "jssp" / "ft06.json"
    events = stream(load_scenario(ft06), 55, 3, 1)
    write_script(events, script)
    out = tmp_path / "result.json"
    assert main(["repair", str(ft06), "--events", str(script), "--deterministic", "--out", str(out)]) == 0
    receipts = json.loads(out.read_text())["receipts"]
    assert [r["event_id"] for r in receipts] == [e.event_id for e in events] and all(r["valid"] for r in receipts)
    capsys.readouterr()
