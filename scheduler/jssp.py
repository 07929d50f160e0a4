"""Import classic job-shop instances (the JSON bundle or the standard text format) as scenarios.

Ids are fixed so that outside tools can read plans: jobs ``J{j}``, operations ``J{j}-{k}``
(both 0-based), machines ``M{m}`` (one station of the same name each); one tick per
instance time unit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scheduler.domain import InputError, Scenario


def parse_text(text: str, source: str) -> tuple[list[list[int]], list[list[int]]]:
    """(machines_matrix, duration_matrix) from the standard format: ``jobs machines``, then
    one line per job of ``machine duration`` pairs; blank lines and ``#`` comments skipped."""
    lines = [ln.split("#", 1)[0].split() for ln in text.splitlines()]
    rows = [ln for ln in lines if ln]
    if not rows:
        raise InputError.single(source, "empty instance file")
    try:
        numbers = [[int(x) for x in row] for row in rows]
    except ValueError as error:
        raise InputError.single(source, f"not an integer: {error}") from None
    if len(numbers[0]) < 2:
        raise InputError.single(f"{source}:1", "first line must be 'jobs machines'")
    jobs, machine_count = numbers[0][:2]
    if len(numbers) - 1 != jobs:
        raise InputError.single(source, f"header says {jobs} jobs, found {len(numbers) - 1} job lines")
    machines, durations = [], []
    for j, row in enumerate(numbers[1:]):
        if len(row) % 2:
            raise InputError.single(f"{source}:job {j}", "odd number of values (need machine duration pairs)")
        machines.append(row[0::2])
        durations.append(row[1::2])
        for m in machines[-1]:
            if not 0 <= m < machine_count:
                raise InputError.single(f"{source}:job {j}", f"machine {m} outside 0..{machine_count - 1}")
    return machines, durations


def scenario_from_matrices(
    name: str,
    machines: list[list[int]],
    durations: list[list[int]],
    metadata: dict[str, Any] | None = None,
) -> Scenario:
    machine_count = 1 + max(m for row in machines for m in row)
    data = {
        "name": name,
        "description": f"Job-shop instance {name}: {len(machines)} jobs x {machine_count} machines.",
        "time_unit": "tick",
        "plant": {"stations": [{"id": f"M{m}", "machines": [{"id": f"M{m}"}]} for m in range(machine_count)]},
        "orders": [
            {
                "id": f"J{j}",
                "operations": [
                    {"id": f"J{j}-{k}", "station": f"M{m}", "duration": d}
                    for k, (m, d) in enumerate(zip(row_m, row_d, strict=True))
                ],
            }
            for j, (row_m, row_d) in enumerate(zip(machines, durations, strict=True))
        ],
        "policy": {"objective": {"makespan": 1, "weighted_tardiness": 0}},
        "metadata": metadata or {},
    }
    return Scenario.model_validate(data)


def load_instance(path: Path, name: str | None = None) -> Scenario:
    """A scenario from a JSON bundle entry (``name`` required) or a text-format instance file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError.single(str(path), f"cannot read: {getattr(error, 'strerror', None) or error}") from None
    if path.suffix == ".json":
        return _from_bundle(text, path, name)
    machines, durations = parse_text(text, str(path))
    return scenario_from_matrices(name or path.stem, machines, durations)


def _from_bundle(text: str, path: Path, name: str | None) -> Scenario:
    if not name:
        raise InputError.single("--name", f"{path} is a bundle of instances: say which with --name")
    try:
        bundle = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError.single(str(path), f"invalid JSON at line {error.lineno}: {error.msg}") from None
    if not isinstance(bundle, dict) or name not in bundle:
        raise InputError.single("--name", f"no instance {name!r} in {path}")
    entry = bundle[name]
    try:
        return scenario_from_matrices(name, entry["machines_matrix"], entry["duration_matrix"], entry.get("metadata"))
    except (KeyError, TypeError, ValueError) as error:
        raise InputError.single(f"{path}:{name}", f"malformed instance: {error}") from None
