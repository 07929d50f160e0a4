"""Protobuf <-> domain. The only module that imports ``scheduler.rpc`` (its siblings
``convert_line`` and ``convert_sweep`` build on the messages it exports).

Incoming messages become plain data validated by the domain's own pydantic models, so
the wire and the files obey one set of rules; every problem is reported with the path of
the *proto* field (``events[2].downtime_started.machine``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import TypeAdapter, ValidationError

from scheduler.domain import Assignment, InputError, Scenario, Schedule
from scheduler.domain.documents import DEFAULT_LIMITS, DocumentLimits, check_size, parse_document
from scheduler.domain.errors import FieldProblem, field_problems
from scheduler.domain.events import Event
from scheduler.domain.files import parse_scenario
from scheduler.domain.tiers import TierName
from scheduler.domain.timebase import TimeBase, TimeUnit, use_timebase
from scheduler.problem import Position
from scheduler.rpc.v1 import scheduler_pb2 as pb
from scheduler.rpc.v1 import scheduler_pb2_grpc as pb_grpc

if TYPE_CHECKING:  # the engine (and the solver under it) is not loaded by clients that only convert events
    from scheduler.check import Kpis
    from scheduler.engine import Ack, Summary, Version, WhatIf
    from scheduler.repair import Receipt

_EVENT = TypeAdapter(Event)
_ENVELOPE = {"event_id", "source", "sequence"}
_UNITS = {
    TimeUnit.TICK: pb.TIME_UNIT_TICK,
    TimeUnit.SECOND: pb.TIME_UNIT_SECOND,
    TimeUnit.MINUTE: pb.TIME_UNIT_MINUTE,
    TimeUnit.HOUR: pb.TIME_UNIT_HOUR,
}
_TIERS = {t.value: pb.RepairTier.Value(f"REPAIR_TIER_{t.name}") for t in TierName}  # one proto value per tier
TIER_NAMES = {v: k for k, v in _TIERS.items()}
__all__ = [  # with the generated modules, for the servicer, the server and clients
    "TIER_NAMES",
    "Undecodable",
    "ack_message",
    "document_data",
    "event_message",
    "events_from",
    "kanban_caps",
    "kpis_message",
    "pb",
    "pb_grpc",
    "plan_rows",
    "receipt_message",
    "scenario_from",
    "schedule_of",
    "service_handler",
    "summary_message",
    "version_message",
    "what_if_message",
    "wire_path",
]


# ---------------------------------------------------------------------- in


@dataclass(frozen=True)
class Undecodable:
    """A request whose bytes are not a message of its type: the servicer answers
    INVALID_ARGUMENT (grpc itself would end the call with UNKNOWN)."""

    type_name: str
    reason: str


def service_handler(servicer: object) -> grpc.GenericRpcHandler[Any, Any]:
    """The SchedulerService's handlers, as the generated code makes them but with request
    deserializers that hand undecodable bytes to the servicer as :class:`Undecodable`."""
    service = pb.DESCRIPTOR.services_by_name["SchedulerService"]
    handlers = {}
    for method in service.methods:
        request_type = getattr(pb, method.input_type.name)
        response_type = getattr(pb, method.output_type.name)
        make = grpc.unary_stream_rpc_method_handler if method.server_streaming else grpc.unary_unary_rpc_method_handler
        handlers[method.name] = make(
            getattr(servicer, method.name),
            request_deserializer=functools.partial(_decode, request_type),
            response_serializer=response_type.SerializeToString,
        )
    return grpc.method_handlers_generic_handler(service.full_name, handlers)


def _decode(message_type: Any, data: bytes) -> Any:
    try:
        return message_type.FromString(data)
    except DecodeError as error:
        return Undecodable(message_type.DESCRIPTOR.full_name, str(error) or "invalid wire format")


def scenario_from(
    document: pb.ScenarioDocument, field: str = "scenario", limits: DocumentLimits = DEFAULT_LIMITS
) -> Scenario:
    """A validated scenario from a document (JSON, or YAML when the format is YAML or unspecified)."""
    where = f"{field}.content"
    data = document_data(document, where, "scenario", limits)
    try:
        return parse_scenario(data)
    except InputError as error:
        raise InputError([FieldProblem(f"{where}.{p.field}", p.message) for p in error.problems]) from None


def document_data(
    document: pb.ScenarioDocument | pb.SweepDocument, where: str, kind: str, limits: DocumentLimits
) -> dict[str, Any]:
    """A document's mapping (JSON when declared; otherwise YAML, a superset of JSON), within ``limits``."""
    check_size(len(document.content), where, limits)
    try:
        text = document.content.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError.single(where, "is not UTF-8 text") from None
    if not text.strip():
        raise InputError.single(where, f"is empty: send a {kind} document")
    data = parse_document(text, "json" if document.format == pb.DOCUMENT_FORMAT_JSON else "yaml", where, limits)
    if not isinstance(data, dict):
        raise InputError.single(where, f"a {kind} must be a mapping, got {type(data).__name__}")
    return data


