"""The plan document written by ``solve`` (and, later, ``repair``) as JSON."""

from __future__ import annotations

from typing import Any

from scheduler.check import CheckReport
from scheduler.domain import TimeBase
from scheduler.problem import ProblemData, Timetable


def plan_document(
    problem: ProblemData,
    timetable: Timetable | None,
    report: CheckReport | None,
    status: str,
    timebase: TimeBase,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``status``, ``valid``, ``violations``, ``kpis`` and ``assignments``; times in ticks,
    plus ISO-8601 UTC ``start_time``/``end_time`` when the scenario has a wall-clock start."""
    assignments = []
    if timetable is not None:
        for i in sorted(range(problem.num_ops), key=lambda i: (timetable.start[i], problem.op_ids[i])):
            row: dict[str, Any] = {
                "operation_id": problem.op_ids[i],
                "job_id": problem.job_ids[problem.op_job[i]],
                "machine_id": problem.machine_ids[timetable.machine[i]],
                "start": timetable.start[i],
                "end": timetable.end[i],
            }
            start, end = timebase.to_datetime(timetable.start[i]), timebase.to_datetime(timetable.end[i])
            if start is not None and end is not None:
                row["start_time"] = start.isoformat().replace("+00:00", "Z")
                row["end_time"] = end.isoformat().replace("+00:00", "Z")
            assignments.append(row)
    return {
        "status": status,
        "valid": report.valid if report else False,
        "violations": [{"kind": v.kind, "message": v.message, "ids": list(v.ids)} for v in report.violations]
        if report
        else [],
        "kpis": report.kpis.as_dict() if report else {},
        "time_unit": problem.time_unit,
        **(extra or {}),
        "assignments": assignments,
    }
