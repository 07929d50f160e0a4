"""The takt monitor in the engine: a weld cell reported at twice its planned times is seen
from the completions alone, reported as a derived event, repaired, logged and replayed."""

from __future__ import annotations

import json

from scheduler.cli import main
from scheduler.domain.events import CycleTimeObserved, Event
from scheduler.engine import PlanBook
from scheduler.engine.takt import MONITOR
from scheduler.store import SqliteStore
from tests.engine.test_ledger import SMALL, _base, checked, done, live, start

SLOW_WELDS = [("E-weld", 5, 9), ("F-weld", 23, 10), ("A-weld", 43, 10), ("B-weld", 63, 12)]
"""(operation, reported start, planned duration): each runs twice as long, back to back."""


def _slow_welds() -> list[Event]:
    events: list[Event] = []
    for op, begin, duration in SLOW_WELDS:
        events += [start(f"s-{op}", op, begin), done(f"c-{op}", op, begin + 2 * duration)]
    return events


def test_a_slow_station_is_seen_from_its_completions_and_its_remaining_work_stretched():
    plan = live()
    for k, event in enumerate(_slow_welds()):
        checked(plan.apply(event))
        derived = plan.derived()
        assert derived == [] or k == 7, (k, derived)  # one slow part is not enough: the fourth is
    assert len(derived) == 1
    found = derived[0]
    assert isinstance(found, CycleTimeObserved)
    assert (found.source, found.event_id, found.station, found.factor) == (MONITOR, "takt-weld-1", "weld", 2.0)
    assert found.samples == [op for op, _, _ in SLOW_WELDS] and found.time == 87
    repaired = checked(plan.apply(found))
    problem = repaired.problem
    d_weld = problem.op_index["D-weld"]
    assert problem.op_modes[d_weld][0][1] == 22  # planned 11, now at the observed pace
    assert plan.derived() == []  # reported once
    assert plan.watched().stations["weld"].factor == 2.0


def test_the_book_logs_the_derived_event_and_a_restart_reaches_the_same_versions(tmp_path):
    book = PlanBook(SqliteStore(tmp_path))
    scenario = live().scenario
    book.create(scenario.model_copy(update={"baseline": _base()}), "p")
    report = book.report("p", _slow_welds())
    assert [a.event_id for a in report.derived] == ["takt-weld-1"]
    assert book.store.find("p", MONITOR, "takt-weld-1") is not None
    latest = book.get("p")
    book.store.close()
    again = PlanBook(SqliteStore(tmp_path))
    assert again.get("p").version == latest.version and dict(again.get("p").plan) == dict(latest.plan)
    assert again._plans["p"].live.derived() == []  # replayed from the log, not found again


def test_repair_on_the_reported_facts_lists_the_same_detection(tmp_path, capsys):
    events = [e.model_dump(mode="json", exclude_none=True) for e in _slow_welds()]
    path, out = tmp_path / "facts.json", tmp_path / "result.json"
    path.write_text(json.dumps(events))
    assert main(["repair", str(SMALL), "--plan", str(_plan_file(tmp_path)), "--events", str(path),
                 "--deterministic", "--out", str(out)]) == 0  # fmt: skip
    detections = json.loads(out.read_text())["detections"]
    assert detections == [{"event_id": "takt-weld-1", "time": 87, "station": "weld", "factor": 2.0, "samples": 4}]
    assert main(["check", str(SMALL), str(out)]) == 0


def _plan_file(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(
        json.dumps({"assignments": [a.model_dump(mode="json", exclude_none=True) for a in _base().assignments]})
    )
    return path
