"""With a token, the console refuses every page and stream without it (401 and a login
page), takes it as a bearer header or from the login form's cookie."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import grpc
import pytest
from playwright.sync_api import Page, expect

from scheduler.service.convert import pb, pb_grpc
from scheduler.service.server import Server
from tests.console.browser import screenshot_path
from tests.console.conftest import url
from tests.service.harness import config, document, running

TOKEN = "s3cret-console-token"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("guarded")
    (data / "token").write_text(TOKEN + "\n")
    with running(config(data, http_addr="127.0.0.1:0", token_file=data / "token")) as started:
        yield started


def _status(address: str, token: str | None = None, cookie: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if cookie is not None:
        headers["Cookie"] = f"lean_scheduler_console={cookie}"
    request = urllib.request.Request(address, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code


@pytest.mark.parametrize("path", ["/", "/plans/any", "/plans/any/stream", "/plans/any/whatif", "/sweeps"])
def test_every_page_and_stream_needs_the_token(guarded: Server, path: str) -> None:
    assert _status(url(guarded, path)) == 401
    assert _status(url(guarded, path), "wrong") == 401


def test_the_bearer_token_lets_a_client_in(guarded: Server) -> None:
    assert _status(url(guarded, "/"), TOKEN) == 200


def test_the_page_refuses_a_browser_without_the_token_until_it_signs_in(guarded: Server, page: Page) -> None:
    new_plan_with_token(guarded)
    answer = page.goto(url(guarded, "/plans/secured"))
    assert answer is not None and answer.status == 401
    expect(page.locator("#live")).to_have_count(0)
    page.screenshot(path=screenshot_path("login"), full_page=True)
    page.locator("#token").fill("wrong")
    page.locator("button[type=submit]").click()
    expect(page.locator(".error")).to_have_text("wrong token")
    page.locator("#token").fill(TOKEN)
    page.locator("button[type=submit]").click()
    page.wait_for_url("**/plans/secured")
    expect(page.locator("#live rect[data-op]").first).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "lean_scheduler_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    # the browser keeps a value derived from the token, never the token (it opens the gRPC service too)
    assert TOKEN not in cookie["value"]
    assert _status(url(guarded, "/"), cookie=cookie["value"]) == 200
    assert _status(url(guarded, "/"), cookie=TOKEN) == 401


def new_plan_with_token(server: Server) -> None:
    """CreatePlan over gRPC with the same token (the console and the service share it)."""
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        pb_grpc.SchedulerServiceStub(channel).CreatePlan(
            pb.CreatePlanRequest(plan_id="secured", scenario=document()),
            metadata=(("authorization", f"Bearer {TOKEN}"),),
        )
