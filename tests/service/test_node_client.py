"""A client outside Python: Node.js with @grpc/grpc-js and @grpc/proto-loader (installed
from the npm registry by this test's set-up) uses protos/ to create a plan from the demo
line and report a downtime."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import grpc
import pytest

from scheduler.domain.events import DowntimeStarted
from scheduler.domain.files import load_scenario
from scheduler.service.convert import pb
from scheduler.service.convert import plan_rows as rows
from tests.service.harness import ROOT, config, running, stub, verify

NODE = ROOT / "tests" / "node"


@pytest.fixture(scope="module")
def node_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("needs node and npm")
    work = tmp_path_factory.mktemp("node")
    for name in ("package.json", "client.js"):
        shutil.copy(NODE / name, work / name)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=work, check=True,
                   capture_output=True, timeout=600)  # fmt: skip
    return work


def test_a_node_client_creates_a_plan_from_the_demo_line_and_reports_a_downtime(tmp_path, node_client):
    demo = ROOT / "scenarios" / "demo_line.yaml"
    with running(config(tmp_path)) as server:
        done = subprocess.run(
            ["node", "client.js", f"127.0.0.1:{server.port}", str(ROOT / "protos"), str(demo), "WELD-1"],
            cwd=node_client, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["created_version"] == 1 and result["operations"] == 276
        assert result["version"] == 2 and result["now_tick"] == 60  # 07:00 is 60 minutes after the start
        assert result["valid"] is True and result["duplicate"] is False
        assert result["invalid"]["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
        assert "NOPE" in result["invalid"]["details"]
        with stub(server) as client:  # what Node created is a real plan, seen from Python too
            plan = client.GetPlan(pb.GetPlanRequest(plan_id="from-node")).plan
            assert plan.version == 2 and len(rows(plan)) == 276
            assert plan.receipt.event_id == "node-1"
            event = DowntimeStarted(event_id="node-1", source="node-mes", time=60, machine="WELD-1",
                                    downtime_id="node-stop", expected_duration=20, reason="jam")  # fmt: skip
            verify(client, "from-node", load_scenario(demo), [event])
