"""The store contract (``store/base.py``), one suite for both stores: a real SQLite file and
a real PostgreSQL server (a fresh database per test)."""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Iterator

import pytest

from scheduler.store import EventRecord, PlanRecord, PlanStore, Snapshot, StoreError, StoreUrl, parse_store_url
from scheduler.store import postgres as pg_store
from scheduler.store import sqlite as sqlite_store
from tests.postgres import binaries_or_skip, connect, postgres_server

_DATABASES = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request, tmp_path) -> StoreUrl:
    """A store's location: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return parse_store_url(f"sqlite://{tmp_path}/plans.sqlite3", tmp_path)
    url = request.getfixturevalue("postgres").database(f"contract{next(_DATABASES)}")
    return parse_store_url(url, tmp_path)


@pytest.fixture
def store(where: StoreUrl) -> Iterator[PlanStore]:
    opened = where.open()
    yield opened
    opened.close()


def plan(plan_id: str, created: float = 1.0) -> PlanRecord:
    return PlanRecord(plan_id, created, f'{{"name": "{plan_id}"}}')


def event(position: int, event_id: str | None = None, plan_id: str = "p", source: str = "mes") -> EventRecord:
    plan_rows = None if position % 2 else '{"set": {}}'  # both a plan and none, both formats
    return EventRecord(plan_id, position, source, event_id or f"e{position}", f'{{"n": {position}}}', position + 1,
                       plan_rows, '{"tier": "right_shift"}', 1 + position % 2)  # fmt: skip


def schema_version(where: StoreUrl) -> int:
    """The version the store recorded, read with the database's own client."""
    if where.path is not None:
        with contextlib.closing(sqlite3.connect(where.path)) as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])
    assert where.url is not None
    with connect(where.url) as db:
        row = db.execute("SELECT version FROM lean_scheduler_schema").fetchone()
        return int(row[0]) if row else 0


def set_schema_version(where: StoreUrl, version: int) -> None:
    if where.path is not None:
        with contextlib.closing(sqlite3.connect(where.path)) as db:
            db.execute(f"PRAGMA user_version = {version}")
        return
    assert where.url is not None
    with connect(where.url, autocommit=True) as db:
        db.execute("UPDATE lean_scheduler_schema SET version = %s", (version,))


def test_plans_are_listed_oldest_first_and_deleted_with_their_log(store):
    for plan_id, created in [("b", 2.0), ("a", 2.0), ("c", 1.0)]:
        store.add_plan(plan(plan_id, created))
    assert [p.plan_id for p in store.plans()] == ["c", "a", "b"]
    assert store.plans()[0] == plan("c", 1.0)
    store.append(event(1, plan_id="a"))
    store.add_snapshot(Snapshot("a", 1, 2, "state"))
    assert store.delete_plan("a") is True
    assert store.delete_plan("a") is False
    assert [p.plan_id for p in store.plans()] == ["c", "b"]
    assert store.log("a") == [] and store.snapshot("a") is None
    store.add_plan(plan("a"))  # the id is free again, its old log gone
    assert store.log("a") == []


def test_a_taken_plan_id_is_refused(store):
    store.add_plan(plan("p"))
    with pytest.raises(StoreError):
        store.add_plan(plan("p", 5.0))
    assert store.plans() == [plan("p")]


def test_the_log_comes_back_in_order_from_after_a_position(store):
    store.add_plan(plan("p"))
    store.add_plan(plan("q"))
    records = [event(k) for k in (1, 2, 3, 4)]
    for record in (records[1], records[0], records[3], records[2]):  # stored out of order, read in order
        store.append(record)
    store.append(event(1, plan_id="q"))
    assert store.log("p") == records
    assert store.log("p", after=2) == records[2:]
    assert store.log("p", after=4) == []
    assert store.log("q") == [event(1, plan_id="q")]


def test_a_duplicate_event_id_or_position_is_refused_and_changes_nothing(store):
    store.add_plan(plan("p"))
    store.append(event(1))
    with pytest.raises(StoreError):
        store.append(event(2, event_id="e1"))  # same (plan, source, event_id)
    with pytest.raises(StoreError):
        store.append(event(1, event_id="other"))  # same position
    store.append(event(2, event_id="e1", source="other-mes"))  # another source may reuse the id
    assert [(r.position, r.source) for r in store.log("p")] == [(1, "mes"), (2, "other-mes")]


def test_an_event_of_an_unknown_plan_is_refused(store):
    with pytest.raises(StoreError):
        store.append(event(1, plan_id="nobody"))
    assert store.log("nobody") == []


def test_find_returns_an_events_record(store):
    store.add_plan(plan("p"))
    store.append(event(1))
    store.append(event(2, source="other"))
    assert store.find("p", "mes", "e1") == event(1)
    assert store.find("p", "other", "e2") == event(2, source="other")
    assert store.find("p", "mes", "e2") is None
    assert store.find("q", "mes", "e1") is None


def test_snapshots_replace_at_a_position_and_are_chosen_by_version(store):
    store.add_plan(plan("p"))
    assert store.snapshot("p") is None
    store.add_snapshot(Snapshot("p", 10, 8, "ten"))
    store.add_snapshot(Snapshot("p", 20, 15, "twenty"))
    store.add_snapshot(Snapshot("p", 10, 9, "ten again"))
    assert store.snapshot("p") == Snapshot("p", 20, 15, "twenty")
    assert store.snapshot("p", 14) == Snapshot("p", 10, 9, "ten again")
    assert store.snapshot("p", 15) == Snapshot("p", 20, 15, "twenty")
    assert store.snapshot("p", 8) is None


def test_one_plan_is_read_by_its_id(store):
    store.add_plan(plan("a", 2.0))
    store.add_plan(plan("b"))
    assert store.plan("a") == plan("a", 2.0)
    assert store.plan("c") is None


def test_the_schema_version_is_recorded(where, store):
    expected = sqlite_store.SCHEMA_VERSION if where.path is not None else pg_store.SCHEMA_VERSION
    assert schema_version(where) == expected


def test_a_newer_schema_is_refused_naming_both_versions(where, store):
    store.close()
    set_schema_version(where, 99)
    current = sqlite_store.SCHEMA_VERSION if where.path is not None else pg_store.SCHEMA_VERSION
    with pytest.raises(StoreError, match=f"has schema version 99, newer than this release's {current}"):
        where.open()


def test_reopening_keeps_everything(where, store):
    store.add_plan(plan("p"))
    store.append(event(1))
    store.append(event(2))
    store.add_snapshot(Snapshot("p", 2, 3, "state"))
    store.close()
    again = where.open()
    try:
        assert again.plans() == [plan("p")]
        assert again.log("p") == [event(1), event(2)]
        assert again.snapshot("p") == Snapshot("p", 2, 3, "state")
        assert schema_version(where) in (sqlite_store.SCHEMA_VERSION, pg_store.SCHEMA_VERSION)
    finally:
        again.close()


def test_a_restarted_postgresql_server_fails_one_call_then_the_store_reconnects(tmp_path):
    """On a server of its own: the session's must not restart under the other tests."""
    with postgres_server(binaries_or_skip()) as server:
        store = parse_store_url(server.database("restarted"), tmp_path).open()
        try:
            store.add_plan(plan("p"))
            server.restart()
            with pytest.raises(StoreError, match=r"^cannot use postgresql://postgres@127\.0\.0\.1:\d+/restarted: "):
                store.append(event(1))  # not retried: its answer was lost with the connection
            store.append(event(1))
            assert store.log("p") == [event(1)]
        finally:
            store.close()