def events_from(messages: Sequence[pb.Event], scenario: Scenario, field: str = "events") -> list[Event]:
    """Validated domain events; every problem of every event, each at its proto path."""
    base = TimeBase(scenario.time_unit, scenario.start)
    events, problems = [], []
    for k, message in enumerate(messages):
        where = f"{field}[{k}]"
        try:
            data = _event_data(message, where)
            with use_timebase(base):
                events.append(_EVENT.validate_python(data))
        except InputError as error:
            problems += error.problems
        except ValidationError as error:
            problems += [FieldProblem(wire_path(message, p.field, where), p.message) for p in field_problems(error)]
    if problems:
        raise InputError(problems)
    return events


def wire_path(message: pb.Event, domain_path: str, where: str) -> str:
    """The proto field behind a domain path (``machine`` -> ``downtime_started.machine``)."""
    if domain_path in ("", "event"):
        return where
    path = domain_path.removeprefix("event.")
    head, _, rest = path.partition(".")
    name, bracket, index = head.partition("[")
    payload = message.WhichOneof("payload") or "payload"
    if name in _ENVELOPE:
        wire = name
    elif name in ("time", "at"):
        wire = message.WhichOneof("time") or "occur_time"
    elif name == "type":
        wire = "payload"
    else:
        body = getattr(message, payload) if payload != "payload" else None
        if name == "expected_end" and body is not None:
            name = body.WhichOneof("expected" if payload == "downtime_started" else "expected_end") or name
        elif name in ("start", "end") and body is not None and payload == "maintenance_planned":
            name = body.WhichOneof(name) or f"{name}_tick"
        elif name == "order":
            name = "order_json"
        wire = f"{payload}.{name}"
    wire += bracket + index
    return f"{where}.{wire}" + (f".{rest}" if rest else "")


def _event_data(message: pb.Event, where: str) -> dict[str, Any]:
    data: dict[str, Any] = {"event_id": message.event_id, "source": message.source or "mes"}
    if message.HasField("sequence"):
        data["sequence"] = message.sequence
    which = message.WhichOneof("time")
    if which is None:
        raise InputError.single(f"{where}.occur_time", "is required (occur_time or occur_tick)")
    data["time"] = _iso(message.occur_time, f"{where}.occur_time") if which == "occur_time" else message.occur_tick
    payload = message.WhichOneof("payload")
    if payload is None:
        raise InputError.single(f"{where}.payload", "give one payload (downtime_started, operation_completed, ...)")
    data["type"] = payload
    body = getattr(message, payload)
    if payload == "order_added":
        data["order"] = parse_document(body.order_json, "json", f"{where}.order_added.order_json")
        return data
    for descriptor, value in body.ListFields():
        at = f"{where}.{payload}.{descriptor.name}"
        kept = list(value) if descriptor.is_repeated else value
        data[_domain_name(descriptor.name)] = _iso(kept, at) if isinstance(kept, Timestamp) else kept
    return data


def _domain_name(name: str) -> str:
    """A payload field's domain name: a time given either way is one field."""
    for base in ("expected_end", "start", "end"):
        if name in (f"{base}_time", f"{base}_tick"):
            return base
    return name


def _iso(stamp: Timestamp, field: str) -> str:
    try:
        return stamp.ToDatetime(tzinfo=UTC).isoformat()
    except (ValueError, OverflowError):
        raise InputError.single(field, f"timestamp of {stamp.seconds} s from 1970 is outside the calendar") from None


# ---------------------------------------------------------------------- out


def event_message(event: Event) -> pb.Event:
    """A domain event (times in ticks) as a message, for clients and the MES simulator."""
    data = event.model_dump(exclude_none=True)
    message = pb.Event(event_id=data.pop("event_id"), source=data.pop("source"))
    tick, exact = data.pop("time"), data.pop("at", None)
    if exact is not None:  # the exact timestamp, as it was reported
        message.occur_time.FromDatetime(exact)
    else:
        message.occur_tick = tick
    if "sequence" in data:
        message.sequence = data.pop("sequence")
    payload = data.pop("type")
    body = getattr(message, payload)
    if payload == "order_added":
        body.order_json = json.dumps(data["order"])
    else:
        for name in ("expected_end", "start", "end"):  # ticks: the oneof's tick field
            if name in data:
                data[f"{name}_tick"] = data.pop(name)
        body.SetInParent()
        for name, value in data.items():
            if isinstance(value, list):
                getattr(body, name).extend(value)
            elif value != "" or name != "reason":  # an empty reason takes the default
                setattr(body, name, value)
    return message


