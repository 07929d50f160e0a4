"""``lean-scheduler bench``: the benchmark suite of a source checkout, under pytest-benchmark."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from scheduler.domain import InputError
from scheduler.lines import SUITE as LEAN_LINES


def bench(args: argparse.Namespace) -> int:
    """pytest-benchmark runs the suite in ``benchmarks/``; its report script writes the rest."""
    suite_dir = Path(__file__).resolve().parents[2] / "benchmarks"
    if not (suite_dir / "test_suite.py").exists():
        raise InputError.single("bench", f"needs the source checkout's benchmarks/ (not found at {suite_dir})")
    for name in filter(None, args.instances.split(",")):
        known = name == "demo" or name in LEAN_LINES or name.removesuffix("+chain") in LEAN_LINES
        if not known and not (suite_dir.parent / "scenarios" / "jssp" / f"{name.removesuffix('+chain')}.json").exists():
            raise InputError.single(
                "--instances",
                f"unknown instance {name!r} (scenarios/jssp/ has the job shops; demo; {', '.join(LEAN_LINES)})",
            )
    args.out.mkdir(parents=True, exist_ok=True)
    run = args.out / "pytest-benchmark.json"
    command = [sys.executable, "-m", "pytest", str(suite_dir / "test_suite.py"), "--suite", args.suite,
               "--instances", args.instances, "--budgets", args.budgets, "--events", str(args.events or 0),
               "--benchmark-enable", f"--benchmark-json={run}",
               "--benchmark-columns=min,max", "-p", "no:cacheprovider", "-v", "-s", "-o", "addopts="]  # fmt: skip
    print(f"lean-scheduler bench: the {args.suite} suite -> {args.out}", flush=True)
    tests = subprocess.run(command, cwd=suite_dir.parent, check=False).returncode
    if not run.exists():
        return tests or 1
    report = subprocess.run([sys.executable, str(suite_dir / "report.py"), str(run), "--out", str(args.out)],
                            check=False, capture_output=True, text=True)  # fmt: skip
    print(report.stdout, end="")
    if report.returncode:
        print(report.stderr, file=sys.stderr)
    return tests or report.returncode
