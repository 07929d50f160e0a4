"""The command line's grammar. Importing this loads argparse and nothing heavy: each
command's module (and grpc, ortools) is imported only when that command runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, NoReturn

from scheduler import __version__

REPAIR_PRESET_NAMES = ("efficiency", "stability")
"""The names of ``scheduler.domain.REPAIR_PRESETS`` (a test keeps the two equal)."""

HANDLERS = {
    "solve": "scheduler.cli.solving:solve",
    "repair": "scheduler.cli.solving:repair",
    "check": "scheduler.cli.files:check_plan",
    "schema": "scheduler.cli.files:schema",
    "import-jssp": "scheduler.cli.files:import_jssp",
    "serve": "scheduler.cli.serve:serve",
    "client": "scheduler.cli.remote:client",
    "mes-sim": "scheduler.cli.mes_sim:mes_sim",
    "bench": "scheduler.cli.bench:bench",
    "simulate": "scheduler.cli.simulate:simulate",
    "sweep": "scheduler.cli.sweep:sweep",
}
"""Command -> ``module:function`` taking the parsed arguments, returning the exit code."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line and exit code 2, as for every other bad input."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lean-scheduler", description="Constraint-based dynamic scheduling for lean lines.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _plan_commands(commands)
    _service_commands(commands)
    _client_commands(commands)
    p = commands.add_parser("bench", help="run the benchmark suite (source checkout): JSON, markdown table, plots")
    p.add_argument("--suite", choices=["smoke", "full", "targets", "lean"], default="smoke",
                   help="smoke: CI, minutes; full: every instance and budget, about a day on 2 cores; "
                        "targets: the README's target cells, hours; lean: the capped flow lines alone")  # fmt: skip
    p.add_argument("--out", type=Path, default=Path("out/bench"), metavar="DIR")
    p.add_argument("--instances", default="", metavar="A,B", help="only these instances (default: the suite's)")
    p.add_argument("--budgets", type=budgets, default="", metavar="MS,MS", help="repair budgets (default: the suite's)")
    p.add_argument("--events", type=positive(int), metavar="N", help="events per cell (default: the suite's)")
    return parser


def _plan_commands(commands: Any) -> None:
    p = commands.add_parser("solve", help="schedule a scenario with CP-SAT and check the result")
    p.add_argument("scenario", type=Path)
    p.add_argument("--time-limit", type=positive(float), metavar="S", help="seconds (default: the policy's)")
    p.add_argument("--workers", type=positive(int), metavar="N", help="CP-SAT workers (default: the policy's)")
    p.add_argument("--seed", type=non_negative, metavar="N", help="random seed (default: the policy's)")
    p.add_argument("--deterministic", action="store_true", help="time limit in CP-SAT deterministic time")
    p.add_argument("--out", type=Path, metavar="PLAN.json", help="write the plan as JSON")
    p.add_argument("--gantt", type=Path, metavar="PLAN.html", help="write a Gantt chart")

    p = commands.add_parser("repair", help="apply a scenario's events to its plan, repairing after each")
    p.add_argument("scenario", type=Path)
    p.add_argument("--events", type=Path, metavar="FILE", help="events to apply instead of the scenario's script")
    p.add_argument("--rules", type=Path, metavar="RULES.yaml", help="lean rules instead of the scenario's")
    p.add_argument("--plan", type=Path, metavar="PLAN.json", help="the plan to repair (default: baseline, or solve)")
    p.add_argument("--budget-ms", type=positive(int), metavar="N", help="repair budget (default: the policy's)")
    p.add_argument("--policy", choices=REPAIR_PRESET_NAMES, help="repair preset (default: the scenario's)")
    p.add_argument("--deterministic", action="store_true", help="reproducible: CP-SAT deterministic time, 1 worker")
    p.add_argument("--out", type=Path, metavar="RESULT.json", help="write the final plan and the receipts")
    p.add_argument("--gantt", type=Path, metavar="FILE.html", help="write the plan before and after")

    p = commands.add_parser("check", help="check a plan file against a scenario (exit 0 only if valid)")
    p.add_argument("scenario", type=Path)
    p.add_argument("plan", type=Path)

    commands.add_parser("schema", help="print the JSON Schema of scenario files")

    p = commands.add_parser("import-jssp", help="import a classic job-shop instance as a scenario")
    p.add_argument("path", type=Path, help="the JSON bundle (with --name) or a standard-format text file")
    p.add_argument("--name", help="instance name inside a JSON bundle (e.g. ft10)")
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="scenario file to write (.json or .yaml)")


