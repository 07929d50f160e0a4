"""Replicas: servers that share one store split its plans between them through leases kept
in the store. A replica serves a plan only while it holds the plan's lease: it loads, at
start, the plans whose leases are still its own (a restart under the same replica id) and
takes any other plan over on the first call for it, once the plan's lease is free or has
expired (claim, then rebuild from the store's snapshot and log, without solving). A call for
a plan another replica holds is refused with ``PlanElsewhere``, naming that replica.

A thread renews the held leases every third of the lease; a plan whose lease could not be
renewed is dropped at once, and a plan whose renewal is overdue (its local deadline, counted
from before the renewal was sent, has passed) is not served: a replica stops serving a plan
before its lease can expire in the store. Should a stale replica still write (a pause longer
than the lease between its check and its write), the event log's key (plan, position)
refuses one of the two writes: that event is refused, no acknowledged event is lost, and the
refused replica reloads the plan on its next call.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterable

from scheduler.domain import InputError, Scenario
from scheduler.domain.events import Event
from scheduler.engine.answers import PlanDamaged, PlanElsewhere, PlanNotFound
from scheduler.engine.book import PlanBook
from scheduler.engine.entry import Entry
from scheduler.engine.history import Unreadable, Version
from scheduler.engine.live import Foresight, LivePlan
from scheduler.repair import Receipt
from scheduler.store import Lease, Leases, PlanRecord, PlanStore, StoreError

_LOG = logging.getLogger(__name__)


class ReplicaBook(PlanBook):
    """The plans this replica holds the leases of. ``me`` names the replica (its id and the
    address clients reach it at); ``lease_s`` is how long a lease lasts unrenewed."""

    def __init__(
        self, store: PlanStore, leases: Leases, me: Lease, lease_s: float, predict: Foresight | None = None
    ) -> None:
        self.leases, self.me, self.lease_s = leases, me, lease_s
        self._held: dict[str, float] = {}
        """Plan id -> the ``time.monotonic()`` until which this replica may serve it."""
        self._held_lock = threading.Lock()
        self._adopting = threading.Lock()
        self._stop = threading.Event()
        self._keeper = threading.Thread(target=self._keep, name="leases", daemon=True)
        try:
            super().__init__(store, predict)
        except BaseException:
            self._stop.set()
            raise

    def _startup_plans(self) -> list[PlanRecord]:
        began = time.monotonic()
        mine = self.leases.renew(self.me.owner, self.me.addr, self.lease_s)
        self._hold(mine, began)
        self._keeper.start()  # before the rebuilds: a long start must not let the leases lapse
        records = [self.store.plan(plan_id) for plan_id in sorted(mine)]
        _LOG.info("replica %r at %s: %d plan(s) still leased to it", self.me.owner, self.me.addr, len(mine))
        return [r for r in records if r is not None]

    def close(self) -> None:
        """Stop renewing and give the leases up, so that others take the plans at once."""
        self._stop.set()
        self._keeper.join(timeout=10)
        try:
            self.leases.release(self.me.owner)
        except StoreError as error:
            _LOG.warning("leases not released (they expire in %.1f s): %s", self.lease_s, error)
        super().close()

    def serves(self, plan_id: str) -> bool:
        """Whether a call for the plan is answered here without a takeover first."""
        with self._lock:
            loaded = plan_id in self._plans or plan_id in self._damaged
        return loaded and self._holds(plan_id)

    def owned(self) -> list[str]:
        """The plans served here now."""
        return [plan_id for plan_id in self.plan_ids() if self._holds(plan_id)]

    # ------------------------------------------------------------------ what changes

    def create(self, scenario: Scenario, plan_id: str = "", deadline: float | None = None) -> Version:
        """As ``PlanBook.create``, the plan id unique across the replicas; the new plan's
        lease is this replica's."""
        if plan_id and self.store.plan(plan_id) is not None:
            raise InputError.single("plan_id", f"plan {plan_id!r} already exists")
        began = time.monotonic()
        try:
            version = super().create(scenario, plan_id, deadline)
        except StoreError:
            if plan_id and self.store.plan(plan_id) is not None:  # made by another replica meanwhile
                raise InputError.single("plan_id", f"plan {plan_id!r} already exists") from None
            raise
        lease = self.leases.claim(version.plan_id, self.me.owner, self.me.addr, self.lease_s)
        if lease is not None and lease.owner == self.me.owner:
            self._hold([version.plan_id], began)
        else:  # another replica's first call took it between the insert and the claim
            self._forget(version.plan_id)
        return version

    def fork(self, plan_id: str) -> tuple[LivePlan, int] | None:
        return super().fork(plan_id) if self._holds(plan_id) else None

    def publish(self, plan_id: str, position: int, trial: LivePlan, event: Event, receipt: Receipt) -> Version | None:
        """As ``PlanBook.publish``; None too when the plan is not held here (a write the log
        refuses raises StoreError, which the improver logs and survives)."""
        return super().publish(plan_id, position, trial, event, receipt) if self._holds(plan_id) else None

    def _commit(self, entry: Entry, event: Event, trial: LivePlan, version: int, receipt: Receipt) -> None:
        try:
            super()._commit(entry, event, trial, version, receipt)
        except StoreError:
            # the log moved on without us (another replica wrote it): reload on the next call
            self._forget(entry.plan_id)
            raise

    # ------------------------------------------------------------------ ownership

    def _entry(self, plan_id: str) -> Entry:
        if self._holds(plan_id):
            with contextlib.suppress(PlanNotFound):
                return super()._entry(plan_id)
        return self._adopt(plan_id)

    def _adopt(self, plan_id: str) -> Entry:
        """Take a plan over: claim its lease (PlanElsewhere when another replica holds it),
        then rebuild it from the store."""
        with self._adopting:
            if self._holds(plan_id):  # another call took it over meanwhile
                with contextlib.suppress(PlanNotFound):
                    return super()._entry(plan_id)
            began = time.monotonic()
            lease = self.leases.claim(plan_id, self.me.owner, self.me.addr, self.lease_s)
            self._forget(plan_id)  # a copy from an earlier lease may be behind the log
            if lease is None or (record := self.store.plan(plan_id)) is None:
                raise PlanNotFound(plan_id)
            if lease.owner != self.me.owner:
                raise PlanElsewhere(plan_id, lease.owner, lease.addr)
            try:
                entry = self._rebuild(record)
            except Unreadable as error:
                with self._lock:
                    self._damaged[plan_id] = (record, error.reason)
                raise PlanDamaged(plan_id, error.reason) from None
            self._hold([plan_id], began)  # first: a renewal meanwhile would drop a plan not held
            with self._lock:
                self._plans[plan_id] = entry
            _LOG.info("plan %r taken over at version %d", plan_id, entry.latest.version)
            return entry

    def _forget(self, plan_id: str) -> None:
        """Stop serving a plan here; its watchers' streams end (they watch again)."""
        with self._held_lock:
            self._held.pop(plan_id, None)
        with self._lock:
            self._damaged.pop(plan_id, None)
            entry = self._plans.pop(plan_id, None)
            if entry is None:
                return
            entry.deleted = True
            listeners, entry.listeners = entry.listeners, []
        for listener in listeners:
            listener(None)

    def _hold(self, plan_ids: Iterable[str], since: float) -> None:
        with self._held_lock:
            for plan_id in plan_ids:
                self._held[plan_id] = since + self.lease_s

    def _holds(self, plan_id: str) -> bool:
        with self._held_lock:
            return self._held.get(plan_id, 0.0) > time.monotonic()

    def _keep(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            self.renew()

    def renew(self) -> None:
        """Extend the held leases; drop the plans whose lease is lost or overdue."""
        with self._held_lock:
            held = list(self._held)
        began = time.monotonic()
        try:
            kept = set(self.leases.renew(self.me.owner, self.me.addr, self.lease_s, held)) if held else set()
        except StoreError as error:  # the local deadlines stop the serving if this goes on
            _LOG.warning("leases not renewed: %s", error)
            return
        self._hold(kept, began)
        for plan_id in [p for p in held if p not in kept] + [p for p in self.plan_ids() if not self._holds(p)]:
            _LOG.warning("plan %r: lease lost, no longer served here", plan_id)
            self._forget(plan_id)
