"""``SweepScenarios``' work, in the servicer's pool: a sweep from where a live plan stands
(its plan and the facts reported so far), its runs on a local process pool. The plan is
read once, between the calls on it, and never written."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scheduler.domain import InputError
from scheduler.domain.documents import DocumentLimits
from scheduler.engine import PlanBook
from scheduler.service.convert import pb
from scheduler.service.convert_sweep import sweep_from
from scheduler.sweep.executors import LocalPool
from scheduler.sweep.grid import own
from scheduler.sweep.results import document
from scheduler.sweep.run import Origin
from scheduler.sweep.search import Progress, RunCache, run_sweep
from scheduler.sweep.spec import SweepSpec


def jobs_of(jobs: int) -> int:
    """Worker processes: 0 is one; more than the server's cores is refused."""
    cores = os.cpu_count() or 1
    if not 0 <= jobs <= cores:
        raise InputError.single("jobs", f"{jobs} worker processes: 0 (one) to {cores}, the server's cores")
    return jobs or 1


@dataclass(frozen=True)
class Sweep:
    plan_id: str
    origin: Origin
    spec: SweepSpec
    jobs: int

    @classmethod
    def prepare(cls, book: PlanBook, request: pb.SweepScenariosRequest, limits: DocumentLimits) -> Sweep:
        """The plan as it stands and the request's sweep, checked against the plan's scenario."""
        jobs = jobs_of(request.jobs)
        origin = Origin.at(book.current(request.plan_id))
        return cls(request.plan_id, origin, sweep_from(request, origin.live.scenario, limits), jobs)

    def run(self, stop: threading.Event, tell: Callable[[Progress | None], None]) -> dict[str, Any]:
        """results.json's content, with where the runs started; ``tell`` gets the progress as
        runs finish and None at the end, whatever it is; SweepStopped once ``stop`` is set."""
        live = self.origin.live
        try:
            summaries = run_sweep(self.origin, self.spec, own(live.scenario, self.spec.axes),
                                  LocalPool(self.jobs, stop), RunCache(None, False), tell)  # fmt: skip
        finally:
            tell(None)
        results = document(live.scenario.name, self.spec, summaries)
        return {**results, "origin": {"plan_id": self.plan_id, "version": live.version, "now": live.now}}
