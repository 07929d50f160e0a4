"""The console's settings: a bad or busy address is refused naming ``http_addr``; it is off
by default; it stops with the server."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from pathlib import Path

import pytest

from scheduler.cli.parser import build_parser
from scheduler.domain import InputError
from scheduler.service.config import load_config
from scheduler.service.server import start_server
from tests.console.conftest import url
from tests.service.harness import config, running


@pytest.mark.parametrize("addr", ["nonsense", "127.0.0.1:99999", "busy"])
def test_a_bad_or_busy_address_is_named(tmp_path: Path, addr: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        if addr == "busy":
            addr = f"127.0.0.1:{taken.getsockname()[1]}"
        with pytest.raises(InputError) as refused:
            asyncio.run(start_server(config(tmp_path, http_addr=addr)))
    assert refused.value.problems[0].field == "http_addr"


def test_off_by_default_and_stopped_with_the_server(tmp_path: Path) -> None:
    with running(config(tmp_path)) as plain:
        assert plain.http_port is None
    with running(config(tmp_path, http_addr="127.0.0.1:0")) as server:
        with urllib.request.urlopen(url(server), timeout=10) as answer:
            assert answer.status == 200
        address = url(server)
    with pytest.raises(OSError):
        urllib.request.urlopen(address, timeout=5)


def test_the_serve_flags_reach_the_config(tmp_path: Path) -> None:
    args = build_parser().parse_args(["serve", "--http-addr", "127.0.0.1:0", "--sweeps-dir", str(tmp_path)])
    settings = load_config(None, env={}, http_addr=args.http_addr, sweeps_dir=args.sweeps_dir)
    assert (settings.http_addr, settings.sweeps_dir) == ("127.0.0.1:0", tmp_path)
