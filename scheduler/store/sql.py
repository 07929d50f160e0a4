"""The statements both SQL stores run, so that SQLite and PostgreSQL keep one meaning."""

from __future__ import annotations

from typing import Any

from scheduler.store.base import EventRecord, PlanRecord, Snapshot

COLUMNS = "plan_id, position, source, event_id, event, version, plan, receipt, plan_format"
"""The events table's columns, in EventRecord's order."""


class SqlStore:
    """``PlanStore`` over two primitives a subclass gives: ``_read`` (the rows) and
    ``_write`` (the rows changed; StoreError on a refusal). Statements are written with ``?``
    placeholders; a driver that wants others rewrites them there."""

    _PLAN_ORDER = "created, plan_id"
    _SNAPSHOT_UPSERT = "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?)"

    def _read(self, sql: str, values: tuple[object, ...]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _write(self, sql: str, values: tuple[object, ...]) -> int:
        raise NotImplementedError

    def add_plan(self, plan: PlanRecord) -> None:
        self._write("INSERT INTO plans VALUES (?, ?, ?)", (plan.plan_id, plan.created, plan.scenario))

    def delete_plan(self, plan_id: str) -> bool:
        return self._write("DELETE FROM plans WHERE plan_id = ?", (plan_id,)) > 0

    def plans(self) -> list[PlanRecord]:
        rows = self._read(f"SELECT plan_id, created, scenario FROM plans ORDER BY {self._PLAN_ORDER}", ())
        return [PlanRecord(*row) for row in rows]

    def plan(self, plan_id: str) -> PlanRecord | None:
        rows = self._read("SELECT plan_id, created, scenario FROM plans WHERE plan_id = ?", (plan_id,))
        return PlanRecord(*rows[0]) if rows else None

    def append(self, record: EventRecord) -> None:
        r = record
        self._write(
            f"INSERT INTO events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (r.plan_id, r.position, r.source, r.event_id, r.event, r.version, r.plan, r.receipt, r.plan_format),
        )

    def log(self, plan_id: str, after: int = 0) -> list[EventRecord]:
        rows = self._read(
            f"SELECT {COLUMNS} FROM events WHERE plan_id = ? AND position > ? ORDER BY position", (plan_id, after)
        )
        return [EventRecord(*row) for row in rows]

    def find(self, plan_id: str, source: str, event_id: str) -> EventRecord | None:
        rows = self._read(
            f"SELECT {COLUMNS} FROM events WHERE plan_id = ? AND source = ? AND event_id = ?",
            (plan_id, source, event_id),
        )
        return EventRecord(*rows[0]) if rows else None

    def add_snapshot(self, snapshot: Snapshot) -> None:
        s = snapshot
        self._write(self._SNAPSHOT_UPSERT, (s.plan_id, s.position, s.version, s.state))

    def snapshot(self, plan_id: str, version: int | None = None) -> Snapshot | None:
        rows = self._read(
            "SELECT plan_id, position, version, state FROM snapshots WHERE plan_id = ? AND version <= ? "
            "ORDER BY position DESC LIMIT 1",
            (plan_id, version if version is not None else 2**62),
        )
        return Snapshot(*rows[0]) if rows else None
