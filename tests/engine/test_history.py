"""Bounded state: changes in the log, snapshots, restarts from the last one, older versions
from the store, and stores written before schema versions (migrated in place)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from scheduler.domain.events import DowntimeEnded, DowntimeStarted, Event
from scheduler.domain.files import load_scenario
from scheduler.engine import EventRejected, LivePlan, PlanBook
from scheduler.engine.history import RECENT, SNAPSHOT_EVERY
from scheduler.store import SqliteStore
from scheduler.store.sqlite import _V1

SMALL = Path(__file__).resolve().parents[1] / "data" / "small_line.yaml"
ROOT = Path(__file__).resolve().parents[2]
MACHINES = ["WELD-1", "CUT-1", "PACK-1", "CUT-2"]


def stops(count: int, first: int = 0) -> list[Event]:
    """Short stops across the machines, each reported back a tick later: two events a tick."""
    events: list[Event] = []
    for k in range(first, first + count):
        machine, stop = MACHINES[(k // 2) % 4], f"d{k // 2}"
        if k % 2 == 0:
            events.append(DowntimeStarted(event_id=f"e{k}", time=k // 2, machine=machine, downtime_id=stop))
        else:
            events.append(DowntimeEnded(event_id=f"e{k}", time=k // 2 + 1, machine=machine, downtime_id=stop))
    return events  # fmt: skip


def _book(data: Path, events: int) -> tuple[PlanBook, dict[int, dict[str, tuple[str, int, int]]]]:
    """A book with the small line and ``events`` stops; the plan of every version made."""
    book = PlanBook(SqliteStore(data))
    scenario = load_scenario(SMALL)
    book.create(scenario.model_copy(update={"baseline": LivePlan.create(scenario).schedule()}), "p")
    seen = {1: dict(book.get("p", 1).plan)}
    for event in stops(events):
        latest = book.report("p", [event], budget_ms=10).latest
        seen[latest.version] = dict(latest.plan)
    return book, seen


def test_a_restart_starts_from_the_last_snapshot_and_reaches_the_same_versions(tmp_path):
    book, seen = _book(tmp_path, 2 * SNAPSHOT_EVERY + 30)
    entry = book._plans["p"]
    assert len(entry.recent) <= RECENT  # memory holds the latest versions only
    latest = book.get("p")
    book.store.close()
    store = SqliteStore(tmp_path)
    kept = store.snapshot("p")
    assert kept is not None and kept.position == 2 * SNAPSHOT_EVERY
    assert len(store.log("p", kept.position)) == 30  # what a restart replays
    again = PlanBook(store)
    assert again.get("p").version == latest.version and dict(again.get("p").plan) == dict(latest.plan)
    for version in (1, 2, 50, latest.version - RECENT - 1):  # older than memory: rebuilt from the store
        assert dict(again.get("p", version).plan) == seen[version]
    first = again.report("p", stops(1)).acks[0]  # a duplicate after the restart: its first answer
    assert first.duplicate and first.event_id == "e0"
    with pytest.raises(EventRejected) as refused:
        again.report("p", [stops(1)[0].model_copy(update={"machine": "PACK-1"})])
    assert refused.value.error.problems[0].field == "event.machine"


def test_the_log_keeps_changes_not_whole_plans(tmp_path):
    book, _ = _book(tmp_path, 40)
    rows = book.store.log("p")
    changed = [json.loads(r.plan) for r in rows if r.plan is not None]
    assert changed and all(r.plan_format == 2 for r in rows)
    assert min(len(c["set"]) for c in changed) < len(book.get("p").plan)  # a stop moves part of the plan


def _as_version_1(data: Path, into: Path) -> None:
    """The same plans and events as a store of the first schema: whole plans, no snapshots."""
    book = PlanBook(SqliteStore(data))
    entry = book._plans["p"]
    versions = {v.version: v for v in entry.history.versions(1, entry.latest.version)}
    into.mkdir()
    with contextlib.closing(sqlite3.connect(into / SqliteStore.FILE)) as db, db:
        db.executescript(_V1)
        db.executemany("INSERT INTO plans VALUES (?, ?, ?)",
                       [(r.plan_id, r.created, r.scenario) for r in book.store.plans()])  # fmt: skip
        for r in book.store.log("p"):
            plan = json.dumps(dict(versions[r.version].plan)) if r.plan is not None else None
            db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (r.plan_id, r.position, r.source, r.event_id, r.event, r.version, plan, r.receipt))  # fmt: skip
    book.store.close()


def test_a_store_of_the_first_schema_is_migrated_and_gets_a_snapshot(tmp_path):
    book, seen = _book(tmp_path / "new", SNAPSHOT_EVERY + 20)
    latest = book.get("p")
    book.store.close()
    _as_version_1(tmp_path / "new", tmp_path / "old")
    migrated = PlanBook(SqliteStore(tmp_path / "old"))
    with contextlib.closing(sqlite3.connect(tmp_path / "old" / SqliteStore.FILE)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    assert dict(migrated.get("p").plan) == dict(latest.plan) and migrated.get("p").version == latest.version
    assert dict(migrated.get("p", 3).plan) == seen[3]
    kept = migrated.store.snapshot("p")
    assert kept is not None and kept.position == SNAPSHOT_EVERY + 20  # written after the long first replay
    assert migrated.report("p", stops(1, SNAPSHOT_EVERY + 20)).acks[0].version > latest.version - 1


def test_a_store_of_a_newer_schema_is_refused(tmp_path):
    SqliteStore(tmp_path).close()
    with contextlib.closing(sqlite3.connect(tmp_path / SqliteStore.FILE)) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(Exception, match="schema version 99, newer than this release's 2"):
        SqliteStore(tmp_path)


def test_kill_9_after_many_events_restarts_from_the_snapshot_with_nothing_lost(tmp_path):
    _book(tmp_path, SNAPSHOT_EVERY + 10)[0].store.close()
    expected = PlanBook(SqliteStore(tmp_path)).get("p")
    writer = subprocess.Popen(  # a process that keeps reporting, killed mid-stream
        [sys.executable, "-c", _WRITER.format(root=str(ROOT), data=str(tmp_path), first=SNAPSHOT_EVERY + 10)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert writer.stdout is not None
    acked = [int(writer.stdout.readline()) for _ in range(SNAPSHOT_EVERY)]  # through the next snapshot
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(30)
    book = PlanBook(SqliteStore(tmp_path))
    assert book.get("p").version >= acked[-1] > expected.version  # every acknowledged version is there
    kept = book.store.snapshot("p")
    assert kept is not None and kept.position >= 2 * SNAPSHOT_EVERY
    for k in range(SNAPSHOT_EVERY + 10, 2 * SNAPSHOT_EVERY + 10):
        assert book.store.find("p", "mes", f"e{k}") is not None


_WRITER = """
import sys
sys.path.insert(0, {root!r})
from pathlib import Path
from scheduler.engine import PlanBook
from scheduler.store import SqliteStore
from tests.engine.test_history import stops
book = PlanBook(SqliteStore(Path({data!r})))
for event in stops(1000, {first}):
    print(book.report("p", [event], budget_ms=10).latest.version, flush=True)
"""
