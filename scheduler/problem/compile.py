"""Compile a domain scenario into ProblemData, and move schedules between the two forms."""

from __future__ import annotations

from collections.abc import Mapping

from scheduler.domain import Assignment, ObjectiveWeights, Scenario, Schedule
from scheduler.problem.data import BufferData, Position, ProblemData, Timetable, Weights


def compile_weights(weights: ObjectiveWeights) -> Weights:
    return Weights(
        makespan=weights.makespan,
        weighted_tardiness=weights.weighted_tardiness,
        earliness=weights.earliness,
        bottleneck_idle=weights.bottleneck_idle,
    )


def compile_problem(scenario: Scenario) -> ProblemData:
    """The scenario's operations, machines, precedences and lean rules in integer ticks."""
    plant = scenario.plant
    station_ids = tuple(s.id for s in plant.stations)
    station_index = {s: i for i, s in enumerate(station_ids)}
    machine_ids = tuple(m.id for s in plant.stations for m in s.machines)
    machine_index = {m: i for i, m in enumerate(machine_ids)}
    machine_station = tuple(station_index[s.id] for s in plant.stations for _ in s.machines)

    op_ids: list[str] = []
    op_job: list[int] = []
    op_station: list[int] = []
    op_modes: list[tuple[tuple[int, int], ...]] = []
    job_ops: list[tuple[int, ...]] = []
    eligible = scenario.eligible_machines()
    for j, order in enumerate(scenario.orders):
        first = len(op_ids)
        for op in order.operations:
            op_ids.append(op.id)
            op_job.append(j)
            op_station.append(station_index[op.station])
            op_modes.append(tuple((machine_index[m], d) for m, d in eligible[op.id].items()))
        job_ops.append(tuple(range(first, len(op_ids))))
    op_index = {o: i for i, o in enumerate(op_ids)}

    precedences = tuple((op_index[a], op_index[b]) for order in scenario.orders for a, b in order.precedences())
    has_pred = {b for _, b in precedences}
    has_succ = {a for a, _ in precedences}

    buffers = tuple(
        BufferData(
            buffer_id=b.id,
            upstream_idx=station_index[b.upstream],
            downstream_idx=station_index[b.downstream],
            cap=b.kanban,
            pairs=tuple(
                (p, s)
                for p, s in precedences
                if op_station[p] == station_index[b.upstream] and op_station[s] == station_index[b.downstream]
            ),
        )
        for b in plant.buffers
    )

    windows: list[list[tuple[int, int]]] = [[] for _ in machine_ids]
    for w in plant.unavailability:
        windows[machine_index[w.machine]].append((w.start, w.end))

    bottleneck = (
        station_index[plant.bottleneck]
        if plant.bottleneck is not None
        else _most_loaded(len(station_ids), machine_station, op_station, op_modes)
    )
    releases = tuple(o.release for o in scenario.orders)
    merged = tuple(merge_windows(w) for w in windows)
    # Room for a serial schedule after every release and window, and for finishing exactly
    # at the latest due date (earliness can make that the optimum).
    horizon = (
        max([*releases, *(w[-1][1] for w in merged if w), *(o.due for o in scenario.orders if o.due is not None)])
        + sum(max(d for _, d in modes) for modes in op_modes)
        + plant.bottleneck_buffer * len(op_ids)
    )
    return ProblemData(
        time_unit=scenario.time_unit.value,
        horizon=horizon,
        weights=compile_weights(scenario.policy.objective),
        station_ids=station_ids,
        machine_ids=machine_ids,
        machine_station=machine_station,
        unavailability=merged,
        job_ids=tuple(o.id for o in scenario.orders),
        job_family=tuple(o.family for o in scenario.orders),
        job_release=releases,
        job_due=tuple(o.due for o in scenario.orders),
        job_weight=tuple(o.weight for o in scenario.orders),
        job_ops=tuple(job_ops),
        job_sources=tuple(tuple(i for i in ops if i not in has_pred) for ops in job_ops),
        job_sinks=tuple(tuple(i for i in ops if i not in has_succ) for ops in job_ops),
        op_ids=tuple(op_ids),
        op_job=tuple(op_job),
        op_station=tuple(op_station),
        op_modes=tuple(op_modes),
        precedences=precedences,
        buffers=buffers,
        conwip=plant.conwip,
        bottleneck_idx=bottleneck,
        bottleneck_buffer=plant.bottleneck_buffer,
        op_index=op_index,
        machine_index=machine_index,
    )


def _most_loaded(
    num_stations: int,
    machine_station: tuple[int, ...],
    op_station: list[int],
    op_modes: list[tuple[tuple[int, int], ...]],
) -> int:
    """The station with the highest work per machine (shortest eligible duration per op)."""
    load = [0.0] * num_stations
    for station, modes in zip(op_station, op_modes, strict=True):
        load[station] += min(d for _, d in modes)
    machines = [machine_station.count(s) for s in range(num_stations)]
    return max(range(num_stations), key=lambda s: load[s] / machines[s])


def merge_windows(windows: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def timetable_from_schedule(problem: ProblemData, schedule: Schedule) -> Timetable:
    """Index form of a schedule already validated against the scenario (see Scenario.check_schedule)."""
    by_op = {a.operation_id: a for a in schedule.assignments}
    rows = [by_op[op_id] for op_id in problem.op_ids]
    return Timetable(
        machine=tuple(problem.machine_index[a.machine_id] for a in rows),
        start=tuple(a.start for a in rows),
        end=tuple(a.end for a in rows),
    )


def schedule_from_timetable(problem: ProblemData, timetable: Timetable) -> Schedule:
    """The schedule of a timetable. Built without validation (ids come from the problem, and
    the engine bounds times with ``within_range``): validating 5 000 assignments took 100 ms."""
    rows = [
        Assignment.model_construct(
            operation_id=problem.op_ids[i],
            machine_id=problem.machine_ids[timetable.machine[i]],
            start=timetable.start[i],
            end=timetable.end[i],
            job_id=problem.job_ids[problem.op_job[i]],
        )
        for i in range(problem.num_ops)
    ]
    return Schedule.model_construct(assignments=rows)


def reference_of(problem: ProblemData, rows: Mapping[str, Position]) -> list[tuple[int, int] | None]:
    """Per operation of ``problem``: (machine index, start) in a plan given by id as
    {operation id: (machine id, start, end)}, or None where the plan lacks it."""
    return [
        (problem.machine_index[row[0]], row[1]) if (row := rows.get(op_id)) is not None else None
        for op_id in problem.op_ids
    ]


def rows_of(schedule: Schedule) -> dict[str, Position]:
    """{operation id: (machine id, start, end)} of a schedule."""
    return {a.operation_id: (a.machine_id, a.start, a.end) for a in schedule.assignments}
