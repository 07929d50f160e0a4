"""The grpc.aio server: the SchedulerService, health checking and reflection, optional TLS
and token authentication, admission control and graceful shutdown on SIGTERM."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from scheduler.domain import InputError
from scheduler.domain.documents import DocumentLimits
from scheduler.engine import PlanBook
from scheduler.engine.improve import Improver
from scheduler.engine.live import Foresight
from scheduler.engine.replicas import ReplicaBook
from scheduler.service.auth import TokenInterceptor, read_token, refusal
from scheduler.service.config import ServerConfig
from scheduler.service.console import Console
from scheduler.service.console.backend import Backend
from scheduler.service.convert import pb, service_handler
from scheduler.service.metrics import Background, Exporter, Metrics, parse_addr
from scheduler.service.observe import CallInterceptor
from scheduler.service.servicer import SchedulerServicer
from scheduler.store import Lease, Leases, StoreError, StoreUrl, default_data_dir, parse_store_url

_LOG = logging.getLogger(__name__)

SERVICE = pb.DESCRIPTOR.services_by_name["SchedulerService"].full_name


class Server:
    """A running server: ``port`` is the bound port (useful with port 0), ``store`` where its
    plans are kept (shown without a password), ``metrics_port`` the metrics endpoint's (None
    when metrics are off), ``improver`` the background improver (None when off),
    ``http_port`` the web console's (None when off)."""

    def __init__(
        self,
        server: aio.Server,
        port: int,
        health: HealthServicer,
        servicer: SchedulerServicer,
        store: str,
        exporter: Exporter | None = None,
        improver: Improver | None = None,
        console: Console | None = None,
    ) -> None:
        self.server, self.port, self.health, self.servicer, self.store = server, port, health, servicer, store
        self.book, self.exporter, self.improver, self.console = servicer.book, exporter, improver, console
        self.metrics_port = exporter.port if exporter is not None else None
        self.http_port = console.port if console is not None else None
        """The web console's port (None when it is off)."""

    async def stop(self, grace: float | None) -> None:
        """Health goes NOT_SERVING, new calls are refused, in-flight calls get ``grace`` s;
        then the solves still running (of cancelled calls, told to stop) are waited for."""
        await self.health.enter_graceful_shutdown()
        if self.console is not None:  # its live streams would hold the shutdown
            await self.console.stop()
        await self.server.stop(grace)
        if self.improver is not None:
            await asyncio.to_thread(self.improver.close)
        await asyncio.to_thread(self.servicer.executor.shutdown, True)
        if self.exporter is not None:
            await asyncio.to_thread(self.exporter.stop)
        await asyncio.to_thread(self.book.close)


class _Gate(grpc.GenericRpcHandler):  # type: ignore[type-arg]  # not subscriptable at run time
    """The SchedulerService once the plans are loaded; until then its calls end UNAVAILABLE
    (health checks and reflection answer all along)."""

    def __init__(self) -> None:
        self.handler: grpc.GenericRpcHandler[Any, Any] | None = None
        self._streaming = {
            m.name: m.server_streaming for m in pb.DESCRIPTOR.services_by_name["SchedulerService"].methods
        }

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler[Any, Any] | None:
        if self.handler is not None:
            return self.handler.service(details)
        service, _, method = details.method.lstrip("/").partition("/")
        if service != SERVICE or method not in self._streaming:
            return None
        return refusal(self._streaming[method], grpc.StatusCode.UNAVAILABLE, "loading plans; retry shortly")


async def start_server(config: ServerConfig, predict: Foresight | None = None) -> Server:
    """Bind and start with health NOT_SERVING, open and check the store, rebuild the plans,
    then serve (health SERVING). Raises InputError on bad settings, and on a store that cannot
    be reached, read or written (naming it and why); the server is stopped then."""
    _check(config)
    data_dir = config.data_dir or default_data_dir()
    field = "store" if config.store is not None else "data_dir"
    try:
        where = parse_store_url(config.store, data_dir)
    except StoreError as error:
        raise InputError.single(field, str(error)) from None
    if config.lease_s and where.url is None:
        raise InputError.single(
            "lease_s", f"replicas need a PostgreSQL store (--store postgresql://...), not {where.shown}"
        )
    metrics = Metrics()
    token = _token(config)
    server, health, gate = _server(config, metrics, token)
    for name in ("", SERVICE):  # the health servicer starts SERVING for ""
        await health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    port = _bind(server, config)
    console = Console(config.http_addr) if config.http_addr is not None else None  # bound: fails before starting
    await server.start()
    exporter = None
    try:
        exporter = Exporter(config.metrics_addr, metrics) if config.metrics_addr is not None else None
        book = await _load(where, field, predict, _replica(config, port), config.lease_s)
    except BaseException:
        if exporter is not None:
            exporter.stop()
        if console is not None:
            await console.stop()
        await server.stop(None)
        raise
    limits = DocumentLimits(max_bytes=config.max_document_mb * 1024 * 1024)
    servicer = SchedulerServicer(book, config.max_solves, config.deadline_margin_ms, limits, metrics)
    _gauges(metrics, servicer)
    gate.handler = service_handler(servicer)
    for name in ("", SERVICE):
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    improver = Improver(book, config.improve_share, config.improve_min_gain) if config.improve_share else None
    if improver is not None:
        metrics.registry.register(Background(lambda: (improver.passes, improver.preempted, improver.published)))
    if console is not None:
        console.start(_backend(config, servicer, token))
    return Server(server, port, health, servicer, where.shown, exporter, improver.start() if improver else None,
                  console)  # fmt: skip


