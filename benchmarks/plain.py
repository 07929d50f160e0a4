"""What a user of OR-Tools alone would write for a job shop: one interval per operation,
a no-overlap per machine, the routing precedences, minimise the makespan."""

from __future__ import annotations

from ortools.sat.python import cp_model

from scheduler.check import check
from scheduler.problem import ProblemData, Timetable


def plain_jssp(problem: ProblemData, seconds: float, workers: int, seed: int,
               deterministic: bool) -> tuple[int | None, bool | None]:  # fmt: skip
    """(makespan, checker-valid) of the plain model's best solution (single-machine
    operations only; both None when it found nothing)."""
    model = cp_model.CpModel()
    horizon = sum(max(d for _, d in modes) for modes in problem.op_modes)
    starts, ends, machines = [], [], []
    per_machine: dict[int, list[cp_model.IntervalVar]] = {}
    for i, modes in enumerate(problem.op_modes):
        machine, duration = modes[0]
        start = model.new_int_var(0, horizon, f"s{i}")
        end = model.new_int_var(0, horizon, f"e{i}")
        per_machine.setdefault(machine, []).append(model.new_interval_var(start, duration, end, f"i{i}"))
        starts.append(start)
        ends.append(end)
        machines.append(machine)
    for intervals in per_machine.values():
        model.add_no_overlap(intervals)
    for a, b in problem.precedences:
        model.add(starts[b] >= ends[a])
    makespan = model.new_int_var(0, horizon, "makespan")
    model.add_max_equality(makespan, ends)
    model.minimize(makespan)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    if deterministic:
        solver.parameters.max_deterministic_time = seconds
    else:
        solver.parameters.max_time_in_seconds = seconds
    if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, None
    plan = Timetable(tuple(machines), tuple(solver.value(s) for s in starts), tuple(solver.value(e) for e in ends))
    return solver.value(makespan), check(problem, plan).valid


def pyjobshop_jssp(problem: ProblemData, seconds: float, workers: int, seed: int) -> tuple[int | None, bool | None]:
    """(makespan, checker-valid) of PyJobShop's OR-Tools model (``pip install pyjobshop==0.0.9``:
    not a dependency; ImportError without it) on the same job shop, wall-clock limit."""
    from pyjobshop import Model  # noqa: PLC0415 (optional: only this comparison needs it)

    model = Model()
    machines = {m: model.add_machine() for modes in problem.op_modes for m, _ in modes}
    jobs = {j: model.add_job() for j in set(problem.op_job)}
    tasks = [model.add_task(job=jobs[problem.op_job[i]]) for i in range(problem.num_ops)]
    for i, modes in enumerate(problem.op_modes):
        machine, duration = modes[0]
        model.add_mode(tasks[i], machines[machine], duration)
    for a, b in problem.precedences:
        model.add_end_before_start(tasks[a], tasks[b])
    result = model.solve("ortools", time_limit=seconds, display=False, num_workers=workers, random_seed=seed)
    if result.best is None or not result.best.tasks or result.status.value not in ("Optimal", "Feasible"):
        return None, None
    found = result.best.tasks
    plan = Timetable(tuple(modes[0][0] for modes in problem.op_modes), tuple(t.start for t in found),
                     tuple(t.end for t in found))  # fmt: skip
    return max(plan.end), check(problem, plan).valid
