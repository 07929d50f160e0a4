"""The grpc.aio server: the SchedulerService, health checking and reflection, optional TLS
and token authentication, admission control and graceful shutdown on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
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
from scheduler.service.auth import TokenInterceptor, read_token
from scheduler.service.config import ServerConfig
from scheduler.service.convert import pb, service_handler
from scheduler.service.metrics import Exporter, Metrics, parse_addr
from scheduler.service.observe import CallInterceptor
from scheduler.service.servicer import SchedulerServicer
from scheduler.store import SqliteStore, StoreError, default_data_dir

_LOG = logging.getLogger(__name__)

SERVICE = pb.DESCRIPTOR.services_by_name["SchedulerService"].full_name


class Server:
    """A running server: ``port`` is the bound port (useful with port 0); ``metrics_port``
    the metrics endpoint's (None when metrics are off)."""

    def __init__(
        self,
        server: aio.Server,
        port: int,
        health: HealthServicer,
        servicer: SchedulerServicer,
        exporter: Exporter | None = None,
        improver: Improver | None = None,
    ) -> None:
        self.server, self.port, self.health, self.servicer = server, port, health, servicer
        self.book, self.exporter, self.improver = servicer.book, exporter, improver
        self.metrics_port = exporter.port if exporter is not None else None

    async def stop(self, grace: float | None) -> None:
        """Health goes NOT_SERVING, new calls are refused, in-flight calls get ``grace`` s;
        then the solves still running (of cancelled calls, told to stop) are waited for."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        if self.improver is not None:
            await asyncio.to_thread(self.improver.close)
        await asyncio.to_thread(self.servicer.executor.shutdown, True)
        if self.exporter is not None:
            await asyncio.to_thread(self.exporter.stop)
        self.book.store.close()


async def start_server(config: ServerConfig, predict: Foresight | None = None) -> Server:
    """Open and check the store, rebuild the plans, bind and start. Raises InputError on bad
    settings, and on a store that cannot be read or written (naming the file and why)."""
    if not 0 <= config.improve_share <= 1 or not 0 <= config.improve_min_gain < 1:
        field = "improve_share" if not 0 <= config.improve_share <= 1 else "improve_min_gain"
        raise InputError.single(field, f"must lie in [0, 1], got {getattr(config, field)}")
    if config.metrics_addr is not None:
        parse_addr(config.metrics_addr)  # a bad address fails before the store is opened
    data_dir = config.data_dir or default_data_dir()
    try:
        store = await asyncio.to_thread(SqliteStore, data_dir)
    except StoreError as error:
        raise InputError.single("data_dir", str(error)) from None
    _LOG.info("store %s checked in %.0f ms", store.path, store.check_ms)
    book = await asyncio.to_thread(PlanBook, store, predict)
    metrics = Metrics()
    interceptors: list[aio.ServerInterceptor[Any, Any]] = [CallInterceptor(metrics)]  # first: it sees refused calls too
    if config.token_file is not None:
        token = read_token(_read(config.token_file, "token_file"))
        if not token:
            raise InputError.single("token_file", f"{config.token_file} holds no token")
        interceptors.append(TokenInterceptor(token))
    options = [
        ("grpc.max_receive_message_length", config.max_message_bytes),
        ("grpc.max_send_message_length", config.max_message_bytes),
    ]
    server = aio.server(interceptors=interceptors, options=options)
    limits = DocumentLimits(max_bytes=config.max_document_mb * 1024 * 1024)
    servicer = SchedulerServicer(book, config.max_solves, config.deadline_margin_ms, limits, metrics)
    _gauges(metrics, servicer)
    server.add_generic_rpc_handlers((service_handler(servicer),))
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection([SERVICE, "grpc.health.v1.Health", reflection.SERVICE_NAME], server)
    exporter = Exporter(config.metrics_addr, metrics) if config.metrics_addr is not None else None
    try:
        port = _bind(server, config)
    except InputError:
        if exporter is not None:
            exporter.stop()
        raise
    await server.start()
    for name in ("", SERVICE):
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    improver = Improver(book, config.improve_share, config.improve_min_gain) if config.improve_share else None
    return Server(server, port, health, servicer, exporter, improver.start() if improver else None)


def _gauges(metrics: Metrics, servicer: SchedulerServicer) -> None:
    book = servicer.book
    metrics.watch(
        lambda: servicer.solves_in_flight,
        lambda: sum(s.latest is not None for s in book.summaries()),
        lambda: sum(s.latest.version for s in book.summaries() if s.latest is not None),
    )


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
