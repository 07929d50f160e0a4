"""A pair per constraint family: the solver's optimum honours the rule (and the rule binds:
the optimum is what the rule forces), and a timetable breaking only that rule is caught by
the checker under the rule's name, with the ids involved."""

from __future__ import annotations

from scheduler.check import check
from scheduler.problem import Weights, compile_problem
from tests.helpers import job, line, optimum, scenario, timetable


def kinds(sc, rows):
    problem = compile_problem(sc)
    report = check(problem, timetable(problem, rows))
    return [v.kind for v in report.violations], report


def test_machine_capacity_serialises_operations():
    sc = scenario(line("A"), [job("J1", ("A", 3)), job("J2", ("A", 4))])
    _, report = optimum(sc)
    assert report.kpis.makespan == 7


def test_machine_overlap_is_caught():
    sc = scenario(line("A"), [job("J1", ("A", 3)), job("J2", ("A", 4))])
    found, report = kinds(sc, {"J1-0": ("A", 0), "J2-0": ("A", 2)})
    assert found == ["machine_overlap"]
    assert set(report.violations[0].ids) == {"J1-0", "J2-0", "A"}


def _alternatives():
    op1 = {
        "id": "J1-0",
        "station": "A",
        "machines": [{"machine": "A1", "duration": 5}, {"machine": "A2", "duration": 2}],
    }
    op2 = {"id": "J2-0", "station": "A", "machines": [{"machine": "A1", "duration": 3}]}
    return scenario(line(("A", 2)), [{"id": "J1", "operations": [op1]}, {"id": "J2", "operations": [op2]}])


def test_alternative_machines_pick_the_better_one():
    result, report = optimum(_alternatives())
    problem = compile_problem(_alternatives())
    assert report.kpis.makespan == 3
    assert result.timetable is not None
    assert problem.machine_ids[result.timetable.machine[0]] == "A2"


def test_ineligible_machine_and_wrong_duration_are_caught():
    found, report = kinds(_alternatives(), {"J1-0": ("A2", 0), "J2-0": ("A2", 2)})
    assert found == ["eligibility"]
    assert report.violations[0].ids == ("J2-0", "A2")
    problem = compile_problem(_alternatives())
    table = timetable(problem, {"J1-0": ("A2", 0), "J2-0": ("A1", 0)})
    stretched = type(table)(table.machine, table.start, (table.end[0] + 1, table.end[1]))
    assert [v.kind for v in check(problem, stretched).violations] == ["duration"]


def test_precedence_orders_a_routing():
    sc = scenario(line("A", "B"), [job("J1", ("A", 3), ("B", 2))])
    _, report = optimum(sc)
    assert report.kpis.makespan == 5


def test_precedence_violation_is_caught():
    sc = scenario(line("A", "B"), [job("J1", ("A", 3), ("B", 2))])
    found, report = kinds(sc, {"J1-0": ("A", 0), "J1-1": ("B", 1)})
    assert found == ["precedence"]
    assert report.violations[0].ids == ("J1-0", "J1-1")


def test_dag_routing_runs_branches_in_parallel():
    order = {
        "id": "J1",
        "routing": "dag",
        "operations": [
            {"id": "cut", "station": "A", "duration": 2},
            {"id": "left", "station": "B", "duration": 3, "after": ["cut"]},
            {"id": "right", "station": "C", "duration": 4, "after": ["cut"]},
            {"id": "join", "station": "A", "duration": 1, "after": ["left", "right"]},
        ],
    }
    _, report = optimum(scenario(line("A", "B", "C"), [order]))
    assert report.kpis.makespan == 2 + 4 + 1


def test_unavailability_pushes_an_operation_past_the_window():
    plant = {**line("A"), "unavailability": [{"machine": "A", "start": 2, "end": 10}]}
    _, long_op = optimum(scenario(plant, [job("J1", ("A", 3))]))
    _, short_op = optimum(scenario(plant, [job("J1", ("A", 2))]))
    assert long_op.kpis.makespan == 13  # does not fit before the window: starts at 10
    assert short_op.kpis.makespan == 2  # fits before it


def test_unavailability_violation_is_caught():
    plant = {**line("A"), "unavailability": [{"machine": "A", "start": 2, "end": 10}]}
    found, report = kinds(scenario(plant, [job("J1", ("A", 3))]), {"J1-0": ("A", 0)})
    assert found == ["unavailability"]
    assert report.violations[0].ids == ("J1-0", "A")


def test_release_date_is_a_lower_bound():
    _, report = optimum(scenario(line("A"), [job("J1", ("A", 2), release=5)]))
    assert report.kpis.makespan == 7


def test_release_violation_is_caught():
    found, _ = kinds(scenario(line("A"), [job("J1", ("A", 2), release=5)]), {"J1-0": ("A", 3)})
    assert found == ["release"]


