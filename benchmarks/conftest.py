"""Options of the benchmark suite: ``--suite smoke|full`` and which instances to run."""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suites import SUITES


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--suite", default="smoke", choices=sorted(SUITES), help="which suite to run")
    parser.addoption("--instances", default="", help="comma-separated: only these instances")
    parser.addoption("--budgets", default="", help="comma-separated ms: instead of the suite's budgets")
    parser.addoption("--events", default=0, type=int, help="events per cell instead of the suite's")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    suite = SUITES[metafunc.config.getoption("--suite")]
    only = {n for n in metafunc.config.getoption("--instances").split(",") if n}
    for name, values in (("repair_instance", suite.repair), ("initial_instance", suite.initial),
                         ("lean_line", suite.lean)):  # fmt: skip
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, [v for v in values if not only or v in only])


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    """The versions the numbers depend on, in every run's JSON (and so in its table)."""
    machine_info.update({name: version(name) for name in ("ortools", "protobuf", "grpcio", "lean-scheduler")})
