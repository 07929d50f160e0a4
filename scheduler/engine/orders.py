"""Changes to what the plan must serve: a rush order joins a plan, a cancelled order leaves
it (what started stays), a maintenance announced ahead blocks its machine."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from scheduler.domain import Order, Scenario, Unavailability
from scheduler.domain.events import MaintenancePlanned
from scheduler.problem import Position


def cancel(
    scenario: Scenario, plan: Mapping[str, Position], order_id: str, started: set[str]
) -> tuple[Scenario, dict[str, Position], set[str]]:
    """The scenario and plan without ``order_id``'s operations not in ``started`` (those
    that did start stay, their routing trimmed to them), and the machines that freed."""
    orders: list[Order] = []
    kept_plan, freed = dict(plan), set()
    for order in scenario.orders:
        if order.id != order_id:
            orders.append(order)
            continue
        for op in order.operations:
            if op.id not in started:
                freed.add(plan[op.id][0])
                kept_plan.pop(op.id, None)
        kept = [op for op in order.operations if op.id in started]
        if kept:
            ids = {op.id for op in kept}
            kept = [op.model_copy(update={"after": [a for a in op.after if a in ids]}) for op in kept]
            orders.append(order.model_copy(update={"operations": kept}))
    return scenario.model_copy(update={"orders": orders}), kept_plan, freed


def maintained(scenario: Scenario, event: MaintenancePlanned) -> Scenario:
    """The scenario with ``event``'s window in its planned unavailability (in place of the
    window of the same maintenance_id; none when it is empty)."""
    plant = scenario.plant
    kept = [w for w in plant.unavailability if w.id != event.maintenance_id]
    if event.end > event.start:
        kept.append(Unavailability.model_construct(machine=event.machine, start=event.start, end=event.end,
                                                   reason=event.reason, id=event.maintenance_id))  # fmt: skip
    return scenario.model_copy(update={"plant": plant.model_copy(update={"unavailability": kept})})


def on_machines(plan: Mapping[str, Position], machines: set[str]) -> set[str]:
    return {op_id for op_id, (m, _, _) in plan.items() if m in machines}


def jobs_of(scenario: Scenario, ops: Iterable[str]) -> set[str]:
    """Every operation of the orders that ``ops`` belong to."""
    wanted = set(ops)
    return {op.id for o in scenario.orders if any(op.id in wanted for op in o.operations) for op in o.operations}
