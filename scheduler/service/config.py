"""Server configuration: defaults, then an optional TOML file, then LEAN_SCHEDULER_*
environment variables, then command-line flags (each overrides the one before)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from scheduler.domain import InputError


@dataclass(frozen=True)
class ServerConfig:
    addr: str = "127.0.0.1:50051"
    """Where to listen; loopback by default. Port 0 picks a free port."""
    data_dir: Path | None = None
    """None: $LEAN_SCHEDULER_DATA_DIR, else $XDG_DATA_HOME/lean-scheduler, else
    ~/.local/share/lean-scheduler (created when missing)."""
    store: str | None = None
    """A store URL: ``sqlite:///PATH`` or ``postgresql://USER@HOST:PORT/DB``; None: the
    SQLite file in the data directory."""
    max_solves: int = 2
    """Solves (repairs, plan creations, what-ifs) at once; more are refused with
    RESOURCE_EXHAUSTED at once. Two suits the 2-core machine: CP-SAT uses the cores."""
    deadline_margin_ms: int = 30
    """Kept back from a call's deadline for converting, storing and sending the answer."""
    max_message_mb: int = 64
    max_document_mb: int = 8
    """The largest scenario document CreatePlan parses."""
    grace_s: float = 10.0
    """On SIGTERM: how long in-flight calls may take before they are cancelled."""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    client_ca: Path | None = None
    """With it, clients must present a certificate it signed (mutual TLS)."""
    token_file: Path | None = None
    """With it, every call but health checks needs ``authorization: Bearer <token>``."""
    improve_share: float = 0.0
    """Background improvement: the share of the time (0 to 1) in which CP-SAT keeps improving
    the live plans while no call is in flight; 0 (the default) turns it off."""
    improve_min_gain: float = 0.005
    """An improvement is published only when it lowers the plan's objective by this fraction."""
    metrics_addr: str | None = None
    """``HOST:PORT`` of the Prometheus ``/metrics`` endpoint (port 0 picks one); None: off."""
    http_addr: str | None = None
    """``HOST:PORT`` of the planners' web console (port 0 picks one); None: off. It needs
    ``token_file``'s token too when one is set."""
    sweeps_dir: Path | None = None
    """A folder the console lists sweep results from (``results.json`` below it); None: none."""
    lease_s: float = 0.0
    """Replicas: several servers on one PostgreSQL store split its plans, each plan served by
    the holder of its lease, which lasts this long unrenewed; 0 (the default): off."""
    replica_id: str = ""
    """This replica's name in the leases (unique per replica); empty: HOSTNAME:PORT."""
    advertise_addr: str = ""
    """Where clients reach this replica, as a refusal by another replica names it; empty:
    the bound address (the host name when bound to every interface)."""

    @property
    def max_message_bytes(self) -> int:
        return self.max_message_mb * 1024 * 1024


_MAX_CONFIG_BYTES = 1024 * 1024
_PATHS = {"data_dir", "tls_cert", "tls_key", "client_ca", "token_file", "sweeps_dir"}


def load_config(file: Path | None = None, env: dict[str, str] | None = None, **flags: Any) -> ServerConfig:
    """Defaults < TOML file < environment (``LEAN_SCHEDULER_ADDR`` ...) < flags (None = unset)."""
    config = ServerConfig()
    names = {f.name for f in fields(ServerConfig)}
    layers: list[tuple[str, dict[str, Any]]] = []
    if file is not None:
        try:
            if file.stat().st_size > _MAX_CONFIG_BYTES:
                raise InputError.single(str(file), f"is over {_MAX_CONFIG_BYTES} bytes: not a configuration file")
            table = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as error:  # TOMLDecodeError and UnicodeError are ValueErrors
            raise InputError.single(str(file), f"cannot read the configuration: {error}") from None
        server = table.get("server", table)
        if not isinstance(server, dict):
            raise InputError.single(f"{file}: server", "must be a table of settings")
        layers.append((str(file), server))
    env = dict(os.environ) if env is None else env
    prefix = "LEAN_SCHEDULER_"
    layers.append(("environment", {k[len(prefix) :].lower(): v for k, v in env.items() if k.startswith(prefix)}))
    layers.append(("flags", {k: v for k, v in flags.items() if v is not None}))
    for origin, values in layers:
        for key, value in values.items():
            if key not in names:
                if origin != "environment":
                    raise InputError.single(f"{origin}: {key}", "is not a known setting")
                continue
            config = replace(config, **{key: _typed(origin, key, value)})
    return config


def _typed(origin: str, key: str, value: Any) -> Any:
    default = getattr(ServerConfig(), key)
    try:
        if key in _PATHS:
            return Path(value)
        if isinstance(default, bool):
            return str(value).lower() in ("1", "true", "yes")
        if isinstance(default, int):
            number = int(value)
            if number < 0 or (key == "max_solves" and number < 1):
                raise ValueError
            return number
        if isinstance(default, float):
            return float(value)
    except (TypeError, ValueError):
        raise InputError.single(f"{origin}: {key}", f"invalid value {value!r}") from None
    return str(value)
