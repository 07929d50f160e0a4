"""The documentation as a user meets it: every ``lean-scheduler`` command shown parses,
every relative link (and its anchor) resolves, and every Python example runs."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scheduler.cli import build_parser
from tests.service.harness import config, running

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "scenarios").rglob("README.md"), *(ROOT / "docs").rglob("*.md")])
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
_INLINE = re.compile(r"`(lean-scheduler [^`]+)`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _commands(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    shown = [m for _, block in _FENCE.findall(text) for m in block.splitlines()]
    shown += _INLINE.findall(text)
    commands = []
    for shown_line in shown:
        line = shown_line.strip().removeprefix("$ ").removeprefix(".venv/bin/")
        if line.startswith("lean-scheduler "):
            commands.append(line.split("#")[0].strip().rstrip("&").strip())
    return commands


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices) if actions else {}


def _check_command(line: str) -> list[str]:
    """The problems with a shown command: unknown subcommands or options."""
    tokens = [t.strip("[]()|,.;:") for t in line.split()[1:]]
    parser, chain, problems = build_parser(), list[str](), list[str]()
    for token in tokens:
        if token.startswith("--"):
            name = token.split("=")[0]
            if name not in parser._option_string_actions:
                problems.append(f"{' '.join(chain)}: no option {name}")
            continue
        children = _subparsers(parser)
        names = [t for t in token.split("|") if t]
        if children and names and all(n in children for n in names):
            chain.append(names[0])
            parser = children[names[0]]
        elif children and not chain and token:
            problems.append(f"no command {token!r}")
    if not chain and not {"--help", "--version"} & set(tokens):
        problems.append("no command")
    return problems


ALL_COMMANDS = sorted({(page.relative_to(ROOT).as_posix(), c) for page in PAGES for c in _commands(page)})


def test_the_docs_show_commands():
    assert len(ALL_COMMANDS) > 20


@pytest.mark.parametrize(("page", "command"), ALL_COMMANDS)
def test_every_shown_command_parses(page, command, capsys):
    assert _check_command(command) == [], f"{page}: {command}"
    chain = []
    parser = build_parser()
    for token in command.split()[1:]:
        children = _subparsers(parser)
        name = token.strip("[]").split("|")[0]
        if name in children:
            chain.append(name)
            parser = children[name]
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([*chain, "--help"])
    assert done.value.code == 0


def test_the_command_check_catches_what_it_should():
    assert _check_command("lean-scheduler solve x --no-such-flag") == ["solve: no option --no-such-flag"]
    assert _check_command("lean-scheduler frobnicate x") != []
    assert _check_command("lean-scheduler client --addr A create|get x") == []


def _slug(heading: str) -> str:
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    return {_slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def _links(page: Path) -> list[str]:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    return [t for t in _LINK.findall(text) if not re.match(r"^[a-z]+:", t)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    broken = []
    for target in _links(page):
        path, _, anchor = target.partition("#")
        where = (page.parent / path).resolve() if path else page
        if not where.exists() or (anchor and where.suffix == ".md" and anchor not in _anchors(where)):
            broken.append(target)
    assert broken == []


def _python_examples() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for k, (lang, block) in enumerate(_FENCE.findall(page.read_text(encoding="utf-8"))):
            if lang == "python":
                found.append((f"{page.relative_to(ROOT).as_posix()}#{k}", block))
    return found


@pytest.mark.parametrize(("where", "code"), _python_examples(), ids=[w for w, _ in _python_examples()])
def test_every_python_example_runs(where, code, tmp_path):
    if "SchedulerClient" not in code:
        _run(code)
        return
    with running(config(tmp_path)) as server:
        if "create_plan" not in code:  # it talks to the plan the quick start created
            _run(_create_demo_plan(server.port))
        _run(code.replace("127.0.0.1:50051", f"127.0.0.1:{server.port}"))


def _create_demo_plan(port: int) -> str:
    return (
        "from pathlib import Path\nfrom scheduler.client import SchedulerClient\n"
        f"SchedulerClient('127.0.0.1:{port}').create_plan(Path('scenarios/demo_line.yaml'), plan_id='line-1')\n"
    )


def _run(code: str) -> None:
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
