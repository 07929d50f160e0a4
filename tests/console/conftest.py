"""A real server with the console on loopback port 0 (one per module), and a browser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from scheduler.service.convert import pb
from scheduler.service.server import Server
from tests.console.browser import chromium, chromium_or_skip
from tests.service.harness import config, document, running, stub


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium(chromium_or_skip()) as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1320, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with one sweep's results as ``lean-scheduler sweep`` writes them (the keys the console reads)."""
    root = tmp_path_factory.mktemp("sweeps")
    (root / "kanban").mkdir()
    row = {"rank": 1, "key": "kanban=3", "replications": 4, "own": False, "score": 12.5,
           "kpis": {"throughput": {"mean": 0.05}, "lead_time_mean": {"mean": 80.0}, "wip_mean": {"mean": 2.5},
                    "bottleneck_starvation": {"mean": 0.1}}}  # fmt: skip
    own = {**row, "rank": 2, "key": "kanban=2", "own": True, "score": 14.0}
    (root / "kanban" / "results.json").write_text(
        '{"scenario": "small line", "configurations": [' + ", ".join(json.dumps(r) for r in (row, own)) + "]}"
    )
    (root / "kanban" / "pareto-throughput.svg").write_text(
        "<svg xmlns='http://www.w3.org/2000/svg' width='200' height='100'><circle cx='50' cy='50' r='5'/></svg>"
    )
    return root


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sweeps: Path) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("console")
    with running(config(data, http_addr="127.0.0.1:0", sweeps_dir=sweeps)) as started:
        yield started


def new_plan(server: Server, plan_id: str) -> None:
    with stub(server) as client:
        client.CreatePlan(pb.CreatePlanRequest(plan_id=plan_id, scenario=document()))


def url(server: Server, path: str = "/") -> str:
    return f"http://127.0.0.1:{server.http_port}{path}"
