"""The SchedulerService: validates and converts each call, runs the engine in a thread
pool (CP-SAT releases the GIL), and maps outcomes to status codes (DESIGN §7).

Admission: calls on one plan queue on the event loop for that plan (waiting costs no solve
slot); a call then takes a solve slot or is refused with RESOURCE_EXHAUSTED at once.
Documents are parsed and validated in the pool too, under the same admission: nothing
heavy runs on the event loop, so health checks and other plans stay responsive.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc import aio
from grpc_status import rpc_status

from scheduler.domain import InputError
from scheduler.domain.documents import DocumentLimits
from scheduler.domain.errors import FieldProblem
from scheduler.engine import (
    EventRejected,
    Late,
    PlanBook,
    PlanDamaged,
    PlanElsewhere,
    PlanNotFound,
    Report,
    StaleVersion,
    Version,
    WhatIf,
)
from scheduler.engine.replicas import ReplicaBook
from scheduler.service import convert, convert_sweep
from scheduler.service.convert import pb, pb_grpc
from scheduler.service.convert_line import line_state_message
from scheduler.service.metrics import Metrics
from scheduler.service.observe import Observer
from scheduler.service.sweeping import Sweep
from scheduler.solver import StopToken
from scheduler.sweep.search import Progress

T = TypeVar("T")
Context = aio.ServicerContext[Any, Any]
_LOG = logging.getLogger(__name__)
MAX_BATCH = 10_000
"""Events in one ReportEvents call."""
OWNER_KEY = "lean-scheduler-owner"
"""Trailing metadata of a call refused for a plan another replica serves: that replica's address
(``scheduler.client.OWNER_METADATA``: the client imports no server code; tests/service/test_replicas.py
checks the two agree)."""


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
    """End the call with the status that ``error`` stands for; INTERNAL for a bug."""
    if isinstance(error, EventRejected):
        problems = [(p.field, p.message) for p in error.error.problems]
        taken = f"; the {len(error.acks)} event(s) before it were applied" if error.acks else ""
        await _invalid(context, f"{problems[0][0]}: {problems[0][1]}{taken}", problems)
    elif isinstance(error, InputError):
        await _invalid(context, error.summary(), [(p.field, p.message) for p in error.problems])
    elif isinstance(error, PlanElsewhere):  # the owner's address also as metadata, for clients to follow
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error), ((OWNER_KEY, error.addr),))
    elif isinstance(error, PlanNotFound):
        await context.abort(grpc.StatusCode.NOT_FOUND, str(error))
    elif isinstance(error, PlanDamaged):
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
    elif isinstance(error, StaleVersion):
        await context.abort(grpc.StatusCode.ABORTED, str(error))
    elif isinstance(error, Overloaded):
        await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(error))
    elif isinstance(error, Late):
        await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, str(error))
    _LOG.error("internal error", exc_info=error)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error: nothing was changed; the server logged the cause")


def _decoded(request: Any) -> Any:
    if isinstance(request, convert.Undecodable):
        raise InputError.single("request", f"cannot decode a {request.type_name} message: {request.reason}")
    return request


def _mapped(
    method: Callable[[Any, Any, Context], Awaitable[T]],
) -> Callable[[Any, Any, Context], Awaitable[T]]:
    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: Context) -> T:
        try:
            return await method(self, _decoded(request), context)
        except aio.AbortError:
            raise
        except Exception as error:  # a bug too ends with a status, never UNKNOWN
            await abort_for(context, error)
            raise  # abort_for always raises

    return wrapper


class _PlanQueues:
    """Per plan, an asyncio lock its calls wait on: on the event loop, holding nothing."""

    def __init__(self) -> None:
        self._queues: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, plan_id: str) -> AsyncIterator[None]:
        lock, users = self._queues.setdefault(plan_id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._queues[plan_id]


class SchedulerServicer(pb_grpc.SchedulerServiceServicer):
    def __init__(
        self,
        book: PlanBook,
        max_solves: int,
        deadline_margin_ms: int,
        limits: DocumentLimits,
        metrics: Metrics | None = None,
    ) -> None:
        self.book = book
        self.observer = Observer(metrics or Metrics())
        self.margin_s = deadline_margin_ms / 1000
        self.limits = limits
        self.executor = ThreadPoolExecutor(max_workers=max_solves + 2, thread_name_prefix="solve")
        self._free = max_solves
        self.max_solves = max_solves
        self._queues = _PlanQueues()

    # ------------------------------------------------------------------ helpers

    async def _solve(self, work: Callable[[], T], stop: StopToken | None = None, plan_id: str | None = None) -> T:
        """Run ``work`` in the pool: after the calls before it on ``plan_id``, in a free
        solve slot, else RESOURCE_EXHAUSTED at once. A cancelled call stops the solver, and
        the work still finishes (an event being applied is committed or not, never half)."""
        async with self._queues.turn(plan_id) if plan_id is not None else contextlib.nullcontext(), self._slot():
            return await self._run(work, stop.stop if stop is not None else None)

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """A free solve slot for the block, else RESOURCE_EXHAUSTED at once."""
        if self._free == 0:
            self.observer.overloaded()
            raise Overloaded("every solve slot is busy; retry later")
        self._free -= 1  # the event loop is the only writer: no lock needed
        try:
            yield
        finally:
            self._free += 1

    async def _run(self, work: Callable[[], T], stop: Callable[[], None] | None = None) -> T:
        """``work`` in the pool; when the call is cancelled, ``stop`` and wait for the work to end."""
        # The call's log fields go with the work: a worker thread has a context of its own.
        future = asyncio.get_running_loop().run_in_executor(self.executor, contextvars.copy_context().run, work)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if stop is not None:
                stop()
            await asyncio.wait([future])
            raise

    async def admit(self, work: Callable[[], T], plan_id: str | None = None) -> T:
        """The same admission for the web console's solves (what-ifs): queue, slot or Overloaded."""
        return await self._solve(work, plan_id=plan_id)

    @property
    def solves_in_flight(self) -> int:
        return self.max_solves - self._free

    def _deadline(self, context: Context) -> float | None:
        remaining = context.time_remaining()
        return None if remaining is None else time.perf_counter() + remaining - self.margin_s

    async def _here(self, plan_id: str) -> None:
        """A plan this replica has to take over first is rebuilt in the pool, off the event loop
        (PlanElsewhere when another replica holds it)."""
        if isinstance(self.book, ReplicaBook) and not self.book.serves(plan_id):
            await asyncio.get_running_loop().run_in_executor(self.executor, self.book.time_base, plan_id)

    async def _stored(self, plan_id: str) -> bool:
        record = await asyncio.get_running_loop().run_in_executor(self.executor, self.book.store.plan, plan_id)
        return record is not None

    def _version(self, version: Version) -> pb.PlanVersion:
        return convert.version_message(version, self.book.time_base(version.plan_id))

    # ------------------------------------------------------------------ RPCs

    @_mapped
    async def CreatePlan(self, request: pb.CreatePlanRequest, context: Context) -> pb.CreatePlanResponse:
        deadline = self._deadline(context)

        def create() -> Version:
            scenario = convert.scenario_from(request.scenario, limits=self.limits)
            return self.book.create(scenario, request.plan_id, deadline)

        return pb.CreatePlanResponse(plan=self._version(await self._solve(create)))

    @_mapped
    async def GetPlan(self, request: pb.GetPlanRequest, context: Context) -> pb.GetPlanResponse:
        if request.version < 0:
            raise InputError.single("version", f"a version is 1 or more (0: the latest), got {request.version}")
        await self._here(request.plan_id)
        return pb.GetPlanResponse(plan=self._version(self.book.get(request.plan_id, request.version)))

    @_mapped
    async def ListPlans(self, request: pb.ListPlansRequest, context: Context) -> pb.ListPlansResponse:
        return pb.ListPlansResponse(plans=[convert.summary_message(s) for s in self.book.summaries()])

    @_mapped
    async def DeletePlan(self, request: pb.DeletePlanRequest, context: Context) -> pb.DeletePlanResponse:
        async with self._queues.turn(request.plan_id):  # after the calls in flight on it
            await asyncio.get_running_loop().run_in_executor(self.executor, self.book.delete, request.plan_id)
        return pb.DeletePlanResponse()

    @_mapped
    async def ReportEvents(self, request: pb.ReportEventsRequest, context: Context) -> pb.ReportEventsResponse:
        if not request.events:
            raise InputError.single("events", "send at least one event")
        if len(request.events) > MAX_BATCH:
            raise InputError.single("events", f"{len(request.events)} events in one call, over the {MAX_BATCH} limit")
        await self._here(request.plan_id)
        base = self.book.time_base(request.plan_id)
        budget = _budget(request.budget, "budget")
        expected = request.expected_version if request.HasField("expected_version") else None
        deadline, stop = self._deadline(context), StopToken()

        def report() -> Report:
            events = convert.events_from(request.events, base)
            return self.book.report(request.plan_id, events, expected, budget, deadline, stop)

        with self.observer.refusals(request.plan_id, request.events), _on_wire(request.events):
            done = await self._solve(report, stop, request.plan_id)
        self.observer.taken(request.plan_id, request.events, done)
        return pb.ReportEventsResponse(
            acks=[convert.ack_message(a) for a in done.acks],
            plan=self._version(done.latest),
            not_applied=done.not_applied,
            derived=[convert.ack_message(a) for a in done.derived],
        )

    async def WatchPlan(self, request: Any, context: Context) -> AsyncIterator[pb.WatchPlanResponse]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Version | None] = asyncio.Queue()

        def listener(version: Version | None) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, version)

        try:
            request = _decoded(request)
            if request.from_version < 0:
                raise InputError.single("from_version", f"a version is 0 or more, got {request.from_version}")
            await self._here(request.plan_id)
            backlog = self.book.watch(request.plan_id, request.from_version, listener)
        except Exception as error:
            await abort_for(context, error)
        try:
            sent = 0
            for old in backlog:
                sent = old.version
                yield pb.WatchPlanResponse(plan=self._version(old))
            while (new := await queue.get()) is not None:
                if new.version > sent:
                    sent = new.version
                    yield pb.WatchPlanResponse(plan=self._version(new))
            if isinstance(self.book, ReplicaBook) and await self._stored(request.plan_id):  # its lease moved
                message = f"plan {request.plan_id!r} is no longer served here (its lease moved); watch again"
                await context.abort(grpc.StatusCode.UNAVAILABLE, message)
            await context.abort(grpc.StatusCode.NOT_FOUND, f"plan {request.plan_id!r} was deleted")
        finally:
            self.book.unwatch(request.plan_id, listener)

    @_mapped
    async def GetLineState(self, request: pb.GetLineStateRequest, context: Context) -> pb.GetLineStateResponse:
        if request.window_ticks < 0:
            raise InputError.single("window_ticks", f"a window is 0 or more ticks, got {request.window_ticks}")
        window = request.window_ticks or None
        state = await asyncio.get_running_loop().run_in_executor(
            self.executor, self.book.line_state, request.plan_id, window
        )
        return line_state_message(request.plan_id, state)

    @_mapped
    async def EvaluateScenario(
        self, request: pb.EvaluateScenarioRequest, context: Context
    ) -> pb.EvaluateScenarioResponse:
        await self._here(request.plan_id)
        scenario = self.book.time_base(request.plan_id)
        if len(request.events) > MAX_BATCH:
            raise InputError.single("events", f"{len(request.events)} events in one call, over the {MAX_BATCH} limit")
        caps = convert.kanban_caps(request.kanban_caps)
        budget = _budget(request.budget, "budget")
        if request.version < 0:
            raise InputError.single("version", f"a version is 1 or more (0: the latest), got {request.version}")

        def evaluate() -> WhatIf:
            events = convert.events_from(request.events, scenario)
            return self.book.evaluate(request.plan_id, request.version, events, caps, budget)

        with _on_wire(request.events):
            what_if = await self._solve(evaluate, plan_id=request.plan_id)
        return convert.what_if_message(what_if, scenario)

    async def SweepScenarios(self, request: Any, context: Context) -> AsyncIterator[pb.SweepScenariosResponse]:
        try:
            async with contextlib.aclosing(self._sweep(_decoded(request))) as updates:
                async for update in updates:
                    yield update
        except aio.AbortError:
            raise
        except Exception as error:
            await abort_for(context, error)

    async def _sweep(self, request: pb.SweepScenariosRequest) -> AsyncGenerator[pb.SweepScenariosResponse, None]:
        """Progress as runs finish (the latest when the client reads slower), then the result.
        The sweep holds one solve slot; it waits its turn on the plan only to read it."""
        await self._here(request.plan_id)
        loop, stop = asyncio.get_running_loop(), threading.Event()
        updates: asyncio.Queue[Progress | None] = asyncio.Queue()
        async with contextlib.AsyncExitStack() as held:
            async with self._queues.turn(request.plan_id):
                await held.enter_async_context(self._slot())
                sweep = await self._run(functools.partial(Sweep.prepare, self.book, request, self.limits))

            def tell(progress: Progress | None) -> None:
                loop.call_soon_threadsafe(updates.put_nowait, progress)

            future = loop.run_in_executor(self.executor, contextvars.copy_context().run, sweep.run, stop, tell)
            try:
                while True:
                    batch = [await updates.get()]
                    while not updates.empty():
                        batch.append(updates.get_nowait())
                    if shown := [p for p in batch if p is not None]:
                        yield convert_sweep.progress_message(shown[-1])
                    if batch[-1] is None:
                        break
                yield convert_sweep.result_message(await future)
            finally:  # a cancelled call: no run starts after this, and the slot waits for those running
                stop.set()
                await asyncio.wait([future])


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
