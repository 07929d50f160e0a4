"""What-ifs isolate the change asked for: a kanban cap against the same fork with the cap it
had, both repaired the same reproducible way (the issue: a cap set to its current value
reported makespan -60 and tardiness -798, because the fork re-solved everything)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.domain import InputError
from scheduler.domain.events import DowntimeStarted
from scheduler.domain.files import load_scenario
from scheduler.engine import PlanBook
from scheduler.store import SqliteStore
from tests.engine.test_live import demo_plan

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "demo_line.yaml"


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    book = PlanBook(SqliteStore(tmp_path_factory.mktemp("whatif")))
    book.create(load_scenario(DEMO).model_copy(update={"baseline": demo_plan()}), "line")
    book.report("line", [DowntimeStarted(event_id="d", time=60, machine="WELD-1", downtime_id="d1")], budget_ms=50)
    return book


def test_a_cap_at_its_current_value_changes_nothing(book):
    held = {b.id: b.kanban for b in load_scenario(DEMO).plant.buffers}
    same = book.evaluate("line", 0, [], {"bend->weld": held["bend->weld"]}, budget_ms=200)
    assert (same.diff.moved_operations, same.makespan_delta, same.weighted_tardiness_delta) == (0, 0, 0)
    assert all(r.valid for r in same.receipts)


def test_another_cap_is_measured_against_the_control_and_is_reproducible(book):
    first = book.evaluate("line", 0, [], {"bend->weld": 1}, budget_ms=200)
    again = book.evaluate("line", 0, [], {"bend->weld": 1}, budget_ms=200)
    assert first.plan.plan == again.plan.plan and first.diff == again.diff
    assert first.plan.version == book.get("line").version  # nothing live changed
    assert first.plan.kpis.peak_wip["bend->weld"] <= 1  # the fork keeps the new cap
    assert first.makespan_delta > 0 and first.diff.moved_operations > 0  # one card fewer than 4 costs time
    loose = book.evaluate("line", 0, [], {"bend->weld": 50}, budget_ms=200)
    assert loose.makespan_delta <= 0  # a looser cap never costs against the control


def test_an_unknown_buffer_is_named(book):
    with pytest.raises(InputError, match=r"kanban_caps\[0\].buffer"):
        book.evaluate("line", 0, [], {"paint->nowhere": 2})
