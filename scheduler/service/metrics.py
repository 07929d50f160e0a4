"""Every Prometheus metric of the server, defined once, on a registry of its own (not the
process-wide one: tests run many servers in one process), and its HTTP exposition.

Label values come from small fixed sets only (methods, status codes, tiers, event types,
reason classes); no plan or event id is a label. ``source`` is the client's free text: the
first :data:`MAX_SOURCES` distinct sources are kept, later ones count as ``other``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from scheduler.domain import InputError
from scheduler.domain.events import EVENT_TYPES

PREFIX = "lean_scheduler"
REPAIR_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0)
"""Seconds, around the repair budgets (50 ms to 2 s) and beyond."""
CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
MAX_SOURCES = 16
OTHER = "other"


class _FirstSeen:
    """A label's values: the first ``limit`` distinct ones, then ``other`` (bounded series)."""

    def __init__(self, limit: int) -> None:
        self._limit, self._seen, self._lock = limit, set[str](), threading.Lock()

    def __call__(self, value: str) -> str:
        with self._lock:
            if value in self._seen or len(self._seen) < self._limit:
                self._seen.add(value)
                return value
        return OTHER


class Metrics:
    """The server's metrics; ``registry`` is what the exposition serves."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.source = _FirstSeen(MAX_SOURCES)
        self.calls = Counter(
            f"{PREFIX}_grpc_calls", "gRPC calls handled, by method and status code", ["method", "code"], registry=r
        )
        self.call_seconds = Histogram(
            f"{PREFIX}_grpc_call_duration_seconds",
            "gRPC call latency (a stream: its whole life), by method",
            ["method"],
            buckets=CALL_BUCKETS,
            registry=r,
        )
        self.repair_seconds = Histogram(
            f"{PREFIX}_repair_duration_seconds",
            "Repair latency of each event taken (from its arrival to the checked answer), "
            "by the tier that answered; events that needed no repair are left out",
            ["tier"],
            buckets=REPAIR_BUCKETS,
            registry=r,
        )
        self.answers = Counter(
            f"{PREFIX}_answers", "Events answered, by the tier that answered (none: no repair)", ["tier"], registry=r
        )
        self.overruns = Counter(
            f"{PREFIX}_budget_overruns", "Repairs that took longer than their budget, by tier", ["tier"], registry=r
        )
        self.events = Counter(
            f"{PREFIX}_events",
            "Events taken (reported and derived), by type and source",
            ["type", "source"],
            registry=r,
        )
        self.duplicates = Counter(
            f"{PREFIX}_events_duplicate",
            "Events sent again: the first answer, no effect",
            ["type", "source"],
            registry=r,
        )
        self.refused = Counter(f"{PREFIX}_events_refused", "Events refused, by reason class", ["reason"], registry=r)
        self.irregular = Counter(
            f"{PREFIX}_events_irregular", "Late, out-of-sequence and conflicting events, by kind", ["kind"], registry=r
        )
        self.detections = Counter(
            f"{PREFIX}_monitor_detections", "Takt monitor detections (derived cycle-time events)", registry=r
        )
        self.firings = Counter(f"{PREFIX}_rule_firings", "Lean rule firings (derived parameter changes)", registry=r)
        self.rejections = Counter(
            f"{PREFIX}_admission_rejections",
            "Calls refused because every solve slot was busy (RESOURCE_EXHAUSTED)",
            registry=r,
        )
        self.solving = Gauge(
            f"{PREFIX}_solves_in_flight", "Solves (repairs, plan creations, what-ifs) running now", registry=r
        )
        self.plans = Gauge(f"{PREFIX}_plans", "Live plans in the book (damaged ones left out)", registry=r)
        self.versions = Gauge(f"{PREFIX}_plan_versions", "Plan versions made, summed over the live plans", registry=r)

    def event_type(self, name: str) -> str:
        return name if name in EVENT_TYPES else OTHER

    def watch(self, solving: Callable[[], float], plans: Callable[[], float], versions: Callable[[], float]) -> None:
        """Gauges read at each scrape."""
        self.solving.set_function(solving)
        self.plans.set_function(plans)
        self.versions.set_function(versions)


class Background(Collector):
    """The background improver's counts, read from it at each scrape."""

    def __init__(self, counts: Callable[[], tuple[int, int, int]]) -> None:
        self.counts = counts

    def collect(self) -> list[CounterMetricFamily]:
        passes, preempted, published = self.counts()
        return [
            CounterMetricFamily(f"{PREFIX}_background_passes", "Background improvement passes run", passes),
            CounterMetricFamily(f"{PREFIX}_background_preempted", "Background passes stopped by a call", preempted),
            CounterMetricFamily(
                f"{PREFIX}_background_versions", "Versions the background improver published", published
            ),
        ]


class Exporter:
    """The ``/metrics`` HTTP endpoint in a thread of its own; ``port`` is the bound port."""

    def __init__(self, addr: str, metrics: Metrics) -> None:
        host, port = parse_addr(addr)
        try:
            self._server, self._thread = start_http_server(port, host, registry=metrics.registry)
        except OSError as error:
            raise InputError.single("metrics_addr", f"cannot listen on {addr!r}: {error.strerror}") from None
        self.port: int = self._server.server_port

    def stop(self) -> None:
        server: WSGIServer = self._server
        server.shutdown()
        server.server_close()
        self._thread.join()


def parse_addr(addr: str, field: str = "metrics_addr") -> tuple[str, int]:
    """``HOST:PORT`` (port 0 picks one; ``[::1]:9100`` for IPv6) -> (host, port); a bad one
    is an InputError naming ``field``."""
    host, colon, port = addr.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        raise InputError.single(field, f"{addr!r} is not HOST:PORT (e.g. 127.0.0.1:9464)")
    return host, int(port)
