"""SQLite store: WAL journal, synchronous=FULL, so a record is on disk before append returns.

Schema versions (``PRAGMA user_version``): 1 kept every version's whole plan in its event
record; 2 adds ``plan_format`` (records written since keep only the change) and snapshots.
Opening a version-1 store migrates it in place; its old records stay readable as they are.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from scheduler.store.base import StoreError
from scheduler.store.sql import SqlStore

SCHEMA_VERSION = 2
_V1 = """
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
_MIGRATIONS = {
    2: """
ALTER TABLE events ADD COLUMN plan_format INTEGER NOT NULL DEFAULT 1;
CREATE TABLE snapshots (
    plan_id TEXT NOT NULL REFERENCES plans(plan_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (plan_id, position)
);
""",
}


def default_data_dir() -> Path:
    """$LEAN_SCHEDULER_DATA_DIR, else $XDG_DATA_HOME/lean-scheduler, else ~/.local/share/lean-scheduler."""
    if explicit := os.environ.get("LEAN_SCHEDULER_DATA_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "lean-scheduler"


class SqliteStore(SqlStore):
    """One connection shared by the server's threads behind a lock (SQLite serialises
    writers anyway; appends are a few hundred microseconds plus the fsync)."""

    FILE = "lean-scheduler.sqlite3"

    def __init__(self, data_dir: Path, name: str = FILE) -> None:
        """Open (or create) the store ``data_dir / name`` and check it: StoreError, naming the
        file and why, when it is not a readable SQLite database, fails ``PRAGMA quick_check``,
        or is read-only."""
        self.path = data_dir / name
        self._lock = threading.Lock()
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"cannot open {self.path}: {error}") from None
        try:
            self._check()
        except BaseException:
            self._db.close()
            raise

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
            self._migrate()
        except sqlite3.Error as error:
            raise StoreError(f"cannot write {self.path}: {error}") from None

    def _migrate(self) -> None:
        """Bring the schema to SCHEMA_VERSION, one step a transaction."""
        found = self._db.execute("PRAGMA user_version").fetchone()[0]
        if found > SCHEMA_VERSION:
            raise StoreError(f"{self.path} has schema version {found}, newer than this release's {SCHEMA_VERSION}")
        if found == 0:  # a new file, or one written before schema versions were numbered (1)
            self._db.executescript(_V1)
            found = 1
        for version in range(found + 1, SCHEMA_VERSION + 1):
            self._db.executescript(f"BEGIN; {_MIGRATIONS[version]} PRAGMA user_version = {version}; COMMIT;")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _read(self, sql: str, values: tuple[object, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, values).fetchall()

    def _write(self, sql: str, values: tuple[object, ...]) -> int:
        with self._lock:
            try:
                return self._db.execute(sql, values).rowcount
            except sqlite3.IntegrityError as error:
                raise StoreError(str(error)) from None
            except sqlite3.Error as error:  # a full disk, a file made read-only under us
                raise StoreError(f"cannot write {self.path}: {error}") from None