def test_due_dates_weigh_the_heavier_order_first():
    orders = [job("J1", ("A", 3), due=3, weight=1), job("J2", ("A", 3), due=3, weight=2)]
    _, report = optimum(scenario(line("A"), orders), Weights(makespan=0, weighted_tardiness=1))
    assert report.kpis.total_weighted_tardiness == 3  # J2 first, J1 three ticks late
    assert report.kpis.late_orders == 1


def test_earliness_pulls_completion_to_the_due_date():
    sc = scenario(line("A"), [job("J1", ("A", 2), due=10)])
    result, report = optimum(sc, Weights(makespan=0, weighted_tardiness=1, earliness=1))
    assert report.kpis.total_earliness == 0
    assert result.timetable is not None
    assert result.timetable.start == (8,)


def _kanban_line(cap):
    plant = {**line("A", "B"), "buffers": [{"upstream": "A", "downstream": "B", "kanban": cap}]}
    return scenario(plant, [job(f"J{k}", ("A", 1), ("B", 5)) for k in range(3)])


def test_kanban_cap_limits_the_jobs_waiting_in_a_buffer():
    _, report = optimum(_kanban_line(1), Weights(makespan=1, weighted_tardiness=0))
    assert report.kpis.makespan == 16
    assert report.kpis.peak_wip == {"A->B": 1}


def test_kanban_violation_is_caught():
    rows = {"J0-0": ("A", 0), "J1-0": ("A", 1), "J2-0": ("A", 2), "J0-1": ("B", 1), "J1-1": ("B", 6), "J2-1": ("B", 11)}
    found, report = kinds(_kanban_line(1), rows)
    assert found == ["kanban"]
    assert report.violations[0].ids == ("A->B", "J1", "J2")
    assert kinds(_kanban_line(2), rows)[0] == []


def _conwip_line(cap):
    plant = {**line("A", "B"), "conwip": cap}
    return scenario(plant, [job("J1", ("A", 2), ("B", 2)), job("J2", ("A", 2), ("B", 2))])


def test_conwip_cap_binds_the_makespan():
    assert optimum(_conwip_line(2))[1].kpis.makespan == 6
    _, capped = optimum(_conwip_line(1))
    assert capped.kpis.makespan == 8
    assert capped.kpis.peak_conwip == 1


def test_conwip_violation_is_caught():
    rows = {"J1-0": ("A", 0), "J1-1": ("B", 2), "J2-0": ("A", 2), "J2-1": ("B", 4)}
    found, report = kinds(_conwip_line(1), rows)
    assert found == ["conwip"]
    assert set(report.violations[0].ids) == {"J1", "J2"}


def _drum_line(buffer):
    plant = {**line("A", "B"), "bottleneck": "B", "bottleneck_buffer": buffer}
    return scenario(plant, [job("J1", ("A", 2), ("B", 2))])


def test_bottleneck_time_buffer_delays_the_drum():
    assert optimum(_drum_line(0))[1].kpis.makespan == 4
    assert optimum(_drum_line(3))[1].kpis.makespan == 7


def test_bottleneck_buffer_violation_is_caught():
    found, report = kinds(_drum_line(3), {"J1-0": ("A", 0), "J1-1": ("B", 2)})
    assert found == ["bottleneck_buffer"]
    assert report.violations[0].ids == ("J1-0", "J1-1")


def test_bottleneck_idle_term_closes_gaps_on_the_drum():
    plant = {**line("A", "B"), "bottleneck": "B"}
    sc = scenario(plant, [job("J1", ("A", 5), ("B", 1)), job("J2", ("A", 5), ("B", 1))])
    _, fast = optimum(sc, Weights(makespan=1, weighted_tardiness=0))
    _, steady = optimum(sc, Weights(makespan=0, weighted_tardiness=0, bottleneck_idle=1))
    assert (fast.kpis.makespan, fast.kpis.bottleneck_idle) == (11, 4)
    assert steady.kpis.bottleneck_idle == 0


def test_undeclared_bottleneck_is_the_most_loaded_station():
    orders = [job("J1", ("A", 2), ("B", 3), ("C", 1)), job("J2", ("A", 2), ("B", 3), ("C", 1))]
    sc = scenario(line("A", ("B", 2), "C"), orders)
    problem = compile_problem(sc)
    assert problem.bottleneck_idx is not None
    assert problem.station_ids[problem.bottleneck_idx] == "A"  # A: 4 on 1 machine; B: 6 over 2
    declared = compile_problem(sc.model_copy(update={"plant": sc.plant.model_copy(update={"bottleneck": "C"})}))
    assert declared.bottleneck_idx == declared.station_ids.index("C")
