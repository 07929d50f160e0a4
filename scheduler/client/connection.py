"""Channels to a lean-scheduler server: TLS, bearer tokens and grpc's own retries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import grpc

SERVICE = "scheduler.rpc.v1.SchedulerService"
RETRIED = ("GetPlan", "ListPlans", "ReportEvents", "WatchPlan", "EvaluateScenario", "GetLineState", "SweepScenarios")
"""Methods that are safe to send again: reads, what-ifs, and ReportEvents (the server
dedupes on (source, event_id)). CreatePlan and DeletePlan are not retried: a repeat after
a lost answer would create a second plan or report NOT_FOUND."""


@dataclass(frozen=True)
class RetryPolicy:
    """grpc's retry policy for UNAVAILABLE (server not up yet, connection lost)."""

    max_attempts: int = 5
    """At most 5: grpc caps it there."""
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 2.0
    multiplier: float = 2.0

    def service_config(self) -> str:
        policy = {
            "maxAttempts": self.max_attempts,
            "initialBackoff": f"{self.initial_backoff_s}s",
            "maxBackoff": f"{self.max_backoff_s}s",
            "backoffMultiplier": self.multiplier,
            "retryableStatusCodes": ["UNAVAILABLE"],
        }
        names = [{"service": SERVICE, "method": method} for method in RETRIED]
        return json.dumps({"methodConfig": [{"name": names, "retryPolicy": policy}]})


@dataclass(frozen=True)
class Connection:
    """Where a server listens and how to reach it."""

    addr: str
    token: str | None = None
    ca: Path | None = None
    """With it, the channel uses TLS and trusts this CA."""
    cert: Path | None = None
    key: Path | None = None
    """With ``cert``: the client's certificate for mutual TLS."""
    retry: RetryPolicy | None = RetryPolicy()
    """None: no retries."""

    def channel(self) -> grpc.Channel:
        options: list[tuple[str, str | int]] = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
        if self.retry is not None:
            options += [
                ("grpc.enable_retries", 1),
                ("grpc.service_config", self.retry.service_config()),
                # reconnect soon after a refused connection, so retries can reach a server that just came up
                ("grpc.initial_reconnect_backoff_ms", int(self.retry.initial_backoff_s * 1000)),
                ("grpc.max_reconnect_backoff_ms", int(self.retry.max_backoff_s * 1000)),
            ]
        if self.ca is None:
            return grpc.insecure_channel(self.addr, options=options)
        credentials = grpc.ssl_channel_credentials(
            root_certificates=self.ca.read_bytes(),
            private_key=self.key.read_bytes() if self.key else None,
            certificate_chain=self.cert.read_bytes() if self.cert else None,
        )
        return grpc.secure_channel(self.addr, credentials, options=options)

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()
