"""What-ifs on a fork of a live plan: the change asked for, measured against the same fork
without it.

Changed kanban caps are applied as the engine applies them live (a ``parameter_changed``
per buffer, repaired with moves costing), then the hypothetical events; the control is
the same fork through the same steps with the caps it had, under the same reproducible
solver settings (deterministic time, one worker), so that the difference is the change's
and not a re-optimisation's: before, a cap set to its current value reported makespan -60
and tardiness -798. Events alone are compared with the version the fork was made from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from scheduler.domain import InputError
from scheduler.domain.events import Event, ParameterChanged
from scheduler.engine import parameters
from scheduler.engine.answers import EventRejected, WhatIf
from scheduler.engine.history import Version, version_of
from scheduler.engine.live import LivePlan
from scheduler.problem import compile_problem, reference_of
from scheduler.repair import Receipt, change

SOURCE = "what-if"


def evaluate(
    live: LivePlan, base: Version, events: Sequence[Event], kanban: Mapping[str, int], budget_ms: int | None
) -> WhatIf:
    """``live`` (at ``base``, not changed) with ``kanban`` caps and then ``events``, against
    the control: the same without the new caps (with no caps: ``base`` itself)."""
    parameters.with_kanban(live.scenario, dict(kanban))  # unknown buffers named before any work
    trial, receipts = _run(live.fork(), events, kanban, budget_ms)
    if kanban:
        held = {b.id: b.kanban for b in live.scenario.plant.buffers}
        control, _ = _run(live.fork(), events, {buffer: held[buffer] for buffer in kanban}, budget_ms)
        before = version_of(base.plan_id, control, None)
    else:
        before = base
    problem = compile_problem(trial.scenario)  # every operation counts in the diff, started or not
    moves = change(problem, reference_of(problem, before.plan), trial.timetable(problem))
    after = replace(version_of(base.plan_id, trial, receipts[-1] if receipts else None), version=base.version)
    return WhatIf(base, after, receipts, moves, after.kpis.makespan - before.kpis.makespan,
                  after.kpis.total_weighted_tardiness - before.kpis.total_weighted_tardiness)  # fmt: skip


def _run(
    fork: LivePlan, events: Sequence[Event], kanban: Mapping[str, int], budget_ms: int | None
) -> tuple[LivePlan, list[Receipt]]:
    fork.policy = fork.policy.model_copy(update={"deterministic": True, "workers": 1})
    receipts = []
    for k, (buffer, cap) in enumerate(kanban.items()):
        change_cap = ParameterChanged(event_id=f"what-if-kanban-{k}", source=SOURCE, time=fork.now,
                                      parameter="kanban", buffer=buffer, value=cap, reason="what-if")  # fmt: skip
        try:
            receipts.append(fork.apply(change_cap, budget_ms=budget_ms).receipt)
        except InputError as error:
            raise InputError.single("kanban_caps", f"{buffer}: {error.summary()}") from None
    for k, event in enumerate(events):
        try:
            receipts.append(fork.apply(event, budget_ms=budget_ms).receipt)
        except InputError as error:
            raise EventRejected(k, error, []) from None
    return fork, receipts
