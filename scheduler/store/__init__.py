"""Durable plans: an append-only event log with the plan each event produced."""

from scheduler.store.base import EventRecord, PlanRecord, PlanStore, Snapshot, StoreError
from scheduler.store.sqlite import SqliteStore, default_data_dir

__all__ = ["EventRecord", "PlanRecord", "PlanStore", "Snapshot", "SqliteStore", "StoreError", "default_data_dir"]
