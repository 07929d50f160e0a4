"""SQLite store: WAL journal, synchronous=FULL, so a record is on disk before append returns."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

from scheduler.store.base import EventRecord, PlanRecord, StoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS plans (
    plan_id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    scenario TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    plan_id TEXT NOT NULL REFERENCES plans(plan_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    source TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event TEXT NOT NULL,
    version INTEGER NOT NULL,
    plan TEXT,
    receipt TEXT NOT NULL,
    PRIMARY KEY (plan_id, position),
    UNIQUE (plan_id, source, event_id)
);
"""


def default_data_dir() -> Path:
    """$LEAN_SCHEDULER_DATA_DIR, else $XDG_DATA_HOME/lean-scheduler, else ~/.local/share/lean-scheduler."""
    if explicit := os.environ.get("LEAN_SCHEDULER_DATA_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "lean-scheduler"


class SqliteStore:
    """One connection shared by the server's threads behind a lock (SQLite serialises
    writers anyway; appends are a few hundred microseconds plus the fsync)."""

    FILE = "lean-scheduler.sqlite3"

    def __init__(self, data_dir: Path) -> None:
        """Open (or create) the store and check it: StoreError, naming the file and why, when
        it is not a readable SQLite database, fails ``PRAGMA quick_check``, or is read-only."""
        self.path = data_dir / self.FILE
        self._lock = threading.Lock()
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"cannot open {self.path}: {error}") from None
        began = time.perf_counter()
        try:
            self._check()
        except BaseException:
            self._db.close()
            raise
        self.check_ms = (time.perf_counter() - began) * 1000
        """How long opening and checking took."""

    def _check(self) -> None:
        try:
            verdict = [row[0] for row in self._db.execute("PRAGMA quick_check").fetchall()]
        except sqlite3.OperationalError as error:  # permissions, a read-only folder for the WAL's files
            raise StoreError(f"cannot open {self.path}: {error}") from None
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.path} is not a readable SQLite database ({error}); move it aside") from None
        if verdict != ["ok"]:
            raise StoreError(f"{self.path} is damaged (quick_check: {'; '.join(verdict[:3])}); move it aside")
        try:  # WAL commits would still land beside a read-only file, but never be checkpointed into it
            with self.path.open("r+b"):
                pass
        except OSError as error:
            raise StoreError(f"cannot write {self.path}: {error.strerror}") from None
        try:
            self._db.execute("BEGIN IMMEDIATE")  # needs the write lock: fails on a read-only file or folder
            self._db.execute("ROLLBACK")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as error:
            raise StoreError(f"cannot write {self.path}: {error}") from None

    def add_plan(self, plan: PlanRecord) -> None:
        self._write("INSERT INTO plans VALUES (?, ?, ?)", (plan.plan_id, plan.created, plan.scenario))

    def delete_plan(self, plan_id: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM plans WHERE plan_id = ?", (plan_id,)).rowcount > 0

    def plans(self) -> list[PlanRecord]:
        with self._lock:
            rows = self._db.execute("SELECT plan_id, created, scenario FROM plans ORDER BY created, plan_id").fetchall()
        return [PlanRecord(*row) for row in rows]

    def append(self, record: EventRecord) -> None:
        r = record
        self._write(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (r.plan_id, r.position, r.source, r.event_id, r.event, r.version, r.plan, r.receipt),
        )

    def log(self, plan_id: str) -> list[EventRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT plan_id, position, source, event_id, event, version, plan, receipt FROM events "
                "WHERE plan_id = ? ORDER BY position",
                (plan_id,),
            ).fetchall()
        return [EventRecord(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, values: tuple[object, ...]) -> None:
        with self._lock:
            try:
                self._db.execute(sql, values)
            except sqlite3.IntegrityError as error:
                raise StoreError(str(error)) from None
            except sqlite3.Error as error:  # a full disk, a file made read-only under us
                raise StoreError(f"cannot write {self.path}: {error}") from None
