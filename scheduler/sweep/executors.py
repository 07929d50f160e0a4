"""Where a sweep's runs execute, behind one small interface: a local process pool (the
default) or Ray (``pip install 'lean-scheduler[ray]'``). Either takes the origin once per
worker, runs tasks in any order and hands each result back as it arrives; a worker that
dies (kill -9, out of memory) costs its tasks a retry, not the sweep."""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from scheduler.domain import InputError
from scheduler.sweep.run import Kpis, Origin, Task, timed_run
from scheduler.sweep.spec import SweepSpec

_LOG = logging.getLogger(__name__)
RETRIES = 3
"""Times a task is tried again after its worker died."""
_POLL_S = 0.1
"""How often a pool with a stop looks at it."""
_ORPHAN_POLL_S = 1.0
"""How often a pool worker looks whether the process that started it is still there."""

Done = Callable[[Task, Kpis, float], None]
"""(the task, its KPIs, the seconds its run took)"""


class SweepFailed(RuntimeError):
    """A task could not be run (its worker died every time)."""


class SweepStopped(Exception):
    """The sweep's stop was set: no task was started after it."""


class Executor(Protocol):
    def run(self, origin: Origin, spec: SweepSpec, tasks: Sequence[Task], done: Done) -> None:
        """Run ``tasks``, calling ``done`` for each as it finishes (in this thread)."""

    def close(self) -> None: ...


# ---------------------------------------------------------------- local process pool

_WORKER: tuple[Origin, SweepSpec] | None = None


def _install(blob: bytes, parent: int) -> None:
    global _WORKER  # noqa: PLW0603  # one origin per worker process, unpickled once
    _WORKER = pickle.loads(blob)  # our own pickle, made by this sweep
    threading.Thread(target=_end_when_orphaned, args=(parent,), name="orphan-watch", daemon=True).start()


def _end_when_orphaned(parent: int) -> None:
    """A worker whose sweep was killed (kill -9 of the command) ends too: it would otherwise
    wait on its task queue for good, holding its memory."""
    while os.getppid() == parent:
        time.sleep(_ORPHAN_POLL_S)
    os._exit(1)


def _pool_task(task: Task) -> tuple[Kpis, float]:
    assert _WORKER is not None, "the pool's initializer sets the origin"
    return timed_run(_WORKER[0], _WORKER[1], task)


class LocalPool:
    """``jobs`` worker processes, started fresh (spawn: safe beside gRPC and CP-SAT threads).
    Once ``stop`` is set, the tasks not started are dropped, the runs in progress finish
    (at most one per worker) and ``run`` raises SweepStopped."""

    def __init__(self, jobs: int, stop: threading.Event | None = None) -> None:
        self.jobs, self.stop = jobs, stop

    def run(self, origin: Origin, spec: SweepSpec, tasks: Sequence[Task], done: Done) -> None:
        blob = pickle.dumps((origin, spec))
        pending, tries = list(tasks), dict.fromkeys(tasks, 0)
        while pending:
            pending = self._round(blob, pending, done)
            for task in pending:
                tries[task] += 1
                if tries[task] > RETRIES:
                    raise SweepFailed(f"{task.configuration.key} replication {task.replication}: "
                                      f"its worker died {tries[task]} times")  # fmt: skip

    def _round(self, blob: bytes, tasks: list[Task], done: Done) -> list[Task]:
        """Run ``tasks`` on a fresh pool; what is left when a worker died."""
        if self.stop is not None and self.stop.is_set():
            raise SweepStopped("the sweep was stopped")
        context = multiprocessing.get_context("spawn")
        left: list[Task] = []
        poll = None if self.stop is None else _POLL_S
        with ProcessPoolExecutor(
            self.jobs, mp_context=context, initializer=_install, initargs=(blob, os.getpid())
        ) as pool:
            futures: dict[Future[tuple[Kpis, float]], Task] = {pool.submit(_pool_task, t): t for t in tasks}
            waiting = set(futures)
            while waiting:
                finished, waiting = wait(waiting, poll, FIRST_COMPLETED)
                if self.stop is not None and self.stop.is_set():
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise SweepStopped("the sweep was stopped")
                for future in finished:
                    try:
                        kpis, seconds = future.result()
                    except BrokenProcessPool:
                        left.append(futures[future])
                        continue
                    done(futures[future], kpis, seconds)
        return left

    def close(self) -> None:
        pass


# ---------------------------------------------------------------- Ray


def _ray() -> Any:
    try:
        import ray  # noqa: PLC0415  # optional: the [ray] extra
    except ImportError:
        raise InputError.single("--executor", "ray is not installed: pip install 'lean-scheduler[ray]'") from None
    return ray


class RayExecutor:
    """A local Ray with ``jobs`` CPUs, or the cluster at ``address``; Ray retries a task whose
    worker died (``max_retries``)."""

    def __init__(self, jobs: int, address: str | None = None) -> None:
        self.ray = _ray()
        self.started = not self.ray.is_initialized()
        if self.started:
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if address:
                self.ray.init(address=address, **options)
            else:
                self._start_local(jobs, options)
        self.remote = self.ray.remote(max_retries=RETRIES, retry_exceptions=False)(timed_run)

    def _start_local(self, jobs: int, options: dict[str, Any]) -> None:
        """A local Ray, tried twice. In CI a first start now and then never brought up one of
        its processes (the control service once, the raylet once: not even a log of it): Ray
        forks them with a ``preexec_fn``, which Python warns can hang beside threads. Waiting
        120 s did not help; the next start in the same process did, every time."""
        os.environ.setdefault("RAY_gcs_server_port_wait_time_s", "60")  # it starts in 3 to 6 s here
        try:
            self.ray.init(num_cpus=jobs, **options)
        except Exception as error:  # Ray says it with a RuntimeError or a bare Exception
            if "timed out" not in str(error).lower():
                raise
            _LOG.warning("a local Ray did not start (%s); starting it again", error)
            self.ray.shutdown()
            self.ray.init(num_cpus=jobs, **options)

    def run(self, origin: Origin, spec: SweepSpec, tasks: Sequence[Task], done: Done) -> None:
        ray = self.ray
        origin_ref, spec_ref = ray.put(origin), ray.put(spec)
        refs = {self.remote.remote(origin_ref, spec_ref, t): t for t in tasks}
        for ref, (kpis, seconds) in _as_completed(ray, list(refs)):
            done(refs[ref], kpis, seconds)

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


def _as_completed(ray: Any, refs: list[Any]) -> Iterator[tuple[Any, tuple[Kpis, float]]]:
    while refs:
        ready, refs = ray.wait(refs, num_returns=1)
        for ref in ready:
            try:
                yield ref, ray.get(ref)
            except ray.exceptions.RayTaskError as error:
                if isinstance(error.cause, InputError):
                    raise error.cause from None
                raise SweepFailed(f"a run failed on Ray: {error.cause!r}") from None
            except ray.exceptions.RayError as error:
                raise SweepFailed(f"a run failed on Ray: {type(error).__name__}") from None


def executor(kind: str, jobs: int, address: str | None = None) -> Executor:
    if kind == "ray":
        return RayExecutor(jobs, address)
    if address:
        raise InputError.single("--ray-address", "only with --executor ray")
    return LocalPool(jobs)
