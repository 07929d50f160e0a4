"""uvicorn inside the gRPC server's event loop: no lifespan, no signal handlers of its own
(SIGTERM belongs to the gRPC server, which stops the console with itself)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn

from scheduler.domain import InputError
from scheduler.service.console.app import create_app
from scheduler.service.console.backend import Backend
from scheduler.service.metrics import parse_addr

_LOG = logging.getLogger(__name__)


class _Quiet(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the gRPC server's handlers stay in place


class Console:
    """The console on ``addr`` (port 0 picks one: ``port`` is the bound one). Bound when made,
    so that a bad or busy address fails before the server starts; serving from ``start``."""

    def __init__(self, addr: str) -> None:
        host, port = parse_addr(addr, "http_addr")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
        except OSError as error:
            self._socket.close()
            raise InputError.single("http_addr", f"cannot listen on {addr!r}: {error.strerror}") from None
        self._socket.listen(128)
        self._socket.setblocking(False)
        self.port: int = self._socket.getsockname()[1]
        self._backend: Backend | None = None
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self, backend: Backend) -> Console:
        config = uvicorn.Config(
            create_app(backend), lifespan="off", log_level="warning", access_log=False, timeout_graceful_shutdown=2
        )
        self._backend, self._server = backend, _Quiet(config)
        self._task = asyncio.get_running_loop().create_task(self._server.serve(sockets=[self._socket]))
        _LOG.info("console on port %d", self.port)
        return self

    async def stop(self) -> None:
        """Live streams end first, then uvicorn closes its connections."""
        if self._backend is not None and self._server is not None:
            self._backend.closing.set()
            self._server.should_exit = True
        if self._task is not None:
            await self._task
        self._socket.close()
