"""Durable plans: an append-only event log with the plan each event produced."""

from scheduler.store.base import EventRecord, Lease, Leases, PlanRecord, PlanStore, Snapshot, StoreError
from scheduler.store.sqlite import SqliteStore, default_data_dir
from scheduler.store.url import StoreUrl, parse_store_url

__all__ = [
    "EventRecord",
    "Lease",
    "Leases",
    "PlanRecord",
    "PlanStore",
    "Snapshot",
    "SqliteStore",
    "StoreError",
    "StoreUrl",
    "default_data_dir",
    "parse_store_url",
]
