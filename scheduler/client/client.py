"""A typed Python client for the SchedulerService. It needs grpc and the generated stubs
only: no solver, no engine."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc

from scheduler.client.connection import Connection
from scheduler.rpc.v1 import scheduler_pb2 as pb
from scheduler.rpc.v1 import scheduler_pb2_grpc as pb_grpc


def scenario_document(scenario: Path | str | bytes, fmt: str | None = None) -> pb.ScenarioDocument:
    """A scenario document from a file path, or from its text (``fmt`` ``json`` or ``yaml``;
    a path's suffix decides when ``fmt`` is None, text defaults to YAML, a superset of JSON)."""
    return pb.ScenarioDocument(**_document(scenario, fmt))


def sweep_document(sweep: Path | str | bytes, fmt: str | None = None) -> pb.SweepDocument:
    """A sweep document (the sweep file format), as :func:`scenario_document`."""
    return pb.SweepDocument(**_document(sweep, fmt))


def _document(source: Path | str | bytes, fmt: str | None) -> dict[str, Any]:
    if isinstance(source, Path):
        content = source.read_bytes()
        fmt = fmt or ("json" if source.suffix.lower() == ".json" else "yaml")
    else:
        content = source.encode("utf-8") if isinstance(source, str) else source
    formats = {"json": pb.DOCUMENT_FORMAT_JSON, "yaml": pb.DOCUMENT_FORMAT_YAML, None: pb.DOCUMENT_FORMAT_YAML}
    if fmt not in formats:
        raise ValueError(f"fmt must be 'json' or 'yaml', got {fmt!r}")
    return {"format": formats[fmt], "content": content}


OWNER_METADATA = "lean-scheduler-owner"
"""The trailing metadata of a call refused because another replica serves the plan."""


def owner_of(error: grpc.RpcError) -> str | None:
    """The address of the replica that serves the plan a refused call named (None when the
    refusal is not that one): call that replica instead."""
    if not isinstance(error, grpc.Call) or error.code() != grpc.StatusCode.FAILED_PRECONDITION:
        return None
    found = [str(m.value) for m in error.trailing_metadata() or () if m.key == OWNER_METADATA]
    return found[0] if found else None


class SchedulerClient:
    """One channel to a server. Calls raise ``grpc.RpcError`` with the server's status
    (``INVALID_ARGUMENT`` carries a ``google.rpc.BadRequest`` naming each field).

    >>> with SchedulerClient("127.0.0.1:50051") as client:  # doctest: +SKIP
    ...     plan = client.create_plan(Path("scenarios/demo_line.yaml"), plan_id="line-1")
    ...     event = Event(event_id="e1", occur_tick=120, downtime_started=DowntimeStarted(
    ...         machine="WELD-1", downtime_id="d1", expected_duration=30))
    ...     answer = client.report_events("line-1", [event])
    """

    def __init__(self, target: str | Connection, timeout_s: float | None = None) -> None:
        self.connection = target if isinstance(target, Connection) else Connection(target)
        self.timeout_s = timeout_s
        """Default deadline of each unary call (None: none)."""
        self._channel = self.connection.channel()
        self._stub = pb_grpc.SchedulerServiceStub(self._channel)
        self._metadata = self.connection.metadata

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> SchedulerClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _timeout(self, timeout_s: float | None) -> float | None:
        return self.timeout_s if timeout_s is None else timeout_s

    # ------------------------------------------------------------------ plans

    def create_plan(
        self,
        scenario: Path | str | bytes | pb.ScenarioDocument,
        plan_id: str = "",
        fmt: str | None = None,
        timeout_s: float | None = None,
    ) -> pb.PlanVersion:
        """Create a plan (version 1) from a scenario file, its text or a document."""
        document = scenario if isinstance(scenario, pb.ScenarioDocument) else scenario_document(scenario, fmt)
        request = pb.CreatePlanRequest(plan_id=plan_id, scenario=document)
        return self._stub.CreatePlan(request, timeout=self._timeout(timeout_s), metadata=self._metadata).plan

    def get_plan(self, plan_id: str, version: int = 0, timeout_s: float | None = None) -> pb.PlanVersion:
        """A plan version (0: the latest)."""
        request = pb.GetPlanRequest(plan_id=plan_id, version=version)
        return self._stub.GetPlan(request, timeout=self._timeout(timeout_s), metadata=self._metadata).plan

    def list_plans(self, timeout_s: float | None = None) -> list[pb.PlanSummary]:
        answer = self._stub.ListPlans(pb.ListPlansRequest(), timeout=self._timeout(timeout_s), metadata=self._metadata)
        return list(answer.plans)

    def delete_plan(self, plan_id: str, timeout_s: float | None = None) -> None:
        request = pb.DeletePlanRequest(plan_id=plan_id)
        self._stub.DeletePlan(request, timeout=self._timeout(timeout_s), metadata=self._metadata)

    # ------------------------------------------------------------------ events

    def report_events(
        self,
        plan_id: str,
        events: Iterable[pb.Event],
        expected_version: int | None = None,
        budget_ms: int | None = None,
        timeout_s: float | None = None,
    ) -> pb.ReportEventsResponse:
        """Report events in order; one acknowledgement each, and the plan after them.
        Safe to retry: a resent (source, event_id) gets its first acknowledgement."""
        request = pb.ReportEventsRequest(plan_id=plan_id, events=list(events))
        if expected_version is not None:
            request.expected_version = expected_version
        if budget_ms:
            request.budget.FromMilliseconds(budget_ms)
        return self._stub.ReportEvents(request, timeout=self._timeout(timeout_s), metadata=self._metadata)

    def watch(self, plan_id: str, from_version: int = 0) -> Iterator[pb.PlanVersion]:
        """Every version from ``from_version`` on (0: the latest), then each new one as it
        is made; ends when the stream does (cancel it by closing the client)."""
        request = pb.WatchPlanRequest(plan_id=plan_id, from_version=from_version)
        for item in self._stub.WatchPlan(request, metadata=self._metadata):
            yield item.plan

    def evaluate(
        self,
        plan_id: str,
        version: int = 0,
        kanban_caps: Mapping[str, int] | None = None,
        events: Iterable[pb.Event] = (),
        budget_ms: int | None = None,
        timeout_s: float | None = None,
    ) -> pb.EvaluateScenarioResponse:
        """A what-if on a fork of ``version``: changed kanban caps (buffer id ``UP->DOWN``)
        and/or hypothetical events. Nothing live changes."""
        caps = [pb.KanbanCap(buffer=b, cap=c) for b, c in (kanban_caps or {}).items()]
        request = pb.EvaluateScenarioRequest(plan_id=plan_id, version=version, kanban_caps=caps, events=list(events))
        if budget_ms:
            request.budget.FromMilliseconds(budget_ms)
        return self._stub.EvaluateScenario(request, timeout=self._timeout(timeout_s), metadata=self._metadata)

    def line_state(
        self, plan_id: str, window_ticks: int = 0, timeout_s: float | None = None
    ) -> pb.GetLineStateResponse:
        """Realised KPIs over the last ``window_ticks`` (0: since the start), the first and the
        latest plan's, and the takt monitor's state per station."""
        request = pb.GetLineStateRequest(plan_id=plan_id, window_ticks=window_ticks)
        return self._stub.GetLineState(request, timeout=self._timeout(timeout_s), metadata=self._metadata)

    def sweep_scenarios(
        self,
        plan_id: str,
        sweep: Path | str | bytes | pb.SweepDocument,
        replications: int | None = None,
        seed: int | None = None,
        jobs: int | None = None,
        timeout_s: float | None = None,
    ) -> grpc.CallIterator[pb.SweepScenariosResponse]:
        """Twin runs of the sweep's pull configurations from the plan's current state: progress
        messages as runs finish, then one ``result`` (``results_json``). Nothing live changes.
        ``replications`` and ``seed`` replace the document's; ``jobs`` worker processes (None:
        one). Cancel the returned call (``.cancel()``) to stop the sweep."""
        document = sweep if isinstance(sweep, pb.SweepDocument) else sweep_document(sweep)
        request = pb.SweepScenariosRequest(plan_id=plan_id, sweep=document, jobs=jobs or 0)
        if replications is not None:
            request.replications = replications
        if seed is not None:
            request.seed = seed
        return self._stub.SweepScenarios(request, timeout=timeout_s, metadata=self._metadata)

    def wait_ready(self, timeout_s: float = 10.0) -> None:
        """Block until the channel is connected; ``grpc.FutureTimeoutError`` otherwise."""
        grpc.channel_ready_future(self._channel).result(timeout=timeout_s)
