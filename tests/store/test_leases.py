"""Plan leases in a real PostgreSQL database (``store.base.Leases``), timed by its clock:
one holder at a time, taken over only once expired, renewed only by their holder, released
at once, gone with their plan; and a database of schema version 1 gains the lease table."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest

from scheduler.store import Lease, PlanRecord, StoreError, parse_store_url
from scheduler.store import postgres as pg_store
from scheduler.store.postgres import PostgresStore
from tests.postgres import connect

_DATABASES = itertools.count(1)
A, B = Lease("A", "10.0.0.1:50051"), Lease("B", "10.0.0.2:50051")


@pytest.fixture
def url(postgres) -> str:
    return str(postgres.database(f"leases{next(_DATABASES)}"))


@pytest.fixture
def store(url, tmp_path) -> Iterator[PostgresStore]:
    opened = parse_store_url(url, tmp_path).open()
    assert isinstance(opened, PostgresStore)
    for plan_id in ("p", "q"):
        opened.add_plan(PlanRecord(plan_id, 1.0, "{}"))
    yield opened
    opened.close()


def test_a_lease_has_one_holder_until_it_expires(store):
    assert store.claim("p", A.owner, A.addr, 0.5) == A
    assert store.claim("p", B.owner, B.addr, 60) == A  # held: B is told who holds it
    assert store.claim("p", A.owner, A.addr, 0.5) == A  # the holder extends it
    time.sleep(0.7)
    assert store.claim("p", B.owner, B.addr, 60) == B  # expired: taken over
    assert store.claim("p", A.owner, A.addr, 60) == B
    assert store.claim("none", A.owner, A.addr, 60) is None


def test_only_the_holder_renews_and_a_release_frees_at_once(store):
    store.claim("p", A.owner, A.addr, 60)
    store.claim("q", B.owner, B.addr, 60)
    assert store.renew(A.owner, "10.0.0.9:1", 60) == ["p"]
    assert store.renew(A.owner, A.addr, 60, ["p", "q"]) == ["p"]
    assert store.renew(A.owner, A.addr, 60, ["q"]) == []
    assert store.claim("p", B.owner, B.addr, 60) == A  # A's address as last renewed
    store.release(A.owner)
    assert store.renew(A.owner, A.addr, 60) == []
    assert store.claim("p", B.owner, B.addr, 60) == B


def test_a_lease_goes_with_its_plan(store):
    store.claim("p", A.owner, A.addr, 60)
    assert store.delete_plan("p")
    store.add_plan(PlanRecord("p", 2.0, "{}"))
    assert store.claim("p", B.owner, B.addr, 60) == B


def test_a_version_1_database_gains_the_lease_table(url, tmp_path):
    with connect(url, autocommit=True) as db:
        db.execute(pg_store._MIGRATIONS[1])
        db.execute("CREATE TABLE lean_scheduler_schema (version INTEGER NOT NULL)")
        db.execute("INSERT INTO lean_scheduler_schema VALUES (1)")
        db.execute("INSERT INTO plans VALUES ('p', 1.0, '{}')")
    store = parse_store_url(url, tmp_path).open()
    try:
        assert isinstance(store, PostgresStore)
        assert store.claim("p", A.owner, A.addr, 60) == A
    finally:
        store.close()
    with connect(url) as db:
        assert db.execute("SELECT version FROM lean_scheduler_schema").fetchone() == (pg_store.SCHEMA_VERSION,)


def test_a_lease_call_on_a_lost_connection_is_a_store_error_naming_the_database(store, url):
    store.close()
    with pytest.raises(StoreError, match=f"cannot use {url}"):
        store.claim("p", A.owner, A.addr, 60)
