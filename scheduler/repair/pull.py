"""The pull dispatcher: the line's own rules played forward from "now".

An event-driven construction. Each machine that is free takes, among the operations ready
for it (their job's earlier operations done, the drum's time buffer passed, the order
released), the first by a priority whose cards are free: a kanban card of every buffer the
operation feeds, held from its start to the start of the job's operation downstream (the
twin's reading), and, for a job's first operation, a CONWIP card held until the job's last
operation ends. Frozen operations keep their places and their cards; downtime, maintenance
and frozen work block machines. A machine never waits for a busier one unless that one
would finish the operation sooner. At equal times stations downstream choose first, so a
card freed by a start is taken at once.

Two things make it better than a shop's hand rule (:func:`shop`, the baseline): an
operation that waited only for a card starts *before* the card frees, as late as makes it
end then (the checker counts a job in a buffer from its end upstream: it fills just in
time), and the play is then tightened (``Play.compact``): each operation, in the order
placed, as early as its routing, its machine and the cards it took allow, on the parallel
machine that finishes it first. Neither can break a rule: every unit of a cap passes from
one holder to the next.

It cannot deadlock: on a line whose buffers form no cycle the most downstream waiting job
can always move; where they do (a job shop capped both ways), the jobs of a cycle of full
buffers start at once. Its plans keep every rule the checker knows; it runs in
O(n log n) for n operations.

The priorities (:class:`Rule`): the previous plan's order, least slack, earliest due date,
most work remaining, first in first out; :func:`race` plays them in turn.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from enum import StrEnum

from scheduler.problem import ProblemData, Timetable
from scheduler.repair.pull_line import Line, line_of
from scheduler.repair.pull_play import Key, Play

Reference = Sequence[tuple[int, int] | None]
__all__ = ["Line", "Reference", "Rule", "dispatch", "keys", "line_of", "race", "rules_for", "shop"]


class Rule(StrEnum):
    PLAN = "plan"
    """The previous plan's order (its starts); operations it did not have by release."""
    FIFO = "fifo"
    """First in, first out: the earliest-released order first (what a shop does without software)."""
    EDD = "edd"
    """Earliest due date first."""
    SLACK = "slack"
    """Least slack first: due date less the work left from the operation on."""
    MWKR = "mwkr"
    """Most work remaining first (a job shop's makespan rule)."""


def keys(line: Line, rule: Rule, reference: Reference | None = None) -> list[Key]:
    """Per operation, its priority under ``rule`` (lower first; ties by index)."""
    p = line.problem
    big = 1 << 60
    due = [d if d is not None else big for d in p.job_due]
    job = p.op_job
    if rule is Rule.PLAN:
        return [(ref[1], job[i]) if (ref := (reference[i] if reference else None)) is not None
                else (max(p.now, p.job_release[job[i]]), job[i]) for i in range(p.num_ops)]  # fmt: skip
    if rule is Rule.FIFO:
        return [(p.job_release[job[i]], job[i]) for i in range(p.num_ops)]
    if rule is Rule.EDD:
        return [(due[job[i]], job[i]) for i in range(p.num_ops)]
    if rule is Rule.SLACK:
        return [(due[job[i]] - line.remaining[i], job[i]) for i in range(p.num_ops)]
    return [(-line.remaining[i], job[i]) for i in range(p.num_ops)]


def dispatch(line: Line, key: Sequence[Key]) -> Timetable | None:
    """The pull dispatch of ``line`` by ``key``, looking back for cards and tightened to the
    checker's reading of them (see the module's text); None only on a bug."""
    play = Play(line, key)
    return None if play.play() is None else play.compact()


def shop(line: Line, rule: Rule) -> Timetable | None:
    """What a shop does by hand (a baseline): each free machine takes the first waiting job
    by ``rule`` whose cards are free, holding a card from its start upstream; no looking
    back, no tightening."""
    return Play(line, keys(line, rule), look_back=False).play()


CORE = 2
"""A repair plays the first this many priorities of :func:`rules_for` while its budget lasts
(the first always), the rest only while CP-SAT keeps most of the budget."""


def rules_for(problem: ProblemData, planned: bool) -> tuple[Rule, ...]:
    """The priorities worth playing, most promising first (measured on the capped suite:
    the previous plan's order or the earliest due date won every state): the previous
    plan's order when there is one, earliest due date and least slack when orders have due
    dates, most work remaining, first in first out."""
    dated = any(d is not None for d in problem.job_due)
    chosen = [Rule.PLAN] if planned else []
    chosen += [Rule.EDD, Rule.SLACK] if dated else []
    return (*chosen, Rule.MWKR, Rule.FIFO)


def race(line: Line, rules: Sequence[Rule], reference: Reference | None = None) -> Iterator[tuple[Rule, Timetable]]:
    """Each rule's pull dispatch in turn (the caller keeps the best and stops when its time is up)."""
    for rule in rules:
        plan = dispatch(line, keys(line, rule, reference))
        if plan is not None:
            yield rule, plan
