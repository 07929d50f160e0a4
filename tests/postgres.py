"""A real PostgreSQL server for the tests: the distribution's binaries, a cluster made by
``initdb`` in a temporary directory, listening on a free loopback port (its unix socket in
that directory), stopped and removed at the end. As root, the server runs as the
``postgres`` system user (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.installed import missing

if TYPE_CHECKING:
    import psycopg

INSTALL = ".ci/install-postgres.sh"


def bindir() -> Path | None:
    """Where initdb and pg_ctl are: ``pg_config --bindir``, else the newest
    /usr/lib/postgresql/*/bin, else the PATH."""
    candidates = []
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
        candidates.append(Path(found.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    return next((c for c in candidates if (c / "initdb").exists() and (c / "pg_ctl").exists()), None)


def binaries_or_skip() -> Path:
    """The binaries; without them the test is skipped, except in CI (``CI`` set), where it
    fails: a skip must not hide a missing install."""
    found = bindir()
    if found is None:
        missing(f"no PostgreSQL server binaries (initdb, pg_ctl) found; {INSTALL} installs them")
    return found


def connect(url: str, autocommit: bool = False) -> psycopg.Connection[Any]:
    """A psycopg connection, imported here only: without libpq (and then without a server to
    test against) the rest of the tests still load."""
    import psycopg  # noqa: PLC0415

    return psycopg.connect(url, autocommit=autocommit)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresServer:
    port: int
    admin: str
    """The URL of the ``postgres`` database, to create others."""
    ctl: list[str]
    """pg_ctl with its data directory (run as the server's user)."""
    log: Path

    def database(self, name: str) -> str:
        """A new, empty database; its URL."""
        with connect(self.admin, autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def restart(self) -> None:
        """Stop at once (connections cut, as in a crash) and start again."""
        _run([*self.ctl, "restart", "--mode=immediate", "--wait", "--timeout=60", "-l", str(self.log)])


@contextlib.contextmanager
def postgres_server(binaries: Path) -> Iterator[PostgresServer]:
    root = Path(tempfile.mkdtemp(prefix="lean-scheduler-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")  # the package's system user; KeyError when there is none
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", free_port()
    try:
        run = [*as_user, str(binaries / "pg_ctl"), "-D", str(data)]
        _run([*run, "initdb", "-o", "--auth=trust --username=postgres --encoding=UTF8 --no-sync"])
        options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root}"
        _run([*run, "start", "--wait", "--timeout=60", "-l", str(root / "log"), "-o", options])
        try:  # a log file, else the server would hold our output pipes open
            yield PostgresServer(port, f"postgresql://postgres@127.0.0.1:{port}/postgres", run, root / "log")
        finally:
            _run([*run, "stop", "--mode=immediate", "--wait"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
