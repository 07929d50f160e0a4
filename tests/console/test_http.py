"""The console without a browser: refusals name what was wrong, with the right status, and
never show a traceback."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from scheduler.service.server import Server
from tests.console.conftest import new_plan, url


def _answer(address: str, form: str | None = None) -> tuple[int, str]:
    data = form.encode() if form is not None else None
    try:
        with urllib.request.urlopen(urllib.request.Request(address, data=data), timeout=30) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


@pytest.mark.parametrize("path", ["/plans/none", "/plans/none/versions/1", "/plans/none/line", "/plans/none/stream"])
def test_an_unknown_plan_is_not_found(server: Server, path: str) -> None:
    status, body = _answer(url(server, path))
    assert status == 404
    assert "no plan 'none'" in body or "no plan &#x27;none&#x27;" in body


@pytest.fixture(scope="module")
def plan(server: Server) -> str:
    new_plan(server, "refusals")
    return "refusals"


@pytest.mark.parametrize(
    ("form", "named"),
    [
        ("kanban.cut-%3Eweld=-1", "kanban.cut-&gt;weld"),
        ("kanban.paint=2", "kanban.paint"),
        ("conwip=many", "conwip"),
        ("down.machine=WELD-1&down.duration=0", "down.duration"),
        ("down.machine=NOPE&down.duration=5", "down.machine"),
        ("", "form"),
    ],
)
def test_a_bad_what_if_field_is_named(server: Server, plan: str, form: str, named: str) -> None:
    status, body = _answer(url(server, f"/plans/{plan}/whatif"), form)
    assert status == 400
    assert f"<b>{named}</b>" in body
    assert "Traceback" not in body


def test_a_version_beyond_the_latest_is_not_found(server: Server) -> None:
    new_plan(server, "short")
    assert _answer(url(server, "/plans/short/versions/9"))[0] == 404
