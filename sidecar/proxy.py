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
from typing import AsyncIterator, Protocol, Sequence

import grpc
import structlog
from grpc import aio

from sidecar.errors import SidecarError
from sidecar.forward import forward

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


class Proxy(grpc.GenericRpcHandler):
    """Serves any method by handing it to a Side and forwarding what it prepares."""

    def __init__(self, side: Side) -> None:
        self._side = side
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}
        self.in_flight = 0

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method = handler_call_details.method
        handler = self._handlers.get(method)
        if handler is None:
            handler = grpc.stream_stream_rpc_method_handler(functools.partial(self._handle, method))
            if len(self._handlers) < _HANDLER_CACHE_LIMIT:
                self._handlers[method] = handler
        return handler

    async def _handle(
        self, method: str, requests: AsyncIterator[bytes], context: aio.ServicerContext
    ) -> None:
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
            code = await forward(leg.channel, method, requests, context, leg.metadata,
                                 leg.timeout, f"{side.decider}: upstream unreachable")
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
