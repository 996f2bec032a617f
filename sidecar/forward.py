"""Forwarding one call as raw bytes: any RPC kind, as a bidirectional stream.

Messages are never decoded here. Requests and responses are pumped one message at a time,
awaiting each write, so a slow reader on either side holds the other back (HTTP/2 flow
control) instead of filling a buffer. The upstream's status, message, initial and trailing
metadata pass through untouched.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator, Sequence

import grpc
from grpc import aio


# grpc core's text when no connection (TCP or TLS) could be made; it never comes from a peer.
_LOCAL_CONNECT_FAILURE = "failed to connect to all addresses"


async def _pump_requests(requests: AsyncIterator[bytes], call: aio.StreamStreamCall) -> None:
    """Copy the caller's messages upstream, then half-close."""
    try:
        async for message in requests:
            await call.write(message)
        await call.done_writing()
    except (aio.AioRpcError, asyncio.InvalidStateError):
        # The upstream already finished (for example it answered early with an error); its
        # status is what the caller will see, so there is nothing left to send.
        return


async def forward(
    channel: aio.Channel,
    method: str,
    requests: AsyncIterator[bytes],
    context: aio.ServicerContext,
    metadata: Sequence[tuple[str, str | bytes]],
    timeout: float | None,
    unreachable: str,
) -> grpc.StatusCode:
    """Relay one call to `channel` and its outcome back through `context`; return the status.

    Cancellation of the caller (or its deadline) cancels the upstream call: the `finally`
    below runs when the server cancels this handler's task. When the upstream could not be
    reached at all (connection or TLS handshake failed), the status is this sidecar's own and
    its message starts with `unreachable`.
    """
    call = channel.stream_stream(method)(metadata=metadata, timeout=timeout)
    sender = asyncio.ensure_future(_pump_requests(requests, call))
    try:
        headers = await call.initial_metadata()
        if headers:
            await context.send_initial_metadata(tuple(headers))
        async for response in call:
            await context.write(response)
        code = await call.code()
        trailers = await call.trailing_metadata()
        details = await call.details()
    except aio.AioRpcError as err:
        code, details, trailers = err.code(), err.details(), err.trailing_metadata()
        if code is grpc.StatusCode.UNAVAILABLE and _LOCAL_CONNECT_FAILURE in (details or ""):
            details = f"{unreachable}: {details}"
    finally:
        sender.cancel()
        if not call.done():
            call.cancel()
    if trailers:
        context.set_trailing_metadata(tuple(trailers))
    context.set_code(code)
    if details:
        context.set_details(details)
    return code
