"""One play of the pull dispatcher: machines, cards and operations as time moves on
(``repair.pull`` says what it does and why)."""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Sequence

from scheduler.problem import Timetable
from scheduler.repair.pull_line import Gate, Line

Key = tuple[int, int]
_LEAVE, _ARRIVE, _WAKE = 0, 1, 2
"""Kinds of event, in the order they are taken at one time."""


class Play:
    """The state of every machine, card and operation during one play.

    ``look_back``: an operation that waited only for a card starts before the moment the
    card frees, as late as makes it end then, on a machine idle since (the checker counts a
    job in a buffer from its end upstream); without it, what a shop does by hand."""

    def __init__(self, line: Line, key: Sequence[Key], look_back: bool = True) -> None:
        p = self.p = line.problem
        self.line, self.key, self.look_back = line, key, look_back
        n, machines = p.num_ops, len(p.machine_ids)
        self.machine, self.start, self.end = [0] * n, [0] * n, [0] * n
        self.waiting = [0] * n
        """Per operation: its predecessors not yet started."""
        self.ready_at = [p.now] * n
        self.entered_at = p.now
        """No job may enter the line before this (looking back): the CONWIP was full, or one entered."""
        self.free_at = [p.now] * machines
        self.cursor = [0] * machines
        self.gates = [g.copy() for g in line.buffers]
        self.conwip = None if line.conwip is None else line.conwip.copy()
        self.job_in = list(line.job_in)
        self.job_left = [0] * len(p.job_ids)
        self.job_end = [0] * len(p.job_ids)
        self.pools: list[dict[tuple[bool, tuple[int, ...]], list[tuple[Key, int]]]] = [{} for _ in p.station_ids]
        self.events: list[tuple[int, int, int]] = []
        self.dirty: list[tuple[int, int]] = []
        self.queued = [False] * machines
        self.todo = 0
        self.decided: list[int] = []
        """The free operations in the order they were placed: a topological order of every bound."""
        self.after_start: dict[int, list[int]] = {}
        """Per operation: the operations whose starts gave back the buffer cards it took."""
        self.after_job: dict[int, list[int]] = {}
        """Per job: the jobs whose ends gave back the CONWIP units it took."""

    def play(self) -> Timetable | None:
        """Every free operation placed, or None when nothing could move (a bug or a case no rule covers)."""
        p, events = self.p, self.events
        for j, ops in enumerate(p.job_ops):
            for i in ops:
                f = p.fixed(i)
                if f is not None:
                    self.machine[i], self.start[i], self.end[i] = f
                    self.job_end[j] = max(self.job_end[j], f[2])
                else:
                    self.job_left[j] += 1
            self.todo += self.job_left[j]
            if self.conwip is not None and self.job_in[j] and not self.job_left[j]:  # all frozen, still running
                events.append((self.job_end[j], _LEAVE, j))
        fixed = self.line.fixed
        for i in range(p.num_ops):
            if not fixed[i]:
                for b, _ in self.line.successors[i]:
                    self.waiting[b] += 1
        for i in range(p.num_ops):
            if not fixed[i] and self.waiting[i] == 0:
                self._due(i)
        for m, windows in enumerate(self.line.blocked):
            events += [(b, _WAKE, m) for _, b in windows if b > p.now]
        events += [(p.now, _WAKE, m) for m in range(len(p.machine_ids))]
        heapq.heapify(events)
        t = p.now
        while self.todo:
            if not events and not self._unlock(t):
                return None
            t = events[0][0]
            while events and events[0][0] == t:
                _, kind, x = heapq.heappop(events)
                if kind == _LEAVE:
                    self._leave(x, t)
                elif kind == _ARRIVE:
                    self._arrive(x)
                else:
                    self._mark(x)
            self._decide(t)
        return Timetable(tuple(self.machine), tuple(self.start), tuple(self.end))

    def _due(self, i: int) -> None:
        """``i``'s predecessors have all started: it is ready once they end (and the lag)."""
        p, end = self.p, self.end
        ready = max(p.now, p.job_release[p.op_job[i]])
        for a, lag in self.line.predecessors[i]:
            ready = max(ready, end[a] + lag)
        self.ready_at[i] = ready
        heapq.heappush(self.events, (ready, _ARRIVE, i))

    def _arrive(self, i: int) -> None:
        p = self.p
        signature = (not self.job_in[p.op_job[i]], self.line.feeds[i])
        bisect.insort(self.pools[p.op_station[i]].setdefault(signature, []), (self.key[i], i))
        for m in self.line.station_machines[p.op_station[i]]:
            self._mark(m)

    def _mark(self, m: int) -> None:
        if not self.queued[m]:
            self.queued[m] = True
            heapq.heappush(self.dirty, (self.line.order[self.p.machine_station[m]], m))

    def _leave(self, job: int, t: int) -> None:
        assert self.conwip is not None
        if not self.conwip.admits():
            self.entered_at = t  # full until now: none may enter before
            for m in self.line.entry:  # a job may enter now (none could while it was full)
                self._mark(m)
        self.conwip.give(job, self.line.job_in[job])

    def _decide(self, t: int) -> None:
        while self.dirty:
            _, m = heapq.heappop(self.dirty)
            self.queued[m] = False
            if self.free_at[m] <= t:
                chosen = self._choose(m, t)
                if chosen is not None:
                    self._begin(*chosen, m, t)

    def _choose(self, m: int, t: int) -> tuple[int, int] | None:
        """The first operation by priority that ``m`` can start by ``t``, and its start, or None."""
        p, blocked, cursor = self.p, self.line.blocked[m], self.cursor[m]
        while cursor < len(blocked) and blocked[cursor][1] <= t:
            cursor += 1
        self.cursor[m] = cursor
        if cursor < len(blocked) and blocked[cursor][0] <= t:
            return None  # down, or busy with frozen work: its end is an event
        gates, durations, ready_at, free_at = self.gates, self.line.durations, self.ready_at, self.free_at[m]
        best: tuple[Key, int] | None = None
        start = 0
        for (entering, feeds), pool in self.pools[p.machine_station[m]].items():
            if not pool or (entering and self.conwip is not None and not self.conwip.free):
                continue
            if feeds and not (gates[feeds[0]].free if len(feeds) == 1 else _admit(gates, feeds)):
                continue
            floor = max(free_at, self.entered_at) if entering else free_at
            for item in pool:
                if best is not None and item >= best:
                    break
                i = item[1]
                d = durations[i].get(m)
                if d is None:
                    continue
                s = max(floor, ready_at[i], t - d if self.look_back else t)
                if blocked:
                    s = _clear(blocked, s, d)
                if s > t or (len(durations[i]) > 1 and self._elsewhere(i, m, t, s + d)):
                    continue
                best, start = item, s
                break
        return None if best is None else (best[1], start)

    def _elsewhere(self, i: int, m: int, t: int, finish: int) -> bool:
        """Another eligible machine would finish ``i`` sooner: leave it there (and look again then)."""
        for other, d in self.p.op_modes[i]:
            if other != m and max(t, self.free_at[other]) + d < finish:
                if self.free_at[other] > t:
                    heapq.heappush(self.events, (self.free_at[other], _WAKE, m))
                return True
        return False

    def _give(self, i: int) -> None:
        """``i`` starts: its job leaves the buffers it waited in."""
        line = self.line
        for k, fact in line.drains[i]:
            gate = self.gates[k]
            if len(gate.free) < line.most[k]:  # some feeder may have waited for this unit
                for other in line.feeders[k]:
                    self._mark(other)
            gate.give(i, fact)

    def _begin(self, i: int, start: int, m: int, t: int, given: bool = False) -> None:
        p, line = self.p, self.line
        d = line.durations[i][m]
        self.machine[i], self.start[i], self.end[i] = m, start, start + d
        self.free_at[m] = start + d
        self.decided.append(i)
        heapq.heappush(self.events, (start + d, _WAKE, m))
        job = p.op_job[i]
        self.pools[p.op_station[i]][(not self.job_in[job], line.feeds[i])].remove((self.key[i], i))
        if not self.job_in[job]:
            self.job_in[job] = True
            self.entered_at = t  # the job is in from its start: none may enter before t again
            if self.conwip is not None:
                self.after_job[job] = [y for y in self.conwip.take() if y >= 0]
        if not given:
            self._give(i)
        if line.feeds[i]:
            self.after_start[i] = [by for k in line.feeds[i] for by in self.gates[k].take() if by >= 0]
        self.todo -= 1
        self.job_left[job] -= 1
        self.job_end[job] = max(self.job_end[job], start + d)
        if not self.job_left[job] and self.conwip is not None:
            heapq.heappush(self.events, (self.job_end[job], _LEAVE, job))
        waiting, fixed = self.waiting, line.fixed
        for b, _ in line.successors[i]:
            waiting[b] -= 1
            if waiting[b] == 0 and not fixed[b]:
                self._due(b)

    def _unlock(self, t: int) -> bool:
        """Buffers capped both ways form a cycle, each job in it waiting for a card the next
        one holds (a job shop). They start at once, each giving back its unit as it starts
        and taking the next one's: a job enters its next buffer only at its end, after ``t``.
        False when no such set exists."""
        p, line = self.p, self.line
        chosen: dict[int, tuple[Key, int]] = {}  # machine -> the operation it would start
        for m in range(len(p.machine_ids)):
            if self.free_at[m] > t:
                continue
            for (entering, _), pool in self.pools[p.machine_station[m]].items():
                if entering and self.conwip is not None and not self.conwip.admits():
                    continue
                taken = {i for _, i in chosen.values()}
                for key, i in pool:
                    d = line.durations[i].get(m)
                    if d is not None and i not in taken and _clear(line.blocked[m], t, d) == t:
                        if m not in chosen or (key, i) < chosen[m]:
                            chosen[m] = (key, i)
                        break
        while chosen:
            units = {k: len(g.free) - g.debt for k, g in enumerate(self.gates)}
            for _, i in chosen.values():
                for k, _ in line.drains[i]:
                    units[k] += 1
            for _, i in chosen.values():
                for k in line.feeds[i]:
                    units[k] -= 1
            short = [m for m, (_, i) in chosen.items() if any(units[k] < 0 for k in line.feeds[i])]
            if not short:
                break
            del chosen[max(short, key=lambda m: chosen[m])]
        for _, i in chosen.values():
            self._give(i)
        for m, (_, i) in sorted(chosen.items()):
            self._begin(i, t, m, t, given=True)
        return bool(chosen)

    def compact(self) -> Timetable:
        """The play's plan tightened: the operations in the order they were placed, each on
        the eligible machine that finishes it first after what that machine has so far, as
        early as its bounds allow: routings, and the cards as the
        checker counts them (a job is in a buffer from its end upstream, so it may end as
        soon as the unit it takes comes back; a job enters the line once the job before it
        on its CONWIP unit has ended)."""
        p, blocked = self.p, self.line.blocked
        machine, start, end = list(self.machine), list(self.start), list(self.end)
        fixed = self.line.fixed
        job_end = [max((end[i] for i in ops if fixed[i]), default=0) for ops in p.job_ops]
        free = [p.now] * len(p.machine_ids)
        for i in self.decided:
            job = p.op_job[i]
            floor = max(p.now, p.job_release[job])
            for a in p.predecessors[i]:
                floor = max(floor, end[a] + p.lag(a, i))
            if i in p.job_sources[job]:
                for y in self.after_job.get(job, ()):
                    floor = max(floor, job_end[y])
            best = (1 << 62, 0, 0, 0)
            for m, d in p.op_modes[i]:
                lower = max(floor, free[m])
                for by in self.after_start.get(i, ()):
                    lower = max(lower, start[by] - d)
                s = _clear(blocked[m], lower, d)
                best = min(best, (s + d, m != self.machine[i], m, s))
            machine[i], start[i], end[i] = best[2], best[3], best[0]
            free[best[2]] = end[i]
            job_end[job] = max(job_end[job], end[i])
        return Timetable(tuple(machine), tuple(start), tuple(end))


def _admit(gates: list[Gate], feeds: tuple[int, ...]) -> bool:
    """Every buffer ``feeds`` names has a free unit for each card it asks of it."""
    return all(gates[k].admits(feeds.count(k)) for k in feeds)


def _clear(windows: list[tuple[int, int]], start: int, duration: int) -> int:
    """The earliest start >= ``start`` at which [start, start + duration) misses every window (sorted, disjoint)."""
    k = bisect.bisect_right(windows, start, key=lambda w: w[1])
    while k < len(windows) and windows[k][0] < start + duration:
        start = max(start, windows[k][1])
        k += 1
    return start
