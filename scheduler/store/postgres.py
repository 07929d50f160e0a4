"""PostgreSQL store (psycopg 3): every write is its own autocommitted statement, so a record
is committed (and, with the server's default ``synchronous_commit``, flushed) before
``append`` returns.

Schema versions live in ``lean_scheduler_schema``; version 1 is the SQLite store's version 2
(plans, events with ``plan_format``, snapshots); version 2 adds ``plan_leases``, the plan
leases of servers that share the database (replicas). Each migration runs in its own transaction
under an advisory lock, so two servers starting on one database migrate it once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import psycopg

from scheduler.store.base import Lease, StoreError
from scheduler.store.sql import SqlStore

SCHEMA_VERSION = 2
_MIGRATIONS = {
    1: """
CREATE TABLE plans (
    plan_id TEXT PRIMARY KEY,
    created DOUBLE PRECISION NOT NULL,
    scenario TEXT NOT NULL
);
CREATE TABLE events (
    plan_id TEXT NOT NULL REFERENCES plans(plan_id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    source TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event TEXT NOT NULL,
    version BIGINT NOT NULL,
    plan TEXT,
    receipt TEXT NOT NULL,
    plan_format INTEGER NOT NULL,
    PRIMARY KEY (plan_id, position),
    UNIQUE (plan_id, source, event_id)
);
CREATE TABLE snapshots (
    plan_id TEXT NOT NULL REFERENCES plans(plan_id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    version BIGINT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (plan_id, position)
);
""",
    2: """
CREATE TABLE plan_leases (
    plan_id TEXT PRIMARY KEY REFERENCES plans(plan_id) ON DELETE CASCADE,
    owner TEXT NOT NULL,
    owner_addr TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX plan_leases_owner ON plan_leases (owner);
""",
}
_MIGRATION_LOCK = 0x1EA5C4ED
"""The advisory lock key migrations take (any constant; only this program uses it)."""


def _line(error: BaseException) -> str:
    """libpq's messages span lines; a refusal is one."""
    return " ".join(str(error).split())


class PostgresStore(SqlStore):
    """One connection shared by the server's threads behind a lock, as the SQLite store does
    (a write is one round trip plus the commit's flush; a pool would buy little)."""

    # COLLATE "C": ids compare by bytes, as in SQLite, whatever the database's locale
    _PLAN_ORDER = 'created, plan_id COLLATE "C"'
    _SNAPSHOT_UPSERT = (
        "INSERT INTO snapshots VALUES (?, ?, ?, ?) "
        "ON CONFLICT (plan_id, position) DO UPDATE SET version = EXCLUDED.version, state = EXCLUDED.state"
    )

    def __init__(self, url: str, shown: str) -> None:
        """Connect and bring the schema up to date: StoreError, naming ``shown`` (the URL
        without its password) and why, when the server cannot be reached or the schema is
        newer than this release's."""
        self.url, self.shown = url, shown
        self._lock = threading.Lock()
        self._db = self._connect()
        try:
            self._migrate()
        except psycopg.Error as error:
            self._db.close()
            raise StoreError(f"cannot prepare {shown}: {_line(error)}") from None
        except BaseException:
            self._db.close()
            raise

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.Error as error:
            raise StoreError(f"cannot connect to {self.shown}: {_line(error)}") from None

    def _migrate(self) -> None:
        """Bring the schema to SCHEMA_VERSION, one step a transaction."""
        while True:
            with self._db.transaction():
                self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                self._db.execute("CREATE TABLE IF NOT EXISTS lean_scheduler_schema (version INTEGER NOT NULL)")
                row = self._db.execute("SELECT max(version) FROM lean_scheduler_schema").fetchone()
                found = row[0] if row and row[0] is not None else 0
                if found > SCHEMA_VERSION:
                    raise StoreError(
                        f"{self.shown} has schema version {found}, newer than this release's {SCHEMA_VERSION}"
                    )
                if found == SCHEMA_VERSION:
                    return
                self._db.execute(_MIGRATIONS[found + 1])
                self._db.execute("DELETE FROM lean_scheduler_schema")
                self._db.execute("INSERT INTO lean_scheduler_schema VALUES (%s)", (found + 1,))

    # ------------------------------------------------------------------ leases (store.base.Leases)

    def claim(self, plan_id: str, owner: str, addr: str, seconds: float) -> Lease | None:
        # one statement: taking a free or expired lease cannot race another server's
        taken = self._read(
            "INSERT INTO plan_leases SELECT plan_id, ?, ?, now() + make_interval(secs => ?) FROM plans "
            "WHERE plan_id = ? ON CONFLICT (plan_id) DO UPDATE SET owner = EXCLUDED.owner, "
            "owner_addr = EXCLUDED.owner_addr, expires_at = EXCLUDED.expires_at "
            "WHERE plan_leases.owner = EXCLUDED.owner OR plan_leases.expires_at < now() RETURNING owner, owner_addr",
            (owner, addr, seconds, plan_id),
        )
        if not taken:  # held by another server (or no such plan)
            taken = self._read("SELECT owner, owner_addr FROM plan_leases WHERE plan_id = ?", (plan_id,))
        return Lease(*taken[0]) if taken else None

    def renew(self, owner: str, addr: str, seconds: float, plan_ids: Sequence[str] | None = None) -> list[str]:
        which = "" if plan_ids is None else " AND plan_id = ANY(?)"
        values: tuple[object, ...] = (addr, seconds, owner) + (() if plan_ids is None else (list(plan_ids),))
        rows = self._read(
            "UPDATE plan_leases SET owner_addr = ?, expires_at = now() + make_interval(secs => ?) "
            f"WHERE owner = ?{which} RETURNING plan_id",
            values,
        )
        return [row[0] for row in rows]

    def release(self, owner: str) -> None:
        self._write("DELETE FROM plan_leases WHERE owner = ?", (owner,))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _read(self, sql: str, values: tuple[object, ...]) -> list[tuple[Any, ...]]:
        return self._run(sql, values)[1]

    def _write(self, sql: str, values: tuple[object, ...]) -> int:
        return self._run(sql, values)[0]

    def _run(self, sql: str, values: tuple[object, ...]) -> tuple[int, list[tuple[Any, ...]]]:
        """One autocommitted statement: the rows it changed, the rows it read. A broken
        connection (a restarted database server) fails that statement and is replaced for the
        next one; it is not retried, since a lost answer can hide a committed write."""
        with self._lock:
            if self._db.broken:
                self._db = self._connect()
            try:
                cursor = self._db.execute(sql.replace("?", "%s"), values)  # no statement has a literal ? or %
                return cursor.rowcount, cursor.fetchall() if cursor.description else []
            except psycopg.IntegrityError as error:
                raise StoreError(_line(error)) from None
            except psycopg.Error as error:
                raise StoreError(f"cannot use {self.shown}: {_line(error)}") from None
