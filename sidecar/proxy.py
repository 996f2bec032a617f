"""The generic proxy handler: every method of a listener lands here as raw bytes.

Each listener supplies a `Side` that prepares the upstream leg of a call (the layers of the
request path) and fills in the Exchange. This module runs it, turns the sidecar's own
refusals into statuses in this one place, relays, and writes the one log line and the one
audit record per call, whatever happened.
"""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import AsyncIterator, Awaitable, Callable, Protocol, Sequence

import grpc
import structlog
from grpc import aio

from sidecar.errors import AuditUnavailable, SidecarError
from sidecar.exchange import Exchange
from sidecar.forward import forward_server_stream, forward_stream, forward_unary
from sidecar.snapshot import SERVER_STREAM, UNARY

_HANDLER_CACHE_LIMIT = 1024

log = structlog.get_logger("sidecar.call")


@dataclass(slots=True)
class Leg:
    """The upstream leg of one call, as prepared by a Side."""

    channel: aio.Channel
    metadata: Sequence[tuple[str, str | bytes]]
    timeout: float | None
    # The path to call upstream (differs from the caller's when the call is translated).
    method: str = ""


class Side(Protocol):
    """One listener's request path, from the incoming call to its upstream leg."""

    name: str  # "outbound" or "inbound"
    decider: str  # how refusals name this sidecar, e.g. "sidecar spiffe://…/sys/b (outbound)"

    def prepare(self, method: str, context: aio.ServicerContext, exchange: Exchange) -> Leg:
        """Run this side's layers, filling in `exchange`; raise SidecarError to refuse."""
        ...

    def method_kind(self, method: str) -> str | None:
        """UNARY or SERVER_STREAM when the config knows the method; None relays as a stream."""
        ...


class Auditor(Protocol):
    """Where the proxy hands each finished exchange (sidecar/audit.py)."""

    @property
    def available(self) -> bool: ...

    def record(self, side: str, exchange: Exchange, status: grpc.StatusCode,
               started: datetime, duration: timedelta) -> None: ...


class Proxy(grpc.GenericRpcHandler):
    """Serves any method by handing it to a Side and relaying what it prepares."""

    def __init__(self, side: Side, auditor: Auditor | None = None) -> None:
        self._side = side
        self.auditor = auditor
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
        async def relay(leg: Leg, exchange: Exchange, unreachable: str) -> grpc.StatusCode:
            return await forward_stream(leg.channel, leg.method or method, requests, context, leg.metadata,
                                        leg.timeout, unreachable, exchange)
        await self._run(method, context, relay)

    async def _server_stream(self, method: str, request: bytes, context: aio.ServicerContext) -> None:
        async def relay(leg: Leg, exchange: Exchange, unreachable: str) -> grpc.StatusCode:
            return await forward_server_stream(leg.channel, leg.method or method, request, context,
                                               leg.metadata, leg.timeout, unreachable, exchange)
        await self._run(method, context, relay)

    async def _unary(self, method: str, request: bytes, context: aio.ServicerContext) -> bytes | None:
        response: bytes | None = None

        async def relay(leg: Leg, exchange: Exchange, unreachable: str) -> grpc.StatusCode:
            nonlocal response
            code, response = await forward_unary(leg.channel, leg.method or method, request, context,
                                                 leg.metadata, leg.timeout, unreachable, exchange)
            return code
        await self._run(method, context, relay)
        return response

    async def _run(self, method: str, context: aio.ServicerContext,
                   relay: Callable[[Leg, Exchange, str], Awaitable[grpc.StatusCode]]) -> None:
        """Prepare, relay, then log and audit exactly once, whatever happens."""
        started, wall = time.perf_counter(), datetime.now(timezone.utc)
        side, auditor = self._side, self.auditor
        exchange = Exchange(method, audit=auditor is not None)
        self.in_flight += 1
        reason = ""
        code = grpc.StatusCode.UNKNOWN
        try:
            try:
                if auditor is not None and not auditor.available:
                    raise AuditUnavailable("audit unavailable")
                leg = side.prepare(method, context, exchange)
                code = await relay(leg, exchange, f"{side.decider}: upstream unreachable")
            except SidecarError as refusal:
                code, reason = refusal.code, refusal.reason
                await context.abort(code, f"{side.decider}: {reason}")
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
            duration = time.perf_counter() - started
            log.info("call_finished", side=side.name, exchange_id=exchange.id, method=method,
                     peer=exchange.peer, purpose=exchange.purpose, code=code.name, reason=reason,
                     rule=exchange.rule, duration_ms=round(duration * 1000, 3))
            if auditor is not None:
                auditor.record(side.name, exchange, code, wall, timedelta(seconds=duration))
