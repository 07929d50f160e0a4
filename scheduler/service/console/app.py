"""The console's routes: authentication, error pages, the live stream; the pages
themselves are rendered by ``pages``, ``line``, ``whatif`` and ``sweeps``."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from html import escape
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from scheduler.domain import InputError
from scheduler.engine import EventRejected, PlanDamaged, PlanElsewhere, PlanNotFound, Version
from scheduler.service.console import line, pages, sweeps, whatif
from scheduler.service.console.backend import Backend, form_fields
from scheduler.service.console.layout import page, problem_list
from scheduler.service.servicer import Overloaded

_LOG = logging.getLogger(__name__)
COOKIE = "lean_scheduler_console"
_OPEN = {"/login"}


class _Auth(BaseHTTPMiddleware):
    """Bearer token or the login cookie on every page and stream but the login form."""

    def __init__(self, app: Any, token: str | None) -> None:
        super().__init__(app)
        self._token = token

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if self._token is None or request.url.path in _OPEN or allowed(request, self._token):
            return await call_next(request)
        return HTMLResponse(
            pages.login(request.url.path, ""),
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="lean-scheduler"'},
        )


def allowed(request: Request, token: str) -> bool:
    header = request.headers.get("authorization", "")
    if header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").encode(), token.encode())
    return hmac.compare_digest(request.cookies.get(COOKIE, "").encode(), session(token).encode())


def session(token: str) -> str:
    """The sign-in cookie's value: derived from the token, so a browser never keeps the token
    itself (which would also open the gRPC service); a new token ends every sign-in."""
    return hmac.new(token.encode(), b"lean-scheduler console session", hashlib.sha256).hexdigest()


def create_app(backend: Backend) -> Starlette:
    routes = [
        Route("/", _wrap(backend, pages.plans)),
        Route("/login", _login(backend), methods=["GET", "POST"]),
        Route("/plans/{plan_id}", _wrap(backend, pages.plan)),
        Route("/plans/{plan_id}/live", _wrap(backend, pages.live_fragment)),
        Route("/plans/{plan_id}/versions/{version:int}", _wrap(backend, pages.version)),
        Route("/plans/{plan_id}/line", _wrap(backend, line.state)),
        Route("/plans/{plan_id}/whatif", _wrap(backend, whatif.page_of)),
        Route("/plans/{plan_id}/whatif", _wrap(backend, whatif.run), methods=["POST"]),
        Route("/plans/{plan_id}/stream", _stream(backend)),
        Route("/sweeps", _wrap(backend, sweeps.index)),
        Route("/sweeps/{index:int}", _wrap(backend, sweeps.one)),
        Route("/sweeps/{index:int}/pareto.svg", _wrap(backend, sweeps.pareto)),
    ]
    return Starlette(routes=routes, middleware=[Middleware(_Auth, token=backend.token)])


Handler = Callable[[Backend, Request], Awaitable[Response]]


def _wrap(backend: Backend, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Refusals as pages naming what was wrong, never a traceback."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(backend, request)
        except Exception as error:  # a bug too ends as a page, the cause in the server's log
            return refusal(error)

    return endpoint


def refusal(error: Exception) -> Response:
    """The page (or fragment, for the what-if form) that ``error`` stands for."""
    if isinstance(error, EventRejected | InputError):
        return HTMLResponse(problem_list(error.error if isinstance(error, EventRejected) else error), status_code=400)
    said = f"<p class='error'>{escape(str(error))}</p>"
    if isinstance(error, PlanElsewhere):  # a replica that does not hold the plan's lease
        return HTMLResponse(page("Elsewhere", said), status_code=409)
    if isinstance(error, PlanNotFound | PlanDamaged):
        return HTMLResponse(page("Not found", said), status_code=404)
    if isinstance(error, Overloaded):
        return HTMLResponse(said, status_code=503)
    _LOG.error("console: internal error", exc_info=error)
    return HTMLResponse(
        page("Error", "<p class='error'>internal error; the server logged the cause</p>"), status_code=500
    )


def _login(backend: Backend) -> Callable[[Request], Awaitable[Response]]:
    async def login(request: Request) -> Response:
        target = request.query_params.get("next", "/")
        target = target if target.startswith("/") and target[1:2] not in ("/", "\\") else "/"  # never off-site
        if request.method == "GET":
            return HTMLResponse(pages.login(target, ""))
        given = (await form_fields(request)).get("token", "")
        if backend.token is None or hmac.compare_digest(given.encode(), backend.token.encode()):
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(COOKIE, session(given), httponly=True, samesite="strict")
            return response
        return HTMLResponse(pages.login(target, "wrong token"), status_code=401)

    return login


def _stream(backend: Backend) -> Callable[[Request], Awaitable[Response]]:
    """Server-sent events: each new version's number, from the WatchPlan subscription."""

    async def stream(request: Request) -> Response:
        plan_id = request.path_params["plan_id"]
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Version | None] = asyncio.Queue()

        def listener(version: Version | None) -> None:  # called on an engine thread
            loop.call_soon_threadsafe(queue.put_nowait, version)

        try:
            backend.book.watch(plan_id, 0, listener)
        except (PlanNotFound, PlanDamaged, PlanElsewhere) as error:
            return HTMLResponse(escape(str(error)), status_code=409 if isinstance(error, PlanElsewhere) else 404)
        return StreamingResponse(
            _events(backend, plan_id, queue, listener),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache"},
        )

    return stream


async def _events(
    backend: Backend, plan_id: str, queue: asyncio.Queue[Version | None], listener: Callable[[Version | None], None]
) -> AsyncIterator[str]:
    closing = asyncio.ensure_future(backend.closing.wait())
    got: asyncio.Future[Version | None] | None = None
    try:
        yield "retry: 2000\n\n"
        while not backend.closing.is_set():
            got = got if got is not None and not got.done() else asyncio.ensure_future(queue.get())
            waiting: set[asyncio.Future[Any]] = {got, closing}
            done, _ = await asyncio.wait(waiting, timeout=15, return_when=asyncio.FIRST_COMPLETED)
            if got not in done:
                yield ": keep-alive\n\n"  # proxies close silent connections; the same get waits on
                continue
            version = got.result()
            if version is None:
                yield "event: deleted\ndata: \n\n"
                return
            yield f"event: version\ndata: {version.version}\n\n"
    finally:
        for pending in (closing, got):  # the client left or the server stops: nothing is left pending
            if pending is not None:
                pending.cancel()
        backend.book.unwatch(plan_id, listener)
