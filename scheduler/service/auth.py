"""Bearer-token authentication for every call but health checks."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from grpc import aio

_OPEN = "/grpc.health.v1.Health/"


class TokenInterceptor(aio.ServerInterceptor):  # type: ignore[type-arg]
    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        if details.method.startswith(_OPEN):
            return await continuation(details)
        given = dict(details.invocation_metadata or ()).get("authorization", "")
        given_bytes = given.encode() if isinstance(given, str) else given
        if hmac.compare_digest(given_bytes, self._expected):
            return await continuation(details)
        handler = await continuation(details)
        streaming = handler is not None and handler.response_streaming
        return refusal(
            streaming, grpc.StatusCode.UNAUTHENTICATED, "missing authorization" if not given else "invalid token"
        )


def refusal(streaming: bool, code: grpc.StatusCode, message: str) -> grpc.RpcMethodHandler[Any, Any]:
    """A handler (response-streaming or not) that ends the call with ``code``."""

    async def deny(request: Any, context: aio.ServicerContext[Any, Any]) -> None:
        await context.abort(code, message)

    if streaming:

        async def deny_stream(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            await context.abort(code, message)
            yield  # pragma: no cover - makes this an async generator

        return grpc.unary_stream_rpc_method_handler(deny_stream)
    return grpc.unary_unary_rpc_method_handler(deny)


def read_token(text: str) -> str:
    """The token from a token file: its first non-empty line."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
