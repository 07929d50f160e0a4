"""Fixtures shared across the test packages."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.postgres import INSTALL, PostgresServer, bindir, postgres_server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session. Without its binaries the tests that need it
    are skipped, except in CI (``CI`` set), where they fail: a skip must not hide a missing
    install."""
    binaries = bindir()
    if binaries is None:
        reason = f"no PostgreSQL server binaries (initdb, pg_ctl) found; {INSTALL} installs them"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with postgres_server(binaries) as server:
        yield server