def _client_commands(commands: Any) -> None:
    p = commands.add_parser(
        "client",
        help="talk to a running server (create, events, get, list, watch, line-state, what-if, sweep, rules, ...)",
    )
    _connection_flags(p)
    actions = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    a = actions.add_parser("create", help="create a plan from a scenario file")
    a.add_argument("scenario", type=Path)
    a.add_argument("--plan-id", default="")
    a = actions.add_parser("events", help="report a scenario's event script (or the events of --events FILE)")
    a.add_argument("plan_id")
    a.add_argument("scenario", type=Path, help="the plan's scenario (names and time base of the events)")
    a.add_argument("--events", type=Path, metavar="FILE", help="events instead of the scenario's script")
    a.add_argument("--budget-ms", type=positive(int), metavar="N")
    a = actions.add_parser("get", help="print a plan version as JSON")
    a.add_argument("plan_id")
    a.add_argument("--version", type=non_negative, default=0, help="0: the latest")
    actions.add_parser("list", help="list the plans")
    a = actions.add_parser("watch", help="print each new plan version as it is made")
    a.add_argument("plan_id")
    a.add_argument("--from-version", type=non_negative, default=0)
    a = actions.add_parser("delete", help="delete a plan")
    a.add_argument("plan_id")
    a = actions.add_parser("line-state", help="realised and planned KPIs and the takt monitor's state, as JSON")
    a.add_argument("plan_id")
    a.add_argument("--window", type=non_negative, default=0, metavar="TICKS", help="the last TICKS (0: all)")
    a = actions.add_parser("rules", help="the lean rules: state, firings with verdicts, revisions")
    a.add_argument("plan_id")
    a = actions.add_parser("set", help="change a pull parameter now (an audited parameter_changed event)")
    a.add_argument("plan_id")
    a.add_argument("parameter", choices=("kanban", "conwip", "drum_buffer", "preset"))
    a.add_argument("value", help="the new cap or time buffer in ticks, or the preset (efficiency, stability)")
    a.add_argument("--buffer", metavar="UP->DOWN", help="the buffer of a kanban change")
    a.add_argument("--reason", default="", help="why (kept in the log)")
    a.add_argument("--event-id", default="", help="default: set-<time>")
    a = actions.add_parser("what-if", help="kanban caps and/or hypothetical events on a fork, against the same "
                                           "fork without the new caps (nothing live changes)")  # fmt: skip
    a.add_argument("plan_id")
    a.add_argument("--kanban", action="append", type=kanban_cap, default=[], metavar="UP->DOWN=N",
                   help="a buffer's cap in the fork (buffer ids as in the scenario, e.g. cut->weld=3)")  # fmt: skip
    a.add_argument("--events", type=Path, metavar="FILE", help="hypothetical events (needs --scenario)")
    a.add_argument("--scenario", type=Path, help="the plan's scenario (names and time base of --events)")
    a.add_argument("--version", type=non_negative, default=0, help="the version to fork (0: the latest)")
    a.add_argument("--budget-ms", type=positive(int), metavar="N")
    a = actions.add_parser("sweep", help="twin runs of pull configurations from the plan's current state, "
                                         "ranked (nothing live changes)")  # fmt: skip
    a.add_argument("plan_id")
    a.add_argument("--grid", type=Path, required=True, metavar="SWEEP.yaml", help="axes, disturbances, objective")
    a.add_argument("--replications", type=positive(int), metavar="N", help="runs per configuration (default: file's)")
    a.add_argument("--seed", type=non_negative, metavar="S", help="the disturbances' seed (default: the file's)")
    a.add_argument("--jobs", type=positive(int), metavar="N", help="worker processes on the server (default 1)")
    a.add_argument("--out", type=Path, default=Path("out/sweep"), metavar="DIR", help="results.json and table.md")
    a = actions.add_parser("rule", help="suspend or resume a lean rule (an audited rule_revised event)")
    a.add_argument("plan_id")
    a.add_argument("rule")
    a.add_argument("revision", choices=("suspend", "resume"))
    a.add_argument("--reason", default="", help="why (kept in the log)")
    a.add_argument("--event-id", default="", help="default: rule-<time>")


