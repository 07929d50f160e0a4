"""Whether an answer grew the plan by more than its event accounts for: a degraded answer.

What an event accounts for is the machine time it takes from the line, on the machine it
hits hardest: a stop's assumed length (an update or a late return: what it adds to the end
assumed before; an early return: nothing), a slower station's extra time over its work not
started, a rush order's work, a late fact's delay. The makespan may grow by twice that, the
weighted tardiness by twice that for every order still due (each could be that much later);
a trade the policy's weights score as a gain is never flagged, nor growth within 1% of the
makespan.
A cancellation or an early return accounts for nothing: any growth is flagged. A planner's
change of a parameter is its own measure, and is not judged.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from scheduler.domain.events import (
    CycleTimeObserved,
    DowntimeEnded,
    DowntimeStarted,
    DowntimeUpdated,
    Event,
    MaintenancePlanned,
    OperationCompleted,
    OperationStarted,
    OrderAdded,
    OrderCancelled,
)
from scheduler.engine.situation import downtime_windows
from scheduler.problem import ProblemData, Weights
from scheduler.problem.freeze import is_finished
from scheduler.repair import Receipt

if TYPE_CHECKING:
    from scheduler.engine.live import LivePlan

NOISE = 0.01
"""Growth within this share of the makespan before is never flagged: a repair's own noise
(an early return that leaves the drum a gap its kept sequence cannot fill counts it idle)."""


def accounted(live: LivePlan, event: Event) -> int | None:  # noqa: PLR0911 (a case per kind)
    """Ticks of machine time ``event`` takes from the line (``live`` as it was before it), or
    None where no such measure applies."""
    match event:
        case DowntimeStarted():
            end = event.expected_end or event.time + (event.expected_duration or live.policy.default_downtime)
            return max(0, end - max(event.time, live.now))
        case DowntimeUpdated() | DowntimeEnded():
            windows = downtime_windows(live.ledger, live.now, live.policy).get(event.machine, [])
            down = live.ledger.downtimes.get(event.downtime_id)
            assumed = next((b for a, b in windows if down is not None and a == down.start), event.time)
            end = event.expected_end if isinstance(event, DowntimeUpdated) else event.time
            return max(0, end - assumed)
        case MaintenancePlanned():
            return event.end - event.start
        case CycleTimeObserved():
            return _slower(live, event)
        case OrderAdded():
            return sum(min(d for _, d in options) for options in _options(live, event))
        case OrderCancelled():
            return 0
        case OperationStarted() | OperationCompleted():
            planned = live.plan.get(event.operation)
            if planned is None:
                return None
            return max(0, event.time - (planned[1] if isinstance(event, OperationStarted) else planned[2]))
        case _:
            return None


def _slower(live: LivePlan, event: CycleTimeObserved) -> int:
    """The most time one machine of the station (or the machine) loses on its work not started."""
    fixed = live.situation()[0].fixed
    station = live.scenario.plant.station_of_machine()
    hit = {event.machine} if event.machine else {m for m, s in station.items() if s == event.station}
    old = {m: live.ledger.factor_at(("machine", m) if live.ledger.observed(("machine", m), live.now)
                                    else ("station", station[m]), live.now, live.policy.takt_tolerance)
           for m in hit}  # fmt: skip
    lost = dict.fromkeys(hit, 0.0)
    for op, (m, start, end) in live.plan.items():
        if m in hit and op not in fixed:
            lost[m] += (end - start) / old[m] * max(0.0, event.ratio - old[m])
    return math.ceil(max(lost.values(), default=0.0))


def _options(live: LivePlan, event: OrderAdded) -> list[list[tuple[str, int]]]:
    machines = {s.id: [m.id for m in s.machines] for s in live.scenario.plant.stations}
    return [op.options(machines[op.station], event.order.quantity) for op in event.order.operations]


def due_weight(problem: ProblemData) -> int:
    """The weight of the orders with a due date not finished by now."""
    return sum(w for j, (w, due) in enumerate(zip(problem.job_weight, problem.job_due, strict=True))
               if due is not None and not is_finished(problem, j))  # fmt: skip


def flagged(receipt: Receipt, accounts: int | None, due_weight: int, weights: Weights) -> str:
    """Why ``receipt``'s answer is degraded (its growth beyond twice what the event accounts
    for, ``due_weight`` the weight of the orders still due), or "". A trade that the policy's
    ``weights`` score as a gain (a longer makespan for less tardiness) is not degraded."""
    r = receipt
    gain = (weights.makespan * (r.makespan_before - r.makespan_after)
            + weights.weighted_tardiness * (r.weighted_tardiness_before - r.weighted_tardiness_after)
            + weights.bottleneck_idle * (r.bottleneck_idle_before - r.bottleneck_idle_after))  # fmt: skip
    if accounts is None or gain >= 0:
        return ""
    allowed = 2 * accounts + math.ceil(NOISE * r.makespan_before)
    grew = r.makespan_after - r.makespan_before
    late = r.weighted_tardiness_after - r.weighted_tardiness_before
    if grew > allowed:
        return (f"makespan grew by {grew}, more than twice the {accounts} tick(s) of machine time "
                f"the event takes (answered by {receipt.tier.value})")  # fmt: skip
    if late > allowed * due_weight:
        return (f"weighted tardiness grew by {late}, more than twice the {accounts} tick(s) the event takes "
                f"for each order still due (weight {due_weight}; answered by {receipt.tier.value})")  # fmt: skip
    return ""
