"""Any scenario and event the domain accepts, however extreme its numbers within their
bounds, solves or ends with a status or a named error: nothing else is raised."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.domain import InputError
from scheduler.domain.bounds import MAX_DURATION, MAX_KANBAN, MAX_ORDER_WEIGHT, MAX_QUANTITY, max_tick
from scheduler.domain.events import CycleTimeObserved, DowntimeStarted, OperationCompleted
from scheduler.domain.files import parse_scenario
from scheduler.engine import LivePlan

LATEST = max_tick(60)  # minutes
EDGE_TIMES = st.sampled_from([0, 1, 17, LATEST // 2, LATEST])
DURATIONS = st.sampled_from([1, 3, 1000, MAX_DURATION])
WEIGHTS = st.sampled_from([0, 1, 1_000_000])


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    stations = [
        {"id": f"s{k}", "machines": [{"id": f"m{k}-{j}"} for j in range(draw(st.integers(1, 2)))]}
        for k in range(draw(st.integers(1, 3)))
    ]
    orders = []
    for j in range(draw(st.integers(1, 3))):
        ops = []
        for k in range(draw(st.integers(1, 3))):
            timing: dict[str, float]
            if draw(st.booleans()):
                timing = {"duration": draw(DURATIONS)}
            else:
                timing = {
                    "setup": draw(st.sampled_from([0, 0.5, MAX_DURATION / 2])),
                    "cycle_time": draw(st.sampled_from([1e-6, 1.5, 9.0])),
                }
            ops.append({"id": f"o{j}-{k}", "station": draw(st.sampled_from(stations))["id"], **timing})
        order: dict[str, Any] = {
            "id": f"o{j}",
            "operations": ops,
            "weight": draw(st.sampled_from([1, MAX_ORDER_WEIGHT])),
            "quantity": draw(st.sampled_from([1, 7, MAX_QUANTITY])),
            "release": draw(EDGE_TIMES),
        }
        if draw(st.booleans()):
            order["due"] = draw(EDGE_TIMES)
        orders.append(order)
    plant: dict[str, Any] = {"stations": stations, "bottleneck_buffer": draw(st.sampled_from([0, 5, MAX_DURATION]))}
    if len(stations) > 1:
        plant["buffers"] = [{"upstream": "s0", "downstream": "s1", "kanban": draw(st.sampled_from([1, MAX_KANBAN]))}]
    if draw(st.booleans()):
        plant["conwip"] = draw(st.sampled_from([1, 2, 1_000_000]))
    objective = {name: draw(WEIGHTS) for name in ("makespan", "weighted_tardiness", "earliness", "bottleneck_idle")}
    return {
        "time_unit": "minute",
        "plant": plant,
        "orders": orders,
        "policy": {
            "objective": objective,
            "solver": {"workers": 1, "time_limit_s": 0.3, "deterministic": True},
            "repair": {"budget_ms": 200, "workers": 1, "deterministic": True},
        },
    }


def _event(draw: st.DrawFn, data: dict[str, Any]) -> Any:
    time = draw(EDGE_TIMES)
    machine = data["plant"]["stations"][0]["machines"][0]["id"]
    return draw(
        st.sampled_from(
            [
                DowntimeStarted(
                    event_id="e", time=time, machine=machine, downtime_id="d", expected_duration=MAX_DURATION
                ),
                CycleTimeObserved(event_id="e", time=time, station="s0", factor=100.0),
                CycleTimeObserved(event_id="e", time=time, station="s0", observed=1e-3, planned=1e-1),
                OperationCompleted(event_id="e", time=time, operation=data["orders"][0]["operations"][0]["id"]),
            ]
        )
    )


@settings(max_examples=80, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=scenarios(), pick=st.data())
def test_accepted_values_solve_or_end_with_a_status_or_a_named_error(data, pick):
    try:
        scenario = parse_scenario(data)
        live = LivePlan.create(scenario)
    except InputError as error:
        assert error.problems and all(p.message for p in error.problems)
        return
    assert live.check().valid
    event = _event(pick.draw, data)
    try:
        result = live.apply(event)
    except InputError as error:
        assert error.problems[0].field.startswith("event")
        assert live.check().valid  # and the plan is as it was
        return
    assert result.receipt.valid and live.check().valid