def _service_commands(commands: Any) -> None:
    p = commands.add_parser("serve", help="run the gRPC service (until SIGTERM or Ctrl-C)")
    p.add_argument("--addr", help="host:port to listen on (default 127.0.0.1:50051; port 0 picks one)")
    p.add_argument("--data-dir", type=Path, metavar="DIR", help="event log and plans (default ~/.local/share/...)")
    p.add_argument(
        "--store", metavar="URL", help="sqlite:///PATH or postgresql://USER@HOST:PORT/DB (default: --data-dir)"
    )
    p.add_argument("--config", type=Path, metavar="FILE.toml", help="settings file ([server] table)")
    p.add_argument("--tls-cert", type=Path, metavar="PEM", help="server certificate (with --tls-key)")
    p.add_argument("--tls-key", type=Path, metavar="PEM", help="server private key")
    p.add_argument("--client-ca", type=Path, metavar="PEM", help="require client certificates signed by this CA")
    p.add_argument("--token-file", type=Path, metavar="FILE", help="require 'authorization: Bearer <token>'")
    p.add_argument("--max-solves", type=positive(int), metavar="N", help="solves at once (default 2)")
    p.add_argument("--port-file", type=Path, metavar="FILE", help="write the bound port here once listening")
    p.add_argument("--metrics-addr", metavar="HOST:PORT", help="serve Prometheus metrics at /metrics (default: off)")
    p.add_argument("--http-addr", metavar="HOST:PORT", help="serve the planners' web console (default: off)")
    p.add_argument("--sweeps-dir", type=Path, metavar="DIR", help="the console lists sweep results found here")
    p.add_argument("--log-format", choices=("text", "json"), default="text", help="log lines on stderr (default text)")
    p.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), default="INFO",
                   help="DEBUG adds every call's end and CP-SAT's search log (default INFO)")  # fmt: skip
    p.add_argument("--improve-share", type=share, metavar="X",
                   help="improve plans between events this share of the time (0-1; default 0: off)")  # fmt: skip
    p.add_argument("--lease-s", type=between(0, 3600), metavar="S",
                   help="replicas on one PostgreSQL store: a plan's lease lasts S s (default 0: off)")  # fmt: skip
    p.add_argument("--replica-id", metavar="ID", help="this replica's name in the leases (default HOSTNAME:PORT)")
    p.add_argument("--advertise-addr", metavar="HOST:PORT",
                   help="where clients reach this replica, as others' refusals name it (default: --addr)")  # fmt: skip

    p = commands.add_parser("simulate", help="run the plan on the shop-floor twin (noise, slowdowns, breakdowns)")
    p.add_argument("scenario", type=Path)
    p.add_argument("--plan", type=Path, metavar="PLAN.json", help="the plan to run (default: baseline, or solve)")
    p.add_argument("--seed", type=non_negative, default=0, metavar="N")
    p.add_argument("--noise", type=fraction, default=0.0, metavar="CV", help="lognormal noise on every time (0.1)")
    p.add_argument("--slowdown", action="append", default=[], metavar="STATION:FACTOR@TIME",
                   help="a station slower from a time on (weld:1.3@120); repeatable")  # fmt: skip
    p.add_argument("--breakdowns", metavar="MTBF:MTTR", help="random breakdowns per machine (400:20 ticks)")
    p.add_argument("--until", type=positive(int), metavar="TICKS", help="stop at this tick (default: all done)")
    p.add_argument("--budget-ms", type=positive(int), metavar="N", help="repair budget (deterministic units)")
    p.add_argument("--no-monitor", action="store_true", help="turn the takt monitor off (for comparison)")
    p.add_argument("--rules", type=Path, metavar="RULES.yaml", help="lean rules instead of the scenario's")
    p.add_argument("--no-rules", action="store_true", help="run without the scenario's rules (the open loop)")
    _connection_flags(p)
    p.set_defaults(addr=None)
    p.add_argument("--out", type=Path, metavar="RUN.json")
    p.add_argument("--facts-out", type=Path, metavar="EVENTS.yaml", help="the events the twin reported")
    p.add_argument("--gantt", type=Path, metavar="FILE.html", help="planned against actual")

    p = commands.add_parser("sweep", help="twin runs over a grid of pull configurations (local pool or Ray)")
    p.add_argument("scenario", type=Path)
    p.add_argument("--grid", type=Path, required=True, metavar="SWEEP.yaml", help="axes, disturbances, objective")
    p.add_argument("--replications", type=positive(int), metavar="N", help="runs per configuration (default: file's)")
    p.add_argument("--seed", type=non_negative, metavar="S", help="the disturbances' seed (default: the file's)")
    p.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="a local process pool (default) or Ray ([ray] extra)")  # fmt: skip
    p.add_argument("--ray-address", metavar="ADDR", help="join this Ray cluster (default: start a local Ray)")
    p.add_argument("--jobs", type=positive(int), default=2, metavar="N", help="processes (or Ray CPUs); default 2")
    p.add_argument("--out", type=Path, default=Path("out/sweep"), metavar="DIR")
    p.add_argument("--plan", type=Path, metavar="PLAN.json", help="the plan to start from (default: solve once)")
    p.add_argument("--resume", action="store_true", help="reuse the runs already in DIR (a killed sweep goes on)")

    p = commands.add_parser("mes-sim", help="replay a scenario's event script against a server, as an MES")
    p.add_argument("scenario", type=Path)
    _connection_flags(p)
    p.add_argument("--speed", type=float, default=0.0, metavar="X",
                   help="X times real time between events (default 0: as fast as answers come)")  # fmt: skip
    p.add_argument("--events", type=Path, metavar="FILE", help="events instead of the scenario's script")
    p.add_argument("--plan-id", default="")
    p.add_argument("--budget-ms", type=positive(int), metavar="N")
    p.add_argument("--out", type=Path, metavar="RESULT.json")
    p.add_argument("--gantt", type=Path, metavar="FILE.html", help="the plan before and after, checked")


def _connection_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--addr", default="127.0.0.1:50051", help="server host:port")
    p.add_argument("--token-file", type=Path, metavar="FILE", help="send its token as a bearer token")
    p.add_argument("--tls-ca", type=Path, metavar="PEM", help="use TLS, trusting this CA")
    p.add_argument("--tls-cert", type=Path, metavar="PEM", help="client certificate (mutual TLS)")
    p.add_argument("--tls-key", type=Path, metavar="PEM", help="client private key (mutual TLS)")


def positive(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def budgets(text: str) -> str:
    """Comma-separated positive milliseconds, as the suite's ``--budgets`` takes them."""
    parse = positive(int)
    return ",".join(str(parse(part)) for part in text.split(",") if part.strip())


def between(low: float, high: float) -> Any:
    """A number in [low, high]."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


fraction = between(0, 10)
"""A coefficient of variation."""
share = between(0, 1)


def kanban_cap(text: str) -> tuple[str, int]:
    """``UP->DOWN=N``: a buffer and its cap (at least 1)."""
    buffer, _, cap = text.rpartition("=")
    if not buffer or not cap.isdigit() or int(cap) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not BUFFER=CAP (e.g. cut->weld=3, a cap of at least 1)")
    return buffer, int(cap)


def non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value
