"""The SchedulerService: validates and converts each call, runs the engine in a thread
pool (CP-SAT releases the GIL), and maps outcomes to status codes (DESIGN §7)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc import aio
from grpc_status import rpc_status

from scheduler.domain import InputError
from scheduler.domain.errors import FieldProblem
from scheduler.engine import EventRejected, PlanBook, PlanNotFound, StaleVersion, Version
from scheduler.service import convert
from scheduler.service.convert import pb, pb_grpc
from scheduler.solver import StopToken

T = TypeVar("T")
Context = aio.ServicerContext[Any, Any]


class Overloaded(Exception):
    """Every solve slot is taken."""


async def _invalid(context: Context, message: str, problems: list[tuple[str, str]]) -> None:
    """INVALID_ARGUMENT with a google.rpc.BadRequest naming each field and value."""
    detail = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=message)
    if problems:
        request = error_details_pb2.BadRequest(
            field_violations=[error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in problems]
        )
        packed = any_pb2.Any()
        packed.Pack(request)
        detail.details.append(packed)
    status = rpc_status.to_status(detail)
    await context.abort(status.code, status.details, status.trailing_metadata)


async def abort_for(context: Context, error: Exception) -> None:
    """End the call with the status that ``error`` stands for."""
    if isinstance(error, EventRejected):
        problems = [(p.field, p.message) for p in error.error.problems]
        taken = f"; the {len(error.acks)} event(s) before it were applied" if error.acks else ""
        message = f"{problems[0][0]}: {problems[0][1]}{taken}"
        await _invalid(context, message, problems)
    elif isinstance(error, InputError):
        problems = [(p.field, p.message) for p in error.problems]
        await _invalid(context, error.summary(), problems)
    elif isinstance(error, PlanNotFound):
        await context.abort(grpc.StatusCode.NOT_FOUND, str(error))
    elif isinstance(error, StaleVersion):
        await context.abort(grpc.StatusCode.ABORTED, str(error))
    elif isinstance(error, Overloaded):
        await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(error))
    raise error


def _mapped(
    method: Callable[[Any, Any, Context], Awaitable[T]],
) -> Callable[[Any, Any, Context], Awaitable[T]]:
    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: Context) -> T:
        try:
            return await method(self, request, context)
        except (InputError, EventRejected, PlanNotFound, StaleVersion, Overloaded) as error:
            await abort_for(context, error)
            raise  # abort_for always raises

    return wrapper


class SchedulerServicer(pb_grpc.SchedulerServiceServicer):
    def __init__(self, book: PlanBook, max_solves: int, deadline_margin_ms: int) -> None:
        self.book = book
        self.margin_s = deadline_margin_ms / 1000
        self.executor = ThreadPoolExecutor(max_workers=max_solves + 2, thread_name_prefix="solve")
        self._free = max_solves
        self._slots = asyncio.Lock()

    # ------------------------------------------------------------------ helpers

    async def _solve(self, work: Callable[[], T], stop: StopToken | None = None) -> T:
        """Run ``work`` in the pool if a solve slot is free, else RESOURCE_EXHAUSTED at once.
        A cancelled call stops the solver, and the work still finishes (an event that was
        being applied is committed or not, never half)."""
        async with self._slots:
            if self._free == 0:
                raise Overloaded("every solve slot is busy; retry later")
            self._free -= 1
        future = asyncio.get_running_loop().run_in_executor(self.executor, work)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if stop is not None:
                stop.stop()
            await asyncio.wait([future])
            raise
        finally:
            async with self._slots:
                self._free += 1

    def _deadline(self, context: Context) -> float | None:
        remaining = context.time_remaining()
        return None if remaining is None else time.perf_counter() + remaining - self.margin_s

    def _version(self, version: Version) -> pb.PlanVersion:
        return convert.version_message(version, self.book.time_base(version.plan_id))

    # ------------------------------------------------------------------ RPCs

    @_mapped
    async def CreatePlan(self, request: pb.CreatePlanRequest, context: Context) -> pb.CreatePlanResponse:
        scenario = convert.scenario_from(request.scenario)
        version = await self._solve(lambda: self.book.create(scenario, request.plan_id))
        return pb.CreatePlanResponse(plan=self._version(version))

    @_mapped
    async def GetPlan(self, request: pb.GetPlanRequest, context: Context) -> pb.GetPlanResponse:
        if request.version < 0:
            raise InputError.single("version", f"a version is 1 or more (0: the latest), got {request.version}")
        return pb.GetPlanResponse(plan=self._version(self.book.get(request.plan_id, request.version)))

    @_mapped
    async def ListPlans(self, request: pb.ListPlansRequest, context: Context) -> pb.ListPlansResponse:
        return pb.ListPlansResponse(plans=[convert.summary_message(s) for s in self.book.summaries()])

    @_mapped
    async def DeletePlan(self, request: pb.DeletePlanRequest, context: Context) -> pb.DeletePlanResponse:
        self.book.delete(request.plan_id)
        return pb.DeletePlanResponse()

    @_mapped
    async def ReportEvents(self, request: pb.ReportEventsRequest, context: Context) -> pb.ReportEventsResponse:
        if not request.events:
            raise InputError.single("events", "send at least one event")
        events = convert.events_from(request.events, self.book.time_base(request.plan_id))
        budget = _budget(request.budget, "budget")
        expected = request.expected_version if request.HasField("expected_version") else None
        deadline, stop = self._deadline(context), StopToken()
        with _on_wire(request.events):
            acks, version = await self._solve(
                lambda: self.book.report(request.plan_id, events, expected, budget, deadline, stop), stop
            )
        return pb.ReportEventsResponse(acks=[convert.ack_message(a) for a in acks], plan=self._version(version))

    async def WatchPlan(self, request: pb.WatchPlanRequest, context: Context) -> AsyncIterator[pb.WatchPlanResponse]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Version] = asyncio.Queue()

        def listener(version: Version) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, version)

        try:
            if request.from_version < 0:
                raise InputError.single("from_version", f"a version is 0 or more, got {request.from_version}")
            self.book.subscribe(request.plan_id, listener)
            backlog = self.book.since(request.plan_id, request.from_version)
        except (InputError, PlanNotFound) as error:
            await abort_for(context, error)
        try:
            sent = 0
            for version in backlog:
                sent = version.version
                yield pb.WatchPlanResponse(plan=self._version(version))
            while True:
                version = await queue.get()
                if version.version > sent:
                    sent = version.version
                    yield pb.WatchPlanResponse(plan=self._version(version))
        finally:
            self.book.unsubscribe(request.plan_id, listener)

    @_mapped
    async def EvaluateScenario(
        self, request: pb.EvaluateScenarioRequest, context: Context
    ) -> pb.EvaluateScenarioResponse:
        scenario = self.book.time_base(request.plan_id)
        events = convert.events_from(request.events, scenario)
        caps = convert.kanban_caps(request.kanban_caps)
        budget = _budget(request.budget, "budget")
        if request.version < 0:
            raise InputError.single("version", f"a version is 1 or more (0: the latest), got {request.version}")
        with _on_wire(request.events):
            what_if = await self._solve(
                lambda: self.book.evaluate(request.plan_id, request.version, events, caps, budget)
            )
        return convert.what_if_message(what_if, scenario)


@contextlib.contextmanager
def _on_wire(messages: Sequence[pb.Event]) -> Iterator[None]:
    """An event the engine refused, with its problems at their proto paths."""
    try:
        yield
    except EventRejected as rejected:
        where = f"events[{rejected.index}]"
        problems = [FieldProblem(convert.wire_path(messages[rejected.index], p.field, where), p.message)
                    for p in rejected.error.problems]  # fmt: skip
        raise EventRejected(rejected.index, InputError(problems), rejected.acks) from None


def _budget(duration: Any, field: str) -> int | None:
    """A Duration as whole milliseconds (None when unset)."""
    milliseconds = duration.seconds * 1000 + duration.nanos // 1_000_000
    if milliseconds < 0:
        raise InputError.single(field, f"a budget cannot be negative, got {milliseconds} ms")
    if milliseconds > 600_000:
        raise InputError.single(field, f"a budget of {milliseconds} ms is over the 600000 ms limit")
    return milliseconds or None