def _backend(config: ServerConfig, servicer: SchedulerServicer, token: str | None) -> Backend:
    """The web console's view of this server: the same loop, book, admission, pool and token."""
    loop = asyncio.get_running_loop()

    def read(work: Callable[[], Any]) -> Any:
        return loop.run_in_executor(servicer.executor, contextvars.copy_context().run, work)

    return Backend(servicer.book, servicer.admit, read, token, config.sweeps_dir)


def _check(config: ServerConfig) -> None:
    """Settings that fail before anything is opened."""
    if not 0 <= config.improve_share <= 1 or not 0 <= config.improve_min_gain < 1:
        field = "improve_share" if not 0 <= config.improve_share <= 1 else "improve_min_gain"
        raise InputError.single(field, f"must lie in [0, 1], got {getattr(config, field)}")
    if config.metrics_addr is not None:
        parse_addr(config.metrics_addr)
    if config.http_addr is not None:
        parse_addr(config.http_addr, "http_addr")
    if config.lease_s and not 0.5 <= config.lease_s <= 3600:
        raise InputError.single("lease_s", f"a lease lasts 0.5 to 3600 s (0: no replicas), got {config.lease_s}")


def _replica(config: ServerConfig, port: int) -> Lease | None:
    """This replica's name and address in the leases (None: replicas off)."""
    if not config.lease_s:
        return None
    host = config.addr.rsplit(":", 1)[0]
    if host in ("", "0.0.0.0", "[::]"):  # every interface: clients need a name
        host = socket.gethostname()
    return Lease(config.replica_id or f"{socket.gethostname()}:{port}", config.advertise_addr or f"{host}:{port}")


def _gauges(metrics: Metrics, servicer: SchedulerServicer) -> None:
    book = servicer.book
    metrics.watch(
        lambda: servicer.solves_in_flight,
        lambda: sum(s.latest is not None for s in book.summaries()),
        lambda: sum(s.latest.version for s in book.summaries() if s.latest is not None),
    )


def _token(config: ServerConfig) -> str | None:
    if config.token_file is None:
        return None
    token = read_token(_read(config.token_file, "token_file"))
    if not token:
        raise InputError.single("token_file", f"{config.token_file} holds no token")
    return token


def _server(config: ServerConfig, metrics: Metrics, token: str | None) -> tuple[aio.Server, HealthServicer, _Gate]:
    """The server with its interceptors, health, reflection and the gated SchedulerService."""
    interceptors: list[aio.ServerInterceptor[Any, Any]] = [CallInterceptor(metrics)]  # first: it sees refused calls too
    if token is not None:
        interceptors.append(TokenInterceptor(token))
    options = [
        ("grpc.max_receive_message_length", config.max_message_bytes),
        ("grpc.max_send_message_length", config.max_message_bytes),
    ]
    server = aio.server(interceptors=interceptors, options=options)
    gate = _Gate()
    server.add_generic_rpc_handlers((gate,))
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection([SERVICE, "grpc.health.v1.Health", reflection.SERVICE_NAME], server)
    return server, health, gate


async def _load(
    where: StoreUrl, field: str, predict: Foresight | None, replica: Lease | None, lease_s: float
) -> PlanBook:
    began = time.perf_counter()
    try:
        store = await asyncio.to_thread(where.open)
    except StoreError as error:
        raise InputError.single(field, str(error)) from None
    _LOG.info("store %s opened and checked in %.0f ms", where.shown, (time.perf_counter() - began) * 1000)
    try:
        if replica is None:
            return await asyncio.to_thread(PlanBook, store, predict)
        assert isinstance(store, Leases)  # a PostgreSQL store: start_server checked
        return await asyncio.to_thread(ReplicaBook, store, store, replica, lease_s, predict)
    except BaseException:
        store.close()
        raise


def _bind(server: aio.Server, config: ServerConfig) -> int:
    if (config.tls_cert is None) != (config.tls_key is None):
        raise InputError.single(
            "tls_key" if config.tls_key is None else "tls_cert", "TLS needs both a certificate and a key"
        )
    if config.client_ca is not None and config.tls_cert is None:
        raise InputError.single("client_ca", "mutual TLS needs the server's own --tls-cert and --tls-key")
    try:
        if config.tls_cert is not None and config.tls_key is not None:
            credentials = grpc.ssl_server_credentials(
                [(_read(config.tls_key, "tls_key").encode(), _read(config.tls_cert, "tls_cert").encode())],
                root_certificates=_read(config.client_ca, "client_ca").encode() if config.client_ca else None,
                require_client_auth=config.client_ca is not None,
            )
            port = server.add_secure_port(config.addr, credentials)
        else:
            port = server.add_insecure_port(config.addr)
    except RuntimeError as error:
        raise InputError.single("addr", f"cannot listen on {config.addr!r}: {error}") from None
    if port == 0:
        raise InputError.single("addr", f"cannot listen on {config.addr!r}")
    return port


def _read(path: Path, field: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError.single(field, f"cannot read {path}: {error.strerror}") from None


async def serve(
    config: ServerConfig, ready: Callable[[Server], None] | None = None, predict: Foresight | None = None
) -> None:
    """Serve until SIGTERM or SIGINT, then shut down gracefully. ``predict`` answers the
    ``verify: twin`` rules (``twin.whatif.TwinCheck``; None: those rules do not fire)."""
    running = await start_server(config, predict)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    if ready is not None:
        ready(running)
    await stopped.wait()
    _LOG.warning("shutting down: finishing calls in flight")  # a log line: stderr stays JSON with --log-format json
    await running.stop(config.grace_s)
