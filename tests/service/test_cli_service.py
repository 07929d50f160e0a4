"""The service commands: client, mes-sim against a real server; serve's bad settings."""

from __future__ import annotations

import json

import pytest

from scheduler.cli import main
from scheduler.service.config import ServerConfig, load_config
from tests.service.harness import SMALL, config, running

EVENTS = """events:
  - {type: downtime_started, event_id: s1, time: 5, machine: WELD-1, downtime_id: w1, expected_duration: 10}
  - {type: cycle_time_observed, event_id: c1, time: 8, station: pack, factor: 1.02}
  - {type: downtime_ended, event_id: s2, time: 12, machine: WELD-1, downtime_id: w1}
"""


def test_mes_sim_replays_the_script_and_writes_a_checked_result(tmp_path, capsys):
    (tmp_path / "events.yaml").write_text(EVENTS)
    with running(config(tmp_path / "data")) as server:
        code = main(["mes-sim", str(SMALL), "--addr", f"127.0.0.1:{server.port}", "--events",
                     str(tmp_path / "events.yaml"), "--plan-id", "sim", "--out", str(tmp_path / "r.json"),
                     "--gantt", str(tmp_path / "g.html")])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    result = json.loads((tmp_path / "r.json").read_text())
    assert [e["event_id"] for e in result["events"]] == ["s1", "c1", "s2"]
    assert all(e["valid"] for e in result["events"])
    assert result["events"][1]["tier"] == "none"  # within the takt tolerance
    assert result["version"] == 3 and "repaired by the server" in (tmp_path / "g.html").read_text()
    assert out.count("\n  s1 ") + out.count("\n  c1 ") + out.count("\n  s2 ") == 3


def test_client_commands_and_their_errors(tmp_path, capsys):
    (tmp_path / "events.yaml").write_text(EVENTS)
    with running(config(tmp_path / "data")) as server:
        addr = ["--addr", f"127.0.0.1:{server.port}"]
        assert main(["client", *addr, "create", str(SMALL), "--plan-id", "c"]) == 0
        assert main(["client", *addr, "events", "c", str(SMALL), "--events", str(tmp_path / "events.yaml")]) == 0
        assert main(["client", *addr, "list"]) == 0
        out = capsys.readouterr().out
        assert "created plan c version 1" in out and "s1: version 2" in out and "c  v3  18 ops" in out
        assert main(["client", *addr, "get", "c", "--version", "2"]) == 0
        assert json.loads(capsys.readouterr().out)["version"] == "2"
        assert main(["client", *addr, "get", "missing"]) == 2
        assert capsys.readouterr().err.strip() == "lean-scheduler: error: NOT_FOUND: no plan 'missing'"
        capsys.readouterr()
        assert main(["client", *addr, "what-if", "c", "--kanban", "cut->weld=2", "--budget-ms", "100"]) == 0
        assert "(+0), weighted tardiness" in capsys.readouterr().out  # the cap it has: nothing changes
        assert main(["client", *addr, "what-if", "c", "--kanban", "cut->nowhere=2"]) == 2
        assert "kanban_caps[0].buffer: unknown buffer 'cut->nowhere'" in capsys.readouterr().err
        assert main(["client", *addr, "what-if", "c", "--events", str(tmp_path / "events.yaml")]) == 2
        assert "--scenario" in capsys.readouterr().err
        assert main(["client", *addr, "delete", "c"]) == 0
    assert main(["client", "--addr", "127.0.0.1:9", "list"]) == 1  # nobody there
    assert capsys.readouterr().err.startswith("lean-scheduler: error: UNAVAILABLE")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--tls-cert", "server.pem"], "tls_key: TLS needs both a certificate and a key"),
        (["--addr", "256.1.1.1:1"], "addr: cannot listen on '256.1.1.1:1'"),
        (["--metrics-addr", "9464"], "metrics_addr: '9464' is not HOST:PORT (e.g. 127.0.0.1:9464)"),
        (["--config", "bad.toml"], "bad.toml: cannot read the configuration"),
        (["--config", "unknown.toml"], "unknown.toml: colour: is not a known setting"),
        (["--config", "deep.toml"], "deep.toml: cannot read the configuration: maximum recursion depth exceeded"),
        (["--config", "big.toml"], "big.toml: is over 1048576 bytes: not a configuration file"),
        (["--config", "flat.toml"], "flat.toml: server: must be a table of settings"),
        (["--store", "mysql://root:hunter2@db/x"], "store: 'mysql://root:***@db/x' is not a store URL"),
        (
            ["--addr", "127.0.0.1:0", "--store", "postgresql://u:hunter2@127.0.0.1:9/x"],
            "store: cannot connect to postgresql://u:***@127.0.0.1:9/x",
        ),
    ],
)
def test_serve_refuses_bad_settings_in_one_line(tmp_path, capsys, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_text("addr = \n")
    (tmp_path / "unknown.toml").write_text("[server]\ncolour = 'red'\n")
    (tmp_path / "deep.toml").write_text("a = " + "[" * 100_000 + "\n")
    (tmp_path / "big.toml").write_text("# " + "x" * 2_000_000 + "\n")
    (tmp_path / "flat.toml").write_text("server = 5\n")
    assert main(["serve", "--data-dir", str(tmp_path / "d"), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err, err
    assert "hunter2" not in err


def test_settings_layer_file_then_environment_then_flags(tmp_path):
    (tmp_path / "s.toml").write_text("[server]\naddr = '127.0.0.1:7000'\nmax_solves = 3\ngrace_s = 2.5\n")
    env = {"LEAN_SCHEDULER_MAX_SOLVES": "4", "LEAN_SCHEDULER_DATA_DIR": str(tmp_path / "d"),
           "LEAN_SCHEDULER_STORE": "postgresql://planner@db/lean"}  # fmt: skip
    settings = load_config(tmp_path / "s.toml", env=env, addr="127.0.0.1:7001", max_solves=None)
    assert (settings.addr, settings.max_solves, settings.grace_s) == ("127.0.0.1:7001", 4, 2.5)
    assert settings.data_dir == tmp_path / "d" and settings.store == "postgresql://planner@db/lean"
    assert load_config(env={}) == ServerConfig()
