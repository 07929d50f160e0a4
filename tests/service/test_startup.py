"""Starting on a damaged or read-only store: a one-line refusal naming the file, or (one bad
row) the healthy plans load and the damaged one is kept aside, named."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from scheduler.domain import InputError
from scheduler.service.convert import pb
from scheduler.store import SqliteStore
from tests.service.harness import config, document, running, stub
from tests.service.test_hostile import _downtime

DB = SqliteStore.FILE


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` made read-only for this process, root included (chattr +i), then restored."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)


def _refusal(data_dir: Path) -> str:
    with pytest.raises(InputError) as refused, running(config(data_dir)):
        pass
    problem = refused.value.problems[0]
    assert problem.field == "data_dir"
    return problem.message


def _two_plans(data_dir: Path) -> None:
    with running(config(data_dir)) as server, stub(server) as client:
        for plan_id in ("a", "b"):
            client.CreatePlan(pb.CreatePlanRequest(plan_id=plan_id, scenario=document()))
            events = [_downtime(f"{plan_id}{k}", 3 + k, expected_duration=4) for k in range(2)]
            client.ReportEvents(pb.ReportEventsRequest(plan_id=plan_id, events=events))


def test_a_garbage_file_is_refused_in_one_line_naming_it(tmp_path):
    (tmp_path / DB).write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    assert _refusal(tmp_path) == (
        f"{tmp_path / DB} is not a readable SQLite database (file is not a database); move it aside"
    )
    done = subprocess.run([sys.executable, "-m", "scheduler.cli", "serve", "--addr", "127.0.0.1:0", "--data-dir",
                           str(tmp_path)], capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith(f"lean-scheduler: error: data_dir: {tmp_path / DB}")


def test_a_truncated_file_is_refused(tmp_path):
    _two_plans(tmp_path)
    path = tmp_path / DB
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    message = _refusal(tmp_path)
    assert message.startswith(str(path)) and ("damaged" in message or "not a readable" in message)


def test_one_bad_row_keeps_its_plan_aside_and_the_others_load(tmp_path):
    _two_plans(tmp_path)
    with contextlib.closing(sqlite3.connect(tmp_path / DB)) as db, db:
        db.execute("UPDATE events SET event = '{\"broken' WHERE plan_id = 'a' AND position = 2")
    with running(config(tmp_path)) as server, stub(server) as client:
        assert client.GetPlan(pb.GetPlanRequest(plan_id="b")).plan.version == 3
        with pytest.raises(grpc.RpcError) as refused:
            client.GetPlan(pb.GetPlanRequest(plan_id="a"))
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "event log row 2 ('a1')" in str(refused.value.details())
        listed = {s.plan_id: s.damaged for s in client.ListPlans(pb.ListPlansRequest()).plans}
        assert listed["b"] == "" and "event log row 2" in listed["a"]
        with pytest.raises(grpc.RpcError) as taken:
            client.CreatePlan(pb.CreatePlanRequest(plan_id="a", scenario=document()))
        assert taken.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        client.DeletePlan(pb.DeletePlanRequest(plan_id="a"))  # the way out: delete, then create anew
        client.CreatePlan(pb.CreatePlanRequest(plan_id="a", scenario=document()))
        assert client.GetPlan(pb.GetPlanRequest(plan_id="a")).plan.version == 1


def test_an_empty_read_only_data_directory_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with read_only(data):
        message = _refusal(data)
    assert message.startswith(f"cannot open {data / DB}") or message.startswith(f"cannot write {data / DB}")


@pytest.mark.parametrize("folder_too", [False, True])
def test_a_read_only_database_is_refused_at_start_not_at_the_first_write(tmp_path, folder_too):
    _two_plans(tmp_path)
    with read_only(tmp_path / DB), read_only(tmp_path) if folder_too else contextlib.nullcontext():
        message = _refusal(tmp_path)
    assert message.startswith((f"cannot write {tmp_path / DB}: ", f"cannot open {tmp_path / DB}: "))
