"""Two replica books on one real PostgreSQL database: a plan is served by its lease's
holder only; a replica whose lease was taken over stops serving the plan, and a stale
holder's late write is refused by the event log's key, so nothing the taker acknowledged is
lost and the stale replica reloads (or is told the owner) on its next call."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from scheduler.domain.events import DowntimeStarted
from scheduler.engine import PlanElsewhere
from scheduler.engine.replicas import ReplicaBook
from scheduler.store import Lease, StoreError, parse_store_url
from scheduler.store.postgres import PostgresStore
from tests.postgres import connect
from tests.service.harness import scenario

LEASE_S = 60.0
"""Long: the renewal threads stay out of the way; expiry is forced in the database."""
_DATABASES = itertools.count(1)


def downtime(k: int) -> DowntimeStarted:
    return DowntimeStarted(event_id=f"e{k}", time=1 + 2 * k, machine="WELD-1", downtime_id=f"d{k}", expected_duration=3)


@pytest.fixture
def url(postgres) -> str:
    return str(postgres.database(f"replicabooks{next(_DATABASES)}"))


@pytest.fixture
def books(url, tmp_path) -> Iterator[tuple[ReplicaBook, ReplicaBook]]:
    opened = []
    for name in ("A", "B"):
        store = parse_store_url(url, tmp_path).open()
        assert isinstance(store, PostgresStore)
        opened.append(ReplicaBook(store, store, Lease(name, f"{name.lower()}:50051"), LEASE_S))
    yield opened[0], opened[1]
    for book in opened:
        book.close()


def expire(url: str, plan_id: str) -> None:
    """The lease runs out in the database (as if its holder had paused for longer)."""
    with connect(url, autocommit=True) as db:
        db.execute("UPDATE plan_leases SET expires_at = now() - interval '1 second' WHERE plan_id = %s", (plan_id,))


def test_a_plan_is_served_by_its_holder_and_taken_over_only_once_expired(books, url):
    a, b = books
    a.create(scenario(), "line")
    served = a.report("line", [downtime(0)]).latest
    with pytest.raises(PlanElsewhere, match="replica 'A' at a:50051") as refused:
        b.get("line")
    assert (refused.value.owner, refused.value.addr) == ("A", "a:50051")
    assert a.serves("line") and not b.serves("line")
    expire(url, "line")
    taken = b.get("line")  # rebuilt from the store
    assert (taken.version, taken.plan) == (served.version, served.plan)
    a.renew()  # the lease is B's now: A stops serving the plan
    assert a.owned() == [] and b.owned() == ["line"]
    assert b.serves("line") and not a.serves("line")
    with pytest.raises(PlanElsewhere, match="replica 'B' at b:50051"):
        a.get("line")
    assert b.report("line", [downtime(1)]).acks[0].version > served.version


def test_a_stale_holders_late_write_is_refused_and_the_takers_log_kept(books, url):
    a, b = books
    a.create(scenario(), "line")
    expire(url, "line")  # A paused past its lease, still believing it holds the plan
    taken = b.report("line", [downtime(0)]).acks[0]
    with pytest.raises(StoreError):
        a.report("line", [downtime(1)])  # the same log position as B's event
    assert [r.event_id for r in b.store.log("line")] == ["e0"]
    with pytest.raises(PlanElsewhere, match="replica 'B'"):
        a.get("line")  # A dropped its copy, and the lease is B's
    assert b.get("line").version == taken.version


def test_a_replica_restarted_under_its_id_gets_its_plans_back_at_once(books, url, tmp_path):
    a, _ = books
    a.create(scenario(), "line")
    latest = a.report("line", [downtime(0)]).latest
    store = parse_store_url(url, tmp_path).open()
    assert isinstance(store, PostgresStore)
    again = ReplicaBook(store, store, Lease("A", "a:50052"), LEASE_S)  # no wait for the lease
    try:
        assert again.owned() == ["line"] and again.get("line").plan == latest.plan
    finally:
        again.close()
