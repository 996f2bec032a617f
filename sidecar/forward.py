"""Forwarding one call as raw bytes, for every RPC kind.

Messages are never decoded here. When the config says what kind a method is, unary and
server-streaming calls are relayed with the request sent at the call's start (cheaper, and
immune to grpc/grpc#36066, where a write racing the upstream's early status masks it as
INTERNAL). Anything else is relayed as a bidirectional stream, one message at a time, awaiting
each write, so a slow reader holds the other side back (HTTP/2 flow control) instead of filling
a buffer. The upstream's status, message, initial and trailing metadata pass through untouched.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator, Sequence

import grpc
from grpc import aio

from sidecar.errors import SidecarError
from sidecar.exchange import Exchange

# grpc core's text when no connection (TCP or TLS) could be made; it never comes from a peer.
_LOCAL_CONNECT_FAILURE = "failed to connect to all addresses"
Metadata = Sequence[tuple[str, str | bytes]]


def _finish(context: aio.ServicerContext, code: grpc.StatusCode, details: str | None,
            trailers: Metadata | None) -> grpc.StatusCode:
    """Hand the upstream's outcome to our caller."""
    if trailers:
        context.set_trailing_metadata(tuple(trailers))
    context.set_code(code)
    if details:
        context.set_details(details)
    return code


def _failed(err: aio.AioRpcError, unreachable: str) -> tuple[grpc.StatusCode, str | None, Metadata | None]:
    """The outcome of a failed upstream call; a connection failure is this sidecar's own."""
    code, details = err.code(), err.details()
    if code is grpc.StatusCode.UNAVAILABLE and _LOCAL_CONNECT_FAILURE in (details or ""):
        details = f"{unreachable}: {details}"
    return code, details, err.trailing_metadata()


async def _pump_requests(requests: AsyncIterator[bytes], call: aio.StreamStreamCall,
                         exchange: Exchange) -> None:
    """Copy the caller's messages upstream (through the exchange's hooks), then half-close."""
    try:
        if exchange.passthrough:
            async for message in requests:
                await call.write(message)
        else:
            async for message in requests:
                await call.write(exchange.request(message, stream=True))
        await call.done_writing()
    except (aio.AioRpcError, asyncio.InvalidStateError):
        # The upstream already finished; its status is what the caller will see.
        return
    except SidecarError as exc:
        # A message we must not forward (e.g. untranslatable): stop the call, say why.
        exchange.failure = exc
        call.cancel()


async def forward_stream(
    channel: aio.Channel, method: str, requests: AsyncIterator[bytes], context: aio.ServicerContext,
    metadata: Metadata, timeout: float | None, unreachable: str, exchange: Exchange,
) -> grpc.StatusCode:
    """Relay any call as a bidi stream. Cancellation of the caller (or its deadline) cancels
    the upstream call: the `finally` runs when the server cancels this handler's task."""
    call = channel.stream_stream(method)(metadata=metadata, timeout=timeout)
    sender = asyncio.ensure_future(_pump_requests(requests, call, exchange))
    passthrough = exchange.passthrough
    try:
        headers = await call.initial_metadata()
        if headers:
            await context.send_initial_metadata(tuple(headers))
        async for response in call:
            await context.write(response if passthrough else exchange.response(response, stream=True))
        code, details, trailers = await call.code(), await call.details(), await call.trailing_metadata()
    except aio.AioRpcError as err:
        if exchange.failure is not None:
            raise exchange.failure from None
        code, details, trailers = _failed(err, unreachable)
    finally:
        sender.cancel()
        if not call.done():
            call.cancel()
    return _finish(context, code, details, trailers)


async def forward_unary(
    channel: aio.Channel, method: str, request: bytes, context: aio.ServicerContext,
    metadata: Metadata, timeout: float | None, unreachable: str, exchange: Exchange,
) -> tuple[grpc.StatusCode, bytes | None]:
    """Relay a unary-unary call; returns the status and the response to give back."""
    passthrough = exchange.passthrough
    if not passthrough:
        request = exchange.request(request, stream=False)
    call = channel.unary_unary(method)(request, metadata=metadata, timeout=timeout)
    response = None
    try:
        response = await call
        if not passthrough:
            response = exchange.response(response, stream=False)
        code, details, trailers = grpc.StatusCode.OK, await call.details(), await call.trailing_metadata()
    except aio.AioRpcError as err:
        code, details, trailers = _failed(err, unreachable)
    finally:
        if not call.done():
            call.cancel()
    headers = await call.initial_metadata()
    if headers:
        await context.send_initial_metadata(tuple(headers))
    return _finish(context, code, details, trailers), response


async def forward_server_stream(
    channel: aio.Channel, method: str, request: bytes, context: aio.ServicerContext,
    metadata: Metadata, timeout: float | None, unreachable: str, exchange: Exchange,
) -> grpc.StatusCode:
    """Relay a unary-stream call: the one request goes with the call's start."""
    passthrough = exchange.passthrough
    if not passthrough:
        request = exchange.request(request, stream=False)
    call = channel.unary_stream(method)(request, metadata=metadata, timeout=timeout)
    try:
        headers = await call.initial_metadata()
        if headers:
            await context.send_initial_metadata(tuple(headers))
        async for response in call:
            await context.write(response if passthrough else exchange.response(response, stream=True))
        code, details, trailers = await call.code(), await call.details(), await call.trailing_metadata()
    except aio.AioRpcError as err:
        code, details, trailers = _failed(err, unreachable)
    finally:
        if not call.done():
            call.cancel()
    return _finish(context, code, details, trailers)
