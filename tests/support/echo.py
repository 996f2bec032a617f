"""A test app: a raw-bytes gRPC server exercising every RPC kind, metadata and status path.

Methods (service `test.Echo`): Unary, ClientStream, ServerStream, Bidi, Fail, Sleep.
It records what reached it, so tests can prove what did and did not get through.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import AsyncIterator

import grpc
from grpc import aio

FAIL_MESSAGE = "受付できません: 住所が不正です ✗"
FAIL_DETAILS = b"\x08\x03\x12\x04rich\x1a\x00"  # opaque bytes standing in for google.rpc.Status


@dataclass
class Seen:
    method: str
    metadata: list[tuple[str, str | bytes]]
    peer: str


@dataclass
class EchoApp:
    """Handlers plus what they observed."""

    seen: list[Seen] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    cancelled_event: asyncio.Event = field(default_factory=asyncio.Event)
    messages_in: int = 0

    def _record(self, method: str, context: aio.ServicerContext) -> None:
        self.seen.append(Seen(method, list(context.invocation_metadata() or ()), context.peer()))

    async def _echo_metadata(self, context: aio.ServicerContext) -> None:
        md = context.invocation_metadata() or ()
        initial = tuple((k, v) for k, v in md if k.startswith("echo-"))
        await context.send_initial_metadata(initial)
        context.set_trailing_metadata(
            tuple(("trail-" + k[len("echo-"):], v) for k, v in md if k.startswith("echo-"))
        )

    async def unary(self, request: bytes, context: aio.ServicerContext) -> bytes:
        self._record("Unary", context)
        await self._echo_metadata(context)
        return request

    async def client_stream(self, requests: AsyncIterator[bytes], context: aio.ServicerContext) -> bytes:
        self._record("ClientStream", context)
        await self._echo_metadata(context)
        parts = []
        async for message in requests:
            self.messages_in += 1
            parts.append(message)
        return b"|".join(parts)

    async def server_stream(self, request: bytes, context: aio.ServicerContext) -> AsyncIterator[bytes]:
        self._record("ServerStream", context)
        await self._echo_metadata(context)
        for i in range(int(request or b"0")):
            yield b"item-%d" % i

    async def bidi(self, requests: AsyncIterator[bytes], context: aio.ServicerContext) -> AsyncIterator[bytes]:
        self._record("Bidi", context)
        await self._echo_metadata(context)
        async for message in requests:
            self.messages_in += 1
            yield b"echo:" + message

    async def fail(self, request: bytes, context: aio.ServicerContext) -> bytes:
        self._record("Fail", context)
        await context.abort(
            grpc.StatusCode.FAILED_PRECONDITION,
            FAIL_MESSAGE,
            trailing_metadata=(("grpc-status-details-bin", FAIL_DETAILS), ("trail-reason", "bad-address")),
        )
        return b""

    async def sleep(self, request: bytes, context: aio.ServicerContext) -> bytes:
        self._record("Sleep", context)
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.cancelled.append(request.decode())
            self.cancelled_event.set()
            raise
        return b""

    def handlers(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler("test.Echo", {
            "Unary": grpc.unary_unary_rpc_method_handler(self.unary),
            "ClientStream": grpc.stream_unary_rpc_method_handler(self.client_stream),
            "ServerStream": grpc.unary_stream_rpc_method_handler(self.server_stream),
            "Bidi": grpc.stream_stream_rpc_method_handler(self.bidi),
            "Fail": grpc.unary_unary_rpc_method_handler(self.fail),
            "Sleep": grpc.unary_unary_rpc_method_handler(self.sleep),
        })


def descriptor_set() -> bytes:
    """A FileDescriptorSet describing test.Echo (BytesValue in and out), for Service resources:
    it tells the mesh each method's RPC kind."""
    from google.protobuf import descriptor_pb2, wrappers_pb2

    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    echo = descriptor_pb2.FileDescriptorProto(name="test/echo.proto", package="test", syntax="proto3",
                                              dependency=[wrappers.name])
    service = echo.service.add(name="Echo")
    bytes_value = ".google.protobuf.BytesValue"
    for name, client_streaming, server_streaming in (
            ("Unary", False, False), ("ClientStream", True, False), ("ServerStream", False, True),
            ("Bidi", True, True), ("Fail", False, False), ("Sleep", False, False)):
        service.method.add(name=name, input_type=bytes_value, output_type=bytes_value,
                           client_streaming=client_streaming, server_streaming=server_streaming)
    return descriptor_pb2.FileDescriptorSet(file=[wrappers, echo]).SerializeToString()


async def start_echo(port: int, max_message_bytes: int = 4 * 1024 * 1024) -> tuple[aio.Server, EchoApp]:
    """Start the echo app on 127.0.0.1:port (plaintext: it only ever talks to its sidecar)."""
    app = EchoApp()
    server = aio.server(options=[
        ("grpc.so_reuseport", 0),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
    ])
    server.add_generic_rpc_handlers([app.handlers()])
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server, app