def plan_rows(version: pb.PlanVersion) -> dict[str, Position]:
    """A plan version's schedule as {operation id: (machine id, start, end)}."""
    s = version.schedule
    return {
        op: (s.machine_ids[m], start, end)
        for op, m, start, end in zip(s.operation_ids, s.machine_indexes, s.start_ticks, s.end_ticks, strict=True)
    }


def schedule_of(plan: Mapping[str, Position]) -> Schedule:
    return Schedule(assignments=[Assignment(operation_id=op, machine_id=m, start=s, end=e)
                                 for op, (m, s, e) in plan.items()])  # fmt: skip


def version_message(version: Version, scenario: Scenario) -> pb.PlanVersion:
    """A plan version with its schedule as packed columns."""
    machines = sorted({m for m, _, _ in version.plan.values()})
    index = {m: k for k, m in enumerate(machines)}
    ops = list(version.plan)
    rows = [version.plan[op] for op in ops]
    message = pb.PlanVersion(
        plan_id=version.plan_id,
        version=version.version,
        time_unit=_UNITS[scenario.time_unit],
        now_tick=version.now,
        schedule=pb.Schedule(
            operation_ids=ops,
            machine_ids=machines,
            machine_indexes=[index[m] for m, _, _ in rows],
            start_ticks=[s for _, s, _ in rows],
            end_ticks=[e for _, _, e in rows],
        ),
        kpis=kpis_message(version.kpis),
    )
    if scenario.start is not None:
        message.origin.FromDatetime(scenario.start)
    if version.receipt is not None:
        message.receipt.CopyFrom(receipt_message(version.receipt))
    return message


def kpis_message(kpis: Kpis) -> pb.Kpis:
    return pb.Kpis(
        makespan=kpis.makespan,
        weighted_tardiness=kpis.total_weighted_tardiness,
        bottleneck_idle=kpis.bottleneck_idle,
        objective=kpis.objective,
        late_orders=kpis.late_orders,
        mean_lead_time=kpis.mean_lead_time,
        peak_conwip=kpis.peak_conwip,
        bottleneck_utilisation=kpis.bottleneck_utilisation,
    )


def receipt_message(receipt: Receipt) -> pb.Receipt:
    r = receipt
    return pb.Receipt(
        event_id=r.event_id,
        tier=_TIERS[r.tier],
        solver_status=r.solver_status,
        reason=r.reason,
        latency_ms=r.latency_ms,
        budget_ms=r.budget_ms,
        makespan_before=r.makespan_before,
        makespan_after=r.makespan_after,
        weighted_tardiness_before=r.weighted_tardiness_before,
        weighted_tardiness_after=r.weighted_tardiness_after,
        bottleneck_idle_before=r.bottleneck_idle_before,
        bottleneck_idle_after=r.bottleneck_idle_after,
        moved_operations=r.moved_operations,
        total_abs_shift=r.total_abs_shift,
        machine_reassignments=r.machine_reassignments,
        neighbourhood=r.neighbourhood,
        valid=r.valid,
        violations=list(r.violations),
        warnings=list(r.warnings),
        degraded=r.degraded,
    )


def ack_message(ack: Ack) -> pb.EventAck:
    message = pb.EventAck(
        event_id=ack.event_id,
        source=ack.source,
        version=ack.version,
        duplicate=ack.duplicate,
        receipt=receipt_message(ack.receipt),
    )
    if ack.event is not None:
        message.event.CopyFrom(event_message(ack.event))
    return message


def summary_message(summary: Summary) -> pb.PlanSummary:
    latest = summary.latest
    message = pb.PlanSummary(plan_id=summary.plan_id, name=summary.name, damaged=summary.damaged)
    if latest is not None:
        message.latest_version = latest.version
        message.operations = len(latest.plan)
        message.makespan = latest.kpis.makespan
    message.create_time.FromDatetime(datetime.fromtimestamp(summary.created, UTC))
    return message


def what_if_message(what_if: WhatIf, scenario: Scenario) -> pb.EvaluateScenarioResponse:
    return pb.EvaluateScenarioResponse(
        plan=version_message(what_if.plan, scenario),
        receipts=[receipt_message(r) for r in what_if.receipts],
        diff=pb.StabilityDiff(
            moved_operations=what_if.diff.moved_operations,
            total_abs_shift=what_if.diff.total_abs_shift,
            machine_reassignments=what_if.diff.machine_reassignments,
            makespan_delta=what_if.makespan_delta,
            weighted_tardiness_delta=what_if.weighted_tardiness_delta,
        ),
    )


def kanban_caps(caps: Sequence[pb.KanbanCap], field: str = "kanban_caps") -> Mapping[str, int]:
    result: dict[str, int] = {}
    for k, cap in enumerate(caps):
        if cap.cap < 1:
            raise InputError.single(f"{field}[{k}].cap", f"a kanban cap must be at least 1, got {cap.cap}")
        result[cap.buffer] = cap.cap
    return result
