"""Hostile and clumsy files through the command line: each is one line naming the field and
the value, exit code 2, quickly and in bounded memory; never a traceback or a hang."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from typing import Any

import jsonschema
import pytest

from tests.test_cli import BASE, DEMO, FAST, ROOT, _set, run, write

BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)
)
"""A billion laughs in 342 bytes (as metadata of a scenario below)."""


def test_an_alias_bomb_is_refused_at_once_in_bounded_memory(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("metadata:\n" + "".join("  " + line + "\n" for line in BOMB.splitlines()) + "plant: {}\n")
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PEAK, sys.executable, "-m", "scheduler.cli", "solve", str(bomb)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert time.perf_counter() - began < 60  # a guard against the old hang, not a timing
    assert done.returncode == 2 and done.stdout == ""
    message, peak = done.stderr.rsplit("peak ", 1)
    assert message == f"lean-scheduler: error: {bomb}: holds more than 2000000 values once its aliases are expanded\n"
    assert int(peak) < 1_000_000  # KiB: well under a GB


PEAK = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
    "print('peak', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)"
)
"""Runs its arguments as its only child and prints that child's peak memory: the test
process's own RUSAGE_CHILDREN counts every child any earlier test ran."""


def test_aliases_within_the_limit_still_work(tmp_path, capsys):
    text = json.dumps(BASE).replace('"tiny"', "&name tiny", 1)[:-1] + ', "metadata": {"was": *name}}'
    assert run(capsys, "solve", str(write(tmp_path, text, "s.yaml")), *FAST)[0] == 0


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("deep.json", "[" * 100_000 + "]" * 100_000, "nests deeper than 64 levels"),
        (
            "deep.yaml",
            "[" * 100_000 + "]" * 100_000,
            "invalid YAML at line 1 column 1001: exceeded maximum nesting depth",
        ),
        ("deep2.yaml", "a: " + "[" * 70 + "]" * 70, "nests deeper than 64 levels"),
        ("twice.yaml", "name: a\nname: b\n", "invalid YAML at line 2 column 1: duplicate key 'name'"),
        ("twice.json", '{"name": "a", "name": "b"}', "invalid JSON: duplicate key 'name'"),
    ],
)
def test_deep_nesting_and_duplicate_keys_are_named(tmp_path, capsys, name, text, expected):
    path = write(tmp_path, text, name)
    code, out, err = run(capsys, "solve", str(path))
    assert code == 2 and out == ""
    assert err == f"lean-scheduler: error: {path}: {expected}\n"


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, capsys):
    path = tmp_path / "big.yaml"
    with path.open("wb") as big:
        big.truncate(9 * 1024 * 1024)  # sparse: nothing to parse, only its size
    code, _, err = run(capsys, "solve", str(path))
    assert (
        code == 2
        and err == f"lean-scheduler: error: {path}: is 9437184 bytes, over the 8388608-byte limit for a document\n"
    )


HUGE: list[tuple[str, Any, str]] = [
    (
        "orders.0.operations.0.duration",
        10**18,
        "orders[0].operations[0].duration: Input should be less than or equal to 10000000",
    ),
    (
        "orders.0.operations.0.duration",
        2**63,
        "orders[0].operations[0].duration: Input should be less than or equal to 10000000",
    ),
    ("orders.0.quantity", 10**18, "orders[0].quantity: Input should be less than or equal to 1000000"),
    ("orders.0.due", 10**18, "orders[0].due: time 1000000000000000000 is outside the plan's range"),
    (
        "orders.0.due",
        "9999-12-31T00:00:00Z",
        "orders[0].due: timestamp 9999-12-31T00:00:00+00:00 is outside 1970 to 2200",
    ),
    ("start", "9999-12-31T00:00:00Z", "start: timestamp 9999-12-31T00:00:00+00:00 is outside 1970 to 2200"),
    ("orders.0.weight", 10**18, "orders[0].weight: Input should be less than or equal to 10000"),
    (
        "orders.0.operations.1.cycle_time",
        1e18,
        "orders[0].operations[1].cycle_time: Input should be less than or equal to 10000000",
    ),
    (
        "orders.0.operations.1.cycle_time",
        float("inf"),
        "orders[0].operations[1].cycle_time: Input should be a finite number",
    ),
    ("orders.0.operations.1.setup", float("nan"), "orders[0].operations[1].setup: Input should be a finite number"),
    ("plant.buffers.0.kanban", 2**31 - 1, "plant.buffers[0].kanban: Input should be less than or equal to 100000"),
    ("plant.bottleneck_buffer", 2**40, "plant.bottleneck_buffer: Input should be less than or equal to 10000000"),
]


