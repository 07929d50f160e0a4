"""Tier 1: CP-SAT over windows of the plan, one after another, each a model of its own
(decisions/0010).

A window is a set of operations CP-SAT may move, the rest held where the best plan so far
has them. Windows are sized to the budget from the rate at which this process has built and
solved them (operations per second), so that at 5 000 operations a window still finishes
inside 200 ms; they follow the affected operations in the order of their starts (near
"now" first), and once those are covered with time to spare the pool grows to every
operation still free, the windows doubling, up to the whole remaining plan. In the
``windows`` mode the first windows are the operations tier 0 moved, by their old starts
(rolling windows, decisions/0001). Every window's answer is merged into the plan, checked
and kept only when it scores better.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from scheduler.domain.tiers import TierName
from scheduler.problem import ProblemData, Timetable
from scheduler.problem.neighbourhood import affected_operations
from scheduler.problem.window import window
from scheduler.repair.attempt import MIN_SOLVE_S, Attempt
from scheduler.repair.gc_pause import gc_paused
from scheduler.repair.right_shift import left_shift
from scheduler.solver import SolverConfig, SolveResult, SolveStatus, Stability, StopToken, solve

_SOLVER_SHARE = 0.92
"""CP-SAT's own limit, as a share of the watchdog's: it overruns its limit a little, and a
stop at the very moment it finishes loses the solution it found."""
_MIN_WINDOW = 20
_REASONS = {"no_solution": "CP-SAT found nothing in time", "infeasible": "neighbourhood infeasible",
            "not_run": "no budget left for CP-SAT"}  # fmt: skip
_MAX_DETERMINISTIC_WINDOWS = 8


class Rate:
    """Operations per second this process builds and solves a window model in: an
    exponential average over the windows solved so far (a window that ran out of time
    counts at half its pace: it was too big); and the seconds per operation of the whole
    problem that cutting a window out of it costs, however small the window (at 5 000
    operations about 60 ms: a window that cannot be cut in the time left is not started)."""

    def __init__(self, prior: float = 2500.0) -> None:
        self._value = prior
        self._cut_per_op = 0.0
        self._lock = threading.Lock()

    def cut_s(self, operations: int) -> float:
        return self._cut_per_op * operations

    def learn_cut(self, operations: int, seconds: float) -> None:
        with self._lock:
            self._cut_per_op = 0.7 * self._cut_per_op + 0.3 * seconds / max(1, operations)

    @property
    def value(self) -> float:
        return self._value

    def size_for(self, seconds: float) -> int:
        return int(self._value * seconds)

    def learn(self, size: int, seconds: float, solved: bool) -> None:
        observed = size / max(seconds, 1e-3) * (1.0 if solved else 0.5)
        with self._lock:
            self._value = min(50_000.0, max(200.0, 0.7 * self._value + 0.3 * observed))


RATE = Rate()


@dataclass
class CpSat:
    name: TierName = TierName.CP_SAT
    rate: Rate = field(default=RATE)

    def run(self, a: Attempt) -> None:
        if a.best is None:
            return
        problem = a.problem
        if not self._time_for(a):  # finding the affected operations alone takes 50 ms at 5 000
            a.reason = "no budget left for CP-SAT"
            return
        everything = [i for i in range(problem.num_ops) if problem.fixed(i) is None]
        pool = sorted(affected_operations(problem, a.best.plan, a.seeds))
        if not pool:
            a.reason = "nothing affected"
            return
        solved_last = True
        for free, share in self._windows(a, pool, everything):
            if not self._time_for(a):
                a.reason = a.reason or "no budget left for CP-SAT"
                break
            left = a.left_s()
            if a.policy.deterministic and not solved_last:
                break
            seconds = left * share if a.policy.deterministic else min(left, max(MIN_SOLVE_S, share))
            result = self._solve(a, free, seconds)
            solved_last = result.status in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE)
            if not a.policy.deterministic:
                self.rate.learn(len(free), result.wall_time_s, solved_last)
            if a.stop is not None and a.stop.stopped:
                break
        if a.best.tier == TierName.CP_SAT:
            a.reason = ""  # the reason says why an answer is not CP-SAT's
        elif not a.reason:
            a.reason = _REASONS.get(a.status, "CP-SAT found nothing better")

    def _time_for(self, a: Attempt) -> bool:
        """Time left for a window to be cut out of the problem and solved at least briefly."""
        cut = 0.0 if a.policy.deterministic else self.rate.cut_s(a.problem.num_ops)
        return a.left_s() >= MIN_SOLVE_S + cut

    def _windows(self, a: Attempt, pool: list[int], everything: list[int]) -> Iterator[tuple[set[int], float]]:
        """(free operations, their time: a share of what is left with ``deterministic``, else seconds)."""
        assert a.best is not None
        if a.policy.mode == "windows" and a.shifted is not None:
            rolling = _rolling(a, set(pool))
            for k, free in enumerate(rolling):
                yield free, 1 / len(rolling) if a.policy.deterministic else a.left_s() / (len(rolling) - k)
            if not rolling:
                a.reason = "nothing affected"
            if a.policy.deterministic or not rolling:
                return  # reproducible runs stop here; on the clock what is left goes to larger windows
        size = min(a.policy.neighbourhood, len(pool))
        if not a.policy.deterministic:
            size = max(_MIN_WINDOW, min(size, self.rate.size_for(a.left_s())))
        count = 0
        while count < _MAX_DETERMINISTIC_WINDOWS or not a.policy.deterministic:
            best = a.best.plan
            ordered = sorted(pool, key=lambda i: (best.start[i], i))
            if size >= len(everything):  # the whole remaining plan: it gets all the time left
                yield set(everything), 1.0 if a.policy.deterministic else a.left_s()
                return
            starts = range(0, len(ordered), size)
            for j, k in enumerate(starts):
                count += 1
                # an equal share of what is left, but at least what the rate says such a window needs
                share = max(a.left_s() / (len(starts) - j), 1.5 * size / self.rate.value)
                yield set(ordered[k : k + size]), 1.0 if a.policy.deterministic else share
            if len(pool) < len(everything) and size >= len(pool):
                pool = everything  # solved the affected ones with time to spare: the rest may move too
            else:
                size *= 2

    def _solve(self, a: Attempt, free: set[int], seconds: float) -> SolveResult:
        assert a.best is not None
        plan = a.best.plan
        began = time.perf_counter()
        part = window(a.problem, plan, free, a.cap)
        s = a.stability
        if part is None:
            problem, hint, pinned = a.problem, plan, _pinned(a.problem, plan, free)
            stability = s
        else:
            problem, hint, pinned = part.problem, part.restrict(plan), part.pinned
            stability = Stability(tuple(a.reference[i] for i in part.ops), s.moved, s.shift, s.reassigned,
                                  s.efficiency_scale)  # fmt: skip
        if not a.policy.deterministic:  # building the window took some of its time
            seconds = max(MIN_SOLVE_S / 2, min(seconds, a.left_s()))
        config = SolverConfig(
            time_limit_s=seconds if a.policy.deterministic else seconds * _SOLVER_SHARE,
            workers=a.policy.workers,
            seed=a.seed,
            deterministic=a.policy.deterministic,
            probing=False,
            # Both workers improve the hint unless moves count (decisions/0003).
            improve_only=not a.counts_moves,
        )
        built = time.perf_counter()
        self.rate.learn_cut(a.problem.num_ops, built - began)
        result = watched(problem, config, seconds, hint, stability, pinned, a.cap, a.stop,
                         push_left=a.compacts and part is not None)  # fmt: skip
        solved = time.perf_counter()
        a.solves.append(result)
        a.status = result.status.value
        a.free |= free
        if result.timetable is not None:
            with gc_paused():
                found = result.timetable if part is None else part.merge(plan, result.timetable)
                if a.compacts and part is not None:  # what the window gained reaches the end once the rest moves up
                    found = left_shift(a.problem, found, a.line) or found
                a.consider(TierName.CP_SAT, found)
        for step, ms in (("window", built - began), ("solve", solved - built), ("after", time.perf_counter() - solved)):
            a.timings[f"cp_sat.{step}"] = round(a.timings.get(f"cp_sat.{step}", 0.0) + ms * 1000, 2)
        return result


def _pinned(problem: ProblemData, plan: Timetable, free: set[int]) -> dict[int, tuple[int, int, int]]:
    return {i: (plan.machine[i], plan.start[i], plan.end[i]) for i in range(problem.num_ops)
            if i not in free and problem.fixed(i) is None}  # fmt: skip


def _rolling(a: Attempt, affected: set[int]) -> list[set[int]]:
    """The affected operations tier 0 moved, in the order of their old starts, in windows of
    the policy's neighbourhood: small models converge within their share of the budget, one
    model of them all does not; old starts, so that a far-moved operation does not hold its
    new slot (decisions/0001)."""
    assert a.shifted is not None
    plan, size = a.shifted, a.policy.neighbourhood
    moved = sorted((ref[1], i) for i in affected
                   if (ref := a.reference[i]) is not None and (plan.machine[i], plan.start[i]) != ref)  # fmt: skip
    return [{i for _, i in moved[k : k + size]} for k in range(0, len(moved), size)]


def watched(
    problem: ProblemData,
    config: SolverConfig,
    seconds: float,
    hint: Timetable | None,
    stability: Stability,
    pinned: dict[int, tuple[int, int, int]],
    cap: int,
    stop: StopToken | None,
    push_left: bool = False,
) -> SolveResult:
    """CP-SAT in a worker thread, stopped when ``seconds`` are up whatever it is doing (its
    own limit can overrun in presolve), and waited for: no solver thread outlives its
    answer to take the cores from the next event. Its model build cannot be interrupted,
    which is why windows are sized to the budget."""
    token = stop.child() if stop is not None else StopToken()
    box: list[SolveResult] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            box.append(solve(problem, config, hint=hint, stability=stability, pinned=pinned, makespan_cap=cap,
                             stop=token, push_left=push_left))  # fmt: skip
        except BaseException as error:  # handed to the caller: a bug must not pass as "no answer"
            failure.append(error)

    # In the caller's context: the log fields bound for the event reach CP-SAT's search log.
    worker = threading.Thread(target=contextvars.copy_context().run, args=(run,), name="cp-sat-repair", daemon=True)
    worker.start()
    worker.join(None if config.deterministic else seconds)
    if worker.is_alive():
        token.stop()
        worker.join()
    if failure:
        raise failure[0]
    return box[0]
