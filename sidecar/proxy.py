"""The generic proxy handler: every method of a listener lands here as a raw-bytes stream.

Each listener supplies a `Side` that prepares the upstream leg of a call (the layers of the
request path). This module runs it, turns the sidecar's own refusals into statuses in this
one place, forwards, and writes the one log line per call.
"""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass
from typing import AsyncIterator, Awaitable, Callable, Protocol, Sequence

import grpc
import structlog
from grpc import aio

from sidecar.errors import SidecarError
from sidecar.snapshot import SERVER_STREAM, UNARY
from sidecar.forward import forward_server_stream, forward_stream, forward_unary

_HANDLER_CACHE_LIMIT = 1024

log = structlog.get_logger("sidecar.call")


@dataclass(slots=True)
class Leg:
    """The upstream leg of one call, as prepared by a Side."""

    channel: aio.Channel
    metadata: Sequence[tuple[str, str | bytes]]
    timeout: float | None
    exchange_id: str
    peer: str


class Side(Protocol):
    """One listener's request path, from the incoming call to its upstream leg."""

    name: str  # "outbound" or "inbound"
    decider: str  # how refusals name this sidecar, e.g. "sidecar spiffe://…/sys/b outbound"

    def prepare(self, method: str, context: aio.ServicerContext) -> Leg:
        """Run this side's layers; raise SidecarError to refuse the call."""
        ...

    def method_kind(self, method: str) -> str | None:
        """UNARY or SERVER_STREAM when the config knows the method; None relays as a stream."""
        ...


class Proxy(grpc.GenericRpcHandler):
    """Serves any method by handing it to a Side and forwarding what it prepares."""

    def __init__(self, side: Side) -> None:
        self._side = side
        self._handlers: dict[tuple[str, str | None], grpc.RpcMethodHandler] = {}
        self.in_flight = 0

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method = handler_call_details.method
        kind = self._side.method_kind(method)
        handler = self._handlers.get((method, kind))
        if handler is None:
            if kind == UNARY:
                handler = grpc.unary_unary_rpc_method_handler(functools.partial(self._unary, method))
            elif kind == SERVER_STREAM:
                handler = grpc.unary_stream_rpc_method_handler(functools.partial(self._server_stream, method))
            else:
                handler = grpc.stream_stream_rpc_method_handler(functools.partial(self._stream, method))
            if len(self._handlers) < _HANDLER_CACHE_LIMIT:
                self._handlers[(method, kind)] = handler
        return handler

    async def _stream(self, method: str, requests: AsyncIterator[bytes], context: aio.ServicerContext) -> None:
        async def relay(leg: Leg, unreachable: str) -> grpc.StatusCode:
            return await forward_stream(leg.channel, method, requests, context, leg.metadata,
                                        leg.timeout, unreachable)
        await self._run(method, context, relay)

    async def _server_stream(self, method: str, request: bytes, context: aio.ServicerContext) -> None:
        async def relay(leg: Leg, unreachable: str) -> grpc.StatusCode:
            return await forward_server_stream(leg.channel, method, request, context, leg.metadata,
                                               leg.timeout, unreachable)
        await self._run(method, context, relay)

    async def _unary(self, method: str, request: bytes, context: aio.ServicerContext) -> bytes | None:
        response: bytes | None = None

        async def relay(leg: Leg, unreachable: str) -> grpc.StatusCode:
            nonlocal response
            code, response = await forward_unary(leg.channel, method, request, context, leg.metadata,
                                                 leg.timeout, unreachable)
            return code
        await self._run(method, context, relay)
        return response

    async def _run(self, method: str, context: aio.ServicerContext,
                   relay: Callable[[Leg, str], Awaitable[grpc.StatusCode]]) -> None:
        """Prepare the upstream leg, relay, and log one line, whatever happens."""
        started = time.perf_counter()
        side = self._side
        self.in_flight += 1
        exchange_id = peer = reason = ""
        code = grpc.StatusCode.UNKNOWN
        try:
            try:
                leg = side.prepare(method, context)
            except SidecarError as refusal:
                code, reason = refusal.code, refusal.reason
                await context.abort(code, f"{side.decider}: {reason}")
            exchange_id, peer = leg.exchange_id, leg.peer
            code = await relay(leg, f"{side.decider}: upstream unreachable")
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        except aio.AbortError:
            raise
        except Exception:
            code, reason = grpc.StatusCode.INTERNAL, "internal error"
            log.exception("call_failed", side=side.name, method=method)
            await context.abort(code, f"{side.decider}: internal error")
        finally:
            self.in_flight -= 1
            log.info(
                "call_finished",
                side=side.name,
                exchange_id=exchange_id,
                method=method,
                peer=peer,
                code=code.name,
                reason=reason,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )
