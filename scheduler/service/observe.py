"""What the service sees, as metrics and logs: every call (an interceptor), and what the
engine answered to each event (acknowledgements with receipts, derived events, refusals).

The engine imports neither Prometheus nor this module: its answers are read here, on the
service side, after the fact.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any

import grpc
from grpc import aio

from scheduler.domain import InputError
from scheduler.domain.events import ParameterChanged
from scheduler.domain.tiers import TierName
from scheduler.engine import Ack, EventRejected, Report
from scheduler.engine.takt import MONITOR
from scheduler.lean.rules import RULES
from scheduler.logs import bound
from scheduler.service.convert import pb
from scheduler.service.metrics import Metrics

_LOG = logging.getLogger(__name__)
_CALLS = logging.getLogger("scheduler.service.calls")

REASONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("conflicting_duplicate", re.compile(r"was already taken with another")),
    ("no_valid_plan", re.compile(r"^no valid plan after this event")),
    ("contradiction", re.compile(
        r"already (started|completed|reported)|has already (started|ended)|overlaps |was down during"
        r"|would still be down|was reported completed on|never reported started|is not (before|after) "
        r"|is before downtime|^no downtime |started on \S+, not ")),
)  # fmt: skip
"""Reason classes of a refusal, by the engine's wording (engine/ledger.py, engine/result.py,
LivePlan.attempt); anything else is ``invalid``."""
IRREGULAR: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("late", re.compile(r"^late by ")),
    ("sequence_gap", re.compile(r"^sequence \d+ from .*: \d+ missing$")),
    ("out_of_order", re.compile(r"^sequence \d+ from .*: out of order$")),
)
"""Kinds of a receipt's warnings (engine/ledger.py ``Ledger.record``) that are counted."""


_EVENT_AT = re.compile(r"events\[(\d+)\]")


def reason_of(message: str) -> str:
    return next((name for name, pattern in REASONS if pattern.search(message)), "invalid")


class Observer:
    """Counts and logs what ReportEvents did; ``metrics`` is the server's."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def taken(self, plan_id: str, messages: Sequence[pb.Event], report: Report) -> None:
        for k, ack in enumerate(report.acks):
            self._ack(plan_id, _type_of(messages[k]), ack)
        for ack in report.derived:
            assert ack.event is not None  # a derived acknowledgement carries its event
            self._ack(plan_id, ack.event.type, ack)
            if ack.source == MONITOR:
                self.metrics.detections.inc()
            if ack.source == RULES and isinstance(ack.event, ParameterChanged):
                self.metrics.firings.inc()

    @contextlib.contextmanager
    def refusals(self, plan_id: str, messages: Sequence[pb.Event]) -> Iterator[None]:
        """Counts and logs an event refused inside (and the events before it, taken)."""
        try:
            yield
        except EventRejected as rejected:
            for k, ack in enumerate(rejected.acks):
                self._ack(plan_id, _type_of(messages[k]), ack)
            problem = rejected.error.problems[0]
            self._refused(plan_id, messages[rejected.index], reason_of(problem.message), str(rejected.error.summary()))
            raise
        except InputError as error:  # events that did not validate: the batch is refused whole
            for k in sorted({int(m.group(1)) for p in error.problems if (m := _EVENT_AT.match(p.field))}):
                summary = "; ".join(
                    f"{p.field}: {p.message}" for p in error.problems if p.field.startswith(f"events[{k}]")
                )
                self._refused(plan_id, messages[k], "invalid", summary)
            raise

    def overloaded(self) -> None:
        self.metrics.rejections.inc()
        _LOG.warning("call refused: every solve slot is busy")

    def _ack(self, plan_id: str, event_type: str, ack: Ack) -> None:
        m, source, receipt = self.metrics, self.metrics.source(ack.source), ack.receipt
        if ack.duplicate:
            m.duplicates.labels(m.event_type(event_type), source).inc()
            return
        m.events.labels(m.event_type(event_type), source).inc()
        tier = str(receipt.tier)
        m.answers.labels(tier).inc()
        if receipt.tier != TierName.NONE:
            m.repair_seconds.labels(tier).observe(receipt.latency_ms / 1000)
        for warning in receipt.warnings:
            kind = next((name for name, pattern in IRREGULAR if pattern.search(warning)), None)
            if kind is not None:
                m.irregular.labels(kind).inc()
        with bound(plan_id=plan_id, event_id=ack.event_id, source=ack.source, version=ack.version):
            if receipt.tier != TierName.NONE and receipt.latency_ms > receipt.budget_ms:
                m.overruns.labels(tier).inc()
                took = {"tier": tier, "latency_ms": receipt.latency_ms, "budget_ms": receipt.budget_ms}
                _LOG.warning("repair over budget: %(tier)s took %(latency_ms).1f of %(budget_ms)d ms", took, extra=took)
            if _LOG.isEnabledFor(logging.DEBUG):  # a batch can hold 10 000 events: no extras built for nothing
                _LOG.debug("event %s taken: %s in %.1f ms", event_type, tier, receipt.latency_ms,
                           extra={"tier": tier, "warnings": list(receipt.warnings)})  # fmt: skip

    def _refused(self, plan_id: str, message: pb.Event, reason: str, summary: str) -> None:
        self.metrics.refused.labels(reason).inc()
        if reason in ("contradiction", "conflicting_duplicate"):
            self.metrics.irregular.labels("conflicting").inc()
        with bound(plan_id=plan_id, event_id=message.event_id, source=message.source or "mes"):
            _LOG.warning("event refused (%s): %s", reason, summary, extra={"reason": reason})


def _type_of(message: pb.Event) -> str:
    return message.WhichOneof("payload") or "none"


# ---------------------------------------------------------------------- calls


class CallInterceptor(aio.ServerInterceptor):  # type: ignore[type-arg]
    """Counts every call by method and status code with its latency, logs its end at DEBUG,
    and binds the request's ``plan_id`` to the logs of the call."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(details)
        if handler is None:  # an unknown method: grpc answers UNIMPLEMENTED (and no label from client text)
            return handler
        method = details.method.lstrip("/")
        kinds = {
            (False, False): (grpc.unary_unary_rpc_method_handler, handler.unary_unary),
            (False, True): (grpc.unary_stream_rpc_method_handler, handler.unary_stream),
            (True, False): (grpc.stream_unary_rpc_method_handler, handler.stream_unary),
            (True, True): (grpc.stream_stream_rpc_method_handler, handler.stream_stream),
        }
        make, behaviour = kinds[(handler.request_streaming, handler.response_streaming)]
        return make(
            self._wrapped(method, behaviour),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _wrapped(self, method: str, behaviour: Any) -> Any:
        if inspect.isasyncgenfunction(behaviour):

            async def stream(request: Any, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
                with self._call(method, request, context):
                    async for item in behaviour(request, context):
                        yield item

            return stream

        async def unary(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            with self._call(method, request, context):
                return await behaviour(request, context)

        return unary

    @contextlib.contextmanager
    def _call(self, method: str, request: Any, context: aio.ServicerContext[Any, Any]) -> Iterator[None]:
        began, code = time.perf_counter(), "OK"
        with bound(plan_id=getattr(request, "plan_id", None) or None):
            try:
                yield
                code = _code(context.code(), "OK")
            except aio.AbortError:
                code = _code(context.code(), "UNKNOWN")
                raise
            except asyncio.CancelledError:  # the client went away, or the server is stopping
                code = "CANCELLED"
                raise
            except BaseException:
                code = "UNKNOWN"
                raise
            finally:
                seconds = time.perf_counter() - began
                self.metrics.calls.labels(method, code).inc()
                self.metrics.call_seconds.labels(method).observe(seconds)
                extra = {"method": method, "code": code, "duration_ms": round(seconds * 1000, 2)}
                _CALLS.debug("%s %s in %.1f ms", method, code, seconds * 1000, extra=extra)


def _code(value: object, default: str) -> str:
    """A status code's name (the context holds a StatusCode, an int, or None when unset)."""
    if isinstance(value, grpc.StatusCode):
        return value.name
    if isinstance(value, int):
        return next((c.name for c in grpc.StatusCode if c.value[0] == value), default)
    return default