@pytest.mark.parametrize(("path", "value", "expected"), HUGE, ids=[f"{p}={v!r}"[:40] for p, v, _ in HUGE])
def test_huge_infinite_and_far_values_are_named(tmp_path, capsys, path, value, expected):
    data = copy.deepcopy(BASE)
    _set(path, value)(data)
    code, out, err = run(capsys, "solve", str(write(tmp_path, json.dumps(data))), *FAST)  # json writes Infinity, NaN
    assert code == 2 and out == ""
    assert err.startswith(f"lean-scheduler: error: {expected}") and err.count("\n") == 1


def test_weights_and_times_that_overflow_the_solver_together_are_named(tmp_path, capsys):
    data = copy.deepcopy(BASE)
    for order in data["orders"]:
        order.update(due=100_000_000, weight=10_000)  # each within its bound
    data["policy"] = {"objective": {"weighted_tardiness": 1_000_000}}
    code, _, err = run(capsys, "solve", str(write(tmp_path, data)), *FAST)
    assert code == 2 and err.startswith("lean-scheduler: error: scenario: the objective could reach")
    assert "beyond the solver's 64-bit range" in err


def test_yaml_infinity_is_named_too(tmp_path, capsys):
    text = json.dumps(BASE).replace('"cycle_time": 1.5', '"cycle_time": .inf')
    code, _, err = run(capsys, "solve", str(write(tmp_path, text, "inf.yaml")), *FAST)
    assert code == 2 and "orders[0].operations[1].cycle_time: Input should be a finite number" in err


def test_a_cycle_time_ratio_beyond_the_factor_cap_is_refused(tmp_path, capsys):
    events = [
        {"event_id": "c1", "time": 3, "type": "cycle_time_observed", "station": "weld", "observed": 1000, "planned": 1}
    ]
    code, _, err = run(
        capsys,
        "repair",
        str(write(tmp_path, BASE)),
        "--events",
        str(write(tmp_path, events, "e.json")),
        "--deterministic",
    )
    assert code == 2
    assert err == "lean-scheduler: error: events[0].observed: observed / planned = 1000 is outside [0.01, 100]\n"


def test_the_published_schema_accepts_every_shipped_scenario(capsys):
    code, out, _ = run(capsys, "schema")
    schema = json.loads(out)
    assert code == 0
    for path in [DEMO, *sorted((ROOT / "scenarios" / "jssp").glob("*.json"))[:3]]:
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else __import__("yaml").safe_load(text)
        jsonschema.validate(data, schema)  # raises on the first disagreement
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**BASE, "orders": [{**BASE["orders"][0], "release": [5]}]}, schema)


def test_check_reads_a_repair_result_with_its_added_orders_and_facts(tmp_path, capsys):
    result = tmp_path / "result.json"
    assert run(capsys, "repair", str(DEMO), "--deterministic", "--budget-ms", "300", "--out", str(result))[0] == 0
    document = json.loads(result.read_text())
    assert "R001" in {o["id"] for o in document["state"]["orders"]}  # the rush order the script adds
    code, out, _ = run(capsys, "check", str(DEMO), str(result))
    assert code == 0 and out.rstrip().endswith("valid")
    fact = next(iter(document["state"]["facts"]))
    row = next(r for r in document["plan"]["assignments"] if r["operation_id"] == fact)
    row["start"] += 1  # a frozen operation moved
    row.pop("start_time", None)
    row.pop("end_time", None)
    result.write_text(json.dumps(document))
    code, out, _ = run(capsys, "check", str(DEMO), str(result))
    assert code == 1 and f"frozen: frozen {fact} must stay" in out
