"""Properties over random small valid plants: they solve, the checker passes, and the
objective the checker recomputes from the timetable equals the solver's."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.domain import Scenario
from scheduler.problem import Weights, compile_problem
from tests.helpers import solve_checked

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def plants(draw: st.DrawFn) -> dict[str, Any]:
    n_stations = draw(st.integers(1, 3))
    stations: list[dict[str, Any]] = [
        {"id": f"S{s}", "machines": [{"id": f"S{s}M{m}"} for m in range(draw(st.integers(1, 2)))]}
        for s in range(n_stations)
    ]
    orders = []
    for j in range(draw(st.integers(1, 4))):
        ops = []
        for k in range(draw(st.integers(1, 3))):
            s = draw(st.integers(0, n_stations - 1))
            op: dict[str, Any] = {"id": f"J{j}-{k}", "station": f"S{s}", "duration": draw(st.integers(1, 6))}
            if len(stations[s]["machines"]) > 1 and draw(st.booleans()):
                op["machines"] = [
                    {"machine": m["id"], "duration": draw(st.integers(1, 6))} for m in stations[s]["machines"]
                ]
            ops.append(op)
        release = draw(st.integers(0, 5))
        due = draw(st.none() | st.integers(release, release + 20))
        orders.append(
            {"id": f"J{j}", "release": release, "due": due, "weight": draw(st.integers(1, 3)), "operations": ops}
        )
    machines = [m["id"] for s in stations for m in s["machines"]]
    windows = [
        {"machine": draw(st.sampled_from(machines)), "start": a, "end": a + draw(st.integers(1, 4))}
        for a in draw(st.lists(st.integers(0, 15), max_size=2))
    ]
    buffers = [
        {"upstream": f"S{s}", "downstream": f"S{s + 1}", "kanban": draw(st.integers(1, 2))}
        for s in range(n_stations - 1)
        if draw(st.booleans())
    ]
    return {
        "time_unit": "tick",
        "plant": {
            "stations": stations,
            "buffers": buffers,
            "unavailability": windows,
            "conwip": draw(st.none() | st.integers(1, 3)),
            "bottleneck_buffer": draw(st.integers(0, 2)),
        },
        "orders": orders,
    }


weights = st.builds(
    Weights,
    makespan=st.integers(0, 2),
    weighted_tardiness=st.integers(0, 2),
    earliness=st.integers(0, 1),
    bottleneck_idle=st.integers(0, 1),
)


@PROPERTY
@given(plants(), weights)
def test_random_plants_solve_to_checked_schedules(data, w):
    problem = compile_problem(Scenario.model_validate(data))
    result, report = solve_checked(problem, w)  # asserts validity and objective == recomputation
    assert result.bound is not None and result.bound <= report.kpis.objective + 1e-6
    if problem.conwip is not None:
        assert report.kpis.peak_conwip <= problem.conwip
    for b in problem.buffers:
        assert report.kpis.peak_wip[b.buffer_id] <= b.cap


@PROPERTY
@given(plants())
def test_scenarios_round_trip_through_json(data):
    scenario = Scenario.model_validate(data)
    again = Scenario.model_validate(scenario.model_dump(mode="json"))
    assert again == scenario
    assert compile_problem(again) == compile_problem(scenario)
