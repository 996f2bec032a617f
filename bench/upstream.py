"""The benchmark's upstream app: a raw-bytes gRPC server whose `/bench.Echo/Unary` answers
every request with the same fixed payload, so the server's work is constant on every path.
`descriptor_set()` describes that service for a mesh Service resource.

`python -m bench.upstream --listen 127.0.0.1:PORT [--response-bytes 1024]`
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import grpc
from grpc import aio

SERVICE = "bench.Echo"
METHOD = f"/{SERVICE}/Unary"
PAYLOAD_BYTES = 1024


class Echo(grpc.GenericRpcHandler):
    """Serves METHOD only, without (de)serializers: requests and responses are bytes."""

    def __init__(self, response: bytes) -> None:
        self._handler = grpc.unary_unary_rpc_method_handler(self._unary)
        self._response = response

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        return self._handler if handler_call_details.method == METHOD else None

    async def _unary(self, request: bytes, context: aio.ServicerContext) -> bytes:
        return self._response


def descriptor_set() -> bytes:
    """A FileDescriptorSet for bench.Echo: one unary method, BytesValue in and out. A mesh
    Service carries it, which tells the sidecars that the method is unary."""
    from google.protobuf import descriptor_pb2, wrappers_pb2

    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    package, service_name = SERVICE.rsplit(".", 1)
    echo = descriptor_pb2.FileDescriptorProto(
        name="bench/echo.proto", package=package, syntax="proto3", dependency=[wrappers.name]
    )
    bytes_value = ".google.protobuf.BytesValue"
    echo.service.add(name=service_name).method.add(
        name=METHOD.rsplit("/", 1)[1], input_type=bytes_value, output_type=bytes_value
    )
    return descriptor_pb2.FileDescriptorSet(file=[wrappers, echo]).SerializeToString()


async def serve(listen: str, response_bytes: int) -> None:
    """Serve until SIGTERM or SIGINT."""
    # A stale server on the same port would otherwise silently take part of the load.
    server = aio.server(options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers((Echo(b"\x5a" * response_bytes),))
    if server.add_insecure_port(listen) == 0:
        raise SystemExit(f"cannot listen on {listen}")
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(grace=1.0)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.upstream", description=__doc__)
    parser.add_argument("--listen", required=True, help="HOST:PORT to serve h2c on")
    parser.add_argument("--response-bytes", type=int, default=PAYLOAD_BYTES)
    args = parser.parse_args()
    asyncio.run(serve(args.listen, args.response_bytes))


if __name__ == "__main__":
    main()
