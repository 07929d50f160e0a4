"""Which runs a sweep makes: ``grid`` (every configuration, every replication) or
``halving`` (successive halving: every configuration a few replications, the best 1/eta
on with eta times as many, until the sweep's count). Runs already on disk are reused
(content-addressed by origin, configuration and seed: ``--resume``)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scheduler.sweep.executors import Executor
from scheduler.sweep.grid import Configuration, configurations
from scheduler.sweep.results import Summary, ranked
from scheduler.sweep.run import Kpis, Origin, Task
from scheduler.sweep.spec import SweepSpec


@dataclass(frozen=True)
class Progress:
    runs_done: int
    runs_total: int
    configurations_done: int
    configurations_total: int
    best: str | None
    best_score: float | None


class RunCache:
    """``DIR/runs/KEY.json``, one per finished run, written atomically (a killed sweep leaves
    no half file); read only with ``resume``."""

    def __init__(self, folder: Path | None, resume: bool) -> None:
        self.folder, self.resume = folder, resume
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def get(self, key: str) -> Kpis | None:
        if self.folder is None or not self.resume:
            return None
        try:
            found: Kpis = json.loads((self.folder / f"{key}.json").read_text())["kpis"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return found

    def put(self, key: str, kpis: Kpis, seconds: float) -> None:
        """The run's KPIs, and the seconds it took (for measuring executors; not in results)."""
        if self.folder is None:
            return
        path = self.folder / f"{key}.json"
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"kpis": kpis, "seconds": seconds}, sort_keys=True))
        os.replace(temporary, path)


def run_sweep(origin: Origin, spec: SweepSpec, own: Configuration, executor: Executor, cache: RunCache,
              progress: Callable[[Progress], None] | None = None) -> list[Summary]:  # fmt: skip
    """Every configuration's runs, as the search chose them; the scenario's own configuration
    is always run with the most replications (what the best is compared with)."""
    grid = configurations(spec.axes)
    summaries = {c: Summary(c, own=c == own) for c in grid}
    summaries.setdefault(own, Summary(own, own=True))
    plan = _Plan(origin, spec, cache, list(summaries.values()), progress)
    if spec.search == "grid":
        plan.round(list(summaries.values()), spec.replications, executor)
        return list(summaries.values())
    alive, replications = list(summaries.values()), min(spec.halving.min_replications, spec.replications)
    while True:
        plan.round(alive, replications, executor)
        if replications >= spec.replications or len(alive) <= 1:
            return list(summaries.values())
        keep = max(1, math.ceil(len(alive) / spec.halving.eta))
        best = ranked([s for s in alive if not s.own], spec.objective)[:keep]
        alive = [*best, summaries[own]]
        replications = min(spec.replications, replications * spec.halving.eta)


class _Plan:
    def __init__(self, origin: Origin, spec: SweepSpec, cache: RunCache, summaries: list[Summary],
                 progress: Callable[[Progress], None] | None) -> None:  # fmt: skip
        self.origin, self.spec, self.cache, self.summaries, self.progress = origin, spec, cache, summaries, progress
        self.digest = origin.digest
        self.done = self.total = self.replications = self.full = 0
        self.current: list[Summary] = []
        self.best: Summary | None = None
        """The best of the configurations this round has finished (what the progress shows)."""

    def round(self, summaries: list[Summary], replications: int, executor: Executor) -> None:
        """Every one of ``summaries`` up to ``replications`` runs: from the cache, else executed."""
        by_config = {s.configuration: s for s in summaries}
        self.current, self.replications, self.full, self.best = summaries, replications, 0, None
        for summary in summaries:
            if len(summary.runs) >= replications:  # complete already (the scenario's own, run in full)
                self._complete(summary)
        tasks = [Task(s.configuration, r) for s in summaries for r in range(replications) if r not in s.runs]
        wanted = {task: task.key(self.digest, self.spec) for task in tasks}
        self.total += len(wanted)
        todo = []
        for task, key in wanted.items():
            kpis = self.cache.get(key)
            if kpis is None:
                todo.append(task)
            else:
                self._take(by_config[task.configuration], task, kpis)

        def done(task: Task, kpis: Kpis, seconds: float) -> None:
            self.cache.put(wanted[task], kpis, seconds)
            self._take(by_config[task.configuration], task, kpis)

        if todo:
            executor.run(self.origin, self.spec, todo, done)

    def _complete(self, summary: Summary) -> None:
        self.full += 1
        self.best = ranked([summary] if self.best is None else [self.best, summary], self.spec.objective)[0]

    def _take(self, summary: Summary, task: Task, kpis: Kpis) -> None:
        summary.runs[task.replication] = kpis
        self.done += 1
        if len(summary.runs) == self.replications:  # this configuration's round is complete
            self._complete(summary)
        if self.progress is not None:
            best = self.best
            self.progress(Progress(self.done, self.total, self.full, len(self.current),
                                   best.configuration.key if best else None,
                                   best.score(self.spec.objective) if best else None))  # fmt: skip
