"""The thin client against a real server, and what each command imports."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import grpc
import pytest

from scheduler.cli.parser import REPAIR_PRESET_NAMES
from scheduler.client import (
    Connection,
    DowntimeStarted,
    Event,
    RetryPolicy,
    SchedulerClient,
)
from scheduler.domain import REPAIR_PRESETS
from scheduler.service.convert import events_from, plan_rows
from tests.service.harness import SMALL, Replica, config, running, scenario


def _loaded_after(code: str) -> set[str]:
    """The heavy modules a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport sys\nprint(sorted(m for m in ('grpc', 'ortools', 'scheduler.engine') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    return set(eval(done.stdout.strip().splitlines()[-1]))


def test_the_client_loads_neither_ortools_nor_the_engine():
    assert _loaded_after("import scheduler.client") == {"grpc"}


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["schema"], ["check", str(SMALL), "/no/such/plan.json"], ["solve", "--help"]],
)
def test_help_schema_and_check_do_not_load_grpc(argv):
    run = f"from scheduler.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass"
    assert _loaded_after(run) == set()


def test_the_client_command_does_not_load_the_solver():
    run = "from scheduler.cli import main\nmain(['client', '--addr', '127.0.0.1:1', 'list'])"
    assert _loaded_after(run) == {"grpc"}


def test_the_parser_offers_every_repair_preset():
    assert set(REPAIR_PRESET_NAMES) == set(REPAIR_PRESETS)


def _downtime(event_id: str, tick: int) -> Event:
    stop = DowntimeStarted(machine="WELD-1", downtime_id=event_id, expected_duration=6)
    return Event(event_id=event_id, occur_tick=tick, downtime_started=stop)


def test_every_call_through_the_client(tmp_path):
    with running(config(tmp_path)) as server, SchedulerClient(f"127.0.0.1:{server.port}", timeout_s=60) as client:
        created = client.create_plan(SMALL, plan_id="line")
        replica = Replica(scenario(), created)
        assert [s.plan_id for s in client.list_plans()] == ["line"]
        answer = client.report_events("line", [_downtime("d1", 4)], expected_version=1, budget_ms=300)
        assert answer.acks[0].version == 2 and not answer.acks[0].duplicate
        replica.take(events_from([_downtime("d1", 4)], scenario())[0], answer.plan, changed=True)
        again = client.report_events("line", [_downtime("d1", 4)])
        assert again.acks[0].duplicate and again.acks[0].version == 2
        assert plan_rows(client.get_plan("line", 1)) == plan_rows(created)
        watched = client.watch("line", from_version=1)
        assert [next(watched).version, next(watched).version] == [1, 2]
        what_if = client.evaluate("line", kanban_caps={"cut->weld": 1}, budget_ms=300)
        assert what_if.plan.version == 2 and client.get_plan("line").version == 2
        with pytest.raises(grpc.RpcError) as refused:
            client.report_events("line", [_downtime("d2", 5)], expected_version=1)
        assert refused.value.code() == grpc.StatusCode.ABORTED
        client.delete_plan("line")
        assert client.list_plans() == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_call_made_before_the_server_is_up_is_retried(tmp_path):
    port = _free_port()
    retry = RetryPolicy(max_attempts=5, initial_backoff_s=0.5, max_backoff_s=2.0)
    client = SchedulerClient(Connection(f"127.0.0.1:{port}", retry=retry), timeout_s=30)
    answers: list[object] = []
    caller = threading.Thread(target=lambda: answers.append(client.list_plans()))
    caller.start()
    time.sleep(0.3)  # the first attempt has failed with UNAVAILABLE by now
    with running(config(tmp_path, addr=f"127.0.0.1:{port}")):
        caller.join(timeout=30)
    client.close()
    assert answers == [[]]


def test_without_retries_the_same_call_fails_at_once():
    client = SchedulerClient(Connection(f"127.0.0.1:{_free_port()}", retry=None), timeout_s=30)
    with pytest.raises(grpc.RpcError) as refused:
        client.list_plans()
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    client.close()
