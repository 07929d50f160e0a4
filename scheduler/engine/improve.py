"""Background improvement (what Timefold calls daemon mode): between events, CP-SAT keeps
improving each live plan's work not yet started, within a share of the machine's time, and
stops the moment a call arrives. An improvement is published only when it beats the plan
by a threshold, moves nothing inside the frozen horizon and nothing was taken meanwhile;
it is logged as a ``plan_improved`` event (source ``improver``) with the plan it made, so
that replaying the log reaches the same versions, and its receipt's tier is ``background``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass, replace

from scheduler.domain.events import PlanImproved
from scheduler.domain.tiers import TierName
from scheduler.engine.book import PlanBook
from scheduler.engine.history import Version
from scheduler.engine.live import LivePlan
from scheduler.problem import reference_of
from scheduler.repair import Receipt, repair
from scheduler.repair.cp_sat_tier import CpSat
from scheduler.repair.pipeline import Given
from scheduler.solver import StopToken
from scheduler.store import StoreError

_LOG = logging.getLogger(__name__)
SOURCE = "improver"
NICE = 10
"""The improver's thread runs at this OS niceness, and so do the CP-SAT threads it starts
(Linux threads inherit it): an event's solve gets the cores first while a pass stops."""


@dataclass(frozen=True)
class Improvement:
    trial: LivePlan
    """The plan improved (a fork with the ``plan_improved`` event taken)."""
    event: PlanImproved
    receipt: Receipt


def improvement(live: LivePlan, seconds: float, min_gain: float, stop: StopToken | None = None) -> Improvement | None:
    """One pass of CP-SAT windows over everything ``live`` has not started, for ``seconds``
    (deterministic time with a deterministic policy), or None when it gains less than
    ``min_gain`` (a fraction of the policy's objective) or moves work planned inside the
    frozen horizon (as a repair, it may bring work into it). ``live`` does not change."""
    began = time.perf_counter()
    problem = live.problem()
    current = live.timetable(problem)
    policy = live.policy.model_copy(update={"budget_ms": max(10, int(seconds * 1000)), "mode": "grow"})
    free = {i for i in range(problem.num_ops) if problem.fixed(i) is None}
    event_id = f"improved-{live.version}"
    assert live.kpis is not None
    outcome = repair(problem, reference_of(problem, live.plan), live.kpis, policy, event_id, free, began, stop,
                     live.seed, tiers=(Given(current), CpSat()))  # fmt: skip
    before, after = live.kpis.objective, outcome.report.kpis.objective
    if outcome.receipt.tier != TierName.CP_SAT or not outcome.report.valid or before - after < min_gain * before:
        return None
    horizon, plan = live.now + live.policy.frozen_horizon, outcome.plan
    if any(current.start[i] < horizon and (plan.start[i], plan.machine[i]) != (current.start[i], current.machine[i])
           for i in free):  # fmt: skip
        return None  # the frozen state pins these; a plan that moved one is a bug, never published
    event = PlanImproved(event_id=event_id, source=SOURCE, time=live.now, based_on=live.version,
                         objective_before=before, objective_after=after)  # fmt: skip
    trial = live.fork()
    trial.replay(event, {problem.op_ids[i]: (problem.machine_ids[plan.machine[i]], plan.start[i], plan.end[i])
                         for i in range(problem.num_ops)})  # fmt: skip
    reason = f"background improvement: objective {before} -> {after}"
    receipt = replace(outcome.receipt, tier=TierName.BACKGROUND, reason=reason).stamped(began)
    return Improvement(trial, event, receipt)


class Improver:
    """A thread that improves a book's plans in turn once the book has been idle for
    ``idle_s``: passes of ``slice_s`` seconds, each followed by a pause so that passes take
    ``share`` of the time. A pass that finds nothing makes the plan's next one twice as long
    (a larger search from the same plan), up to ``max_slice_s``; then the plan is left alone
    until it changes."""

    def __init__(
        self,
        book: PlanBook,
        share: float,
        min_gain: float = 0.005,
        idle_s: float = 1.0,
        slice_s: float = 1.0,
        max_slice_s: float = 16.0,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError(f"share must lie in (0, 1], not {share}")
        self.book, self.share, self.min_gain, self.idle_s = book, share, min_gain, idle_s
        self.slice_s, self.max_slice_s = slice_s, max_slice_s
        self.passes = self.preempted = self.published = 0
        """Passes run, those a call stopped, and versions published."""
        self.last: Version | None = None
        """The latest version published."""
        self._turn = 0
        self._slices: dict[str, tuple[int, float]] = {}
        """Plan -> (the log position, the length of its next pass there); past the longest: settled."""
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="improver", daemon=True)

    def start(self) -> Improver:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop after the pass in flight (a call stops that at once anyway)."""
        self._closed.set()
        self._thread.join()

    def _run(self) -> None:
        with contextlib.suppress(AttributeError, OSError):  # per thread on Linux; elsewhere not at all
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
        while not self._closed.is_set():
            wait = self.idle_s - self.book.activity.idle_s()
            if wait > 0:
                self._closed.wait(wait)
                continue
            began = time.perf_counter()
            worked = self.step()
            spent = time.perf_counter() - began
            self._closed.wait(spent * (1 - self.share) / self.share if worked else self.idle_s)

    def step(self) -> bool:
        """One pass on the next plan (in turn) that may still improve; False when none may."""
        ids = self.book.plan_ids()
        self._turn += 1
        for plan_id in ids[self._turn % max(1, len(ids)) :] + ids[: self._turn % max(1, len(ids))]:
            forked = self.book.fork(plan_id)
            if forked is None:
                continue
            at, seconds = self._slices.get(plan_id, (forked[1], self.slice_s))
            seconds = seconds if at == forked[1] else self.slice_s
            if seconds > self.max_slice_s:
                continue
            self._pass(plan_id, *forked, seconds)
            return True
        return False

    def _pass(self, plan_id: str, live: LivePlan, position: int, seconds: float) -> None:
        with self.book.activity.background() as stop:
            try:
                found = improvement(live, seconds, self.min_gain, stop)
            except Exception:  # a bug here must not end the thread nor touch the plan
                _LOG.exception("plan %r: background improvement failed", plan_id)
                found = None
            preempted = stop.stopped
        self.passes += 1
        self.preempted += preempted
        if found is None:
            self._slices[plan_id] = (position, seconds if preempted else 2 * seconds)
            return
        try:
            version = self.book.publish(plan_id, position, found.trial, found.event, found.receipt)
        except StoreError as error:  # the store is down: the plan stays as it was, the thread goes on
            _LOG.warning("plan %r: improvement not published: %s", plan_id, error)
            return
        if version is not None:
            _LOG.info("plan %r: version %d published in the background (%s)", plan_id, version.version,
                      found.receipt.reason)  # fmt: skip
            self.published += 1
            self.last = version
