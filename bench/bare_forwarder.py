"""The bare forwarder: the least a grpc.aio raw-bytes proxy can do (no checks, no logging),
the floor any Python gRPC proxy such as the sidecar is measured against. (grpc/grpc#36066:
when the upstream ends a call before our write lands, grpc.aio may report INTERNAL instead
of the upstream's status; successful calls are unaffected.)

`python -m bench.bare_forwarder --listen ADDR --upstream ADDR
    [--tls-in CERT,KEY,CA] [--tls-out CERT,KEY,CA,SERVERNAME]`
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import signal
from pathlib import Path
from typing import AsyncIterator

import grpc
from grpc import aio

_OPTIONS: list[tuple[str, int | str]] = [("grpc.so_reuseport", 0)]


class Forwarder(grpc.GenericRpcHandler):
    """Every method becomes a raw-bytes bidi stream relayed to one upstream channel."""

    def __init__(self, channel: aio.Channel) -> None:
        self._channel = channel
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method = handler_call_details.method
        if method not in self._handlers:  # the aio context cannot tell a handler its method
            self._handlers[method] = grpc.stream_stream_rpc_method_handler(
                functools.partial(self._relay, method)
            )
        return self._handlers[method]

    async def _relay(
        self, method: str, requests: AsyncIterator[bytes], context: aio.ServicerContext
    ) -> None:
        # Per-hop keys (user-agent, pseudo-headers) are gRPC's own; everything else passes.
        metadata = [
            (k, v)
            for k, v in context.invocation_metadata() or ()
            if k != "user-agent" and k[0] != ":"
        ]
        call = self._channel.stream_stream(method)(
            metadata=metadata, timeout=context.time_remaining()
        )

        async def send() -> None:
            async for message in requests:
                await call.write(message)
            await call.done_writing()

        sender = asyncio.ensure_future(send())
        try:
            headers = await call.initial_metadata()
            if headers:
                await context.send_initial_metadata(headers)
            async for response in call:
                await context.write(response)
            code, details, trailers = (
                await call.code(),
                await call.details(),
                await call.trailing_metadata(),
            )
        except aio.AioRpcError as err:
            code, details, trailers = err.code(), err.details(), err.trailing_metadata()
        finally:
            sender.cancel()
            call.cancel()
        if trailers:
            context.set_trailing_metadata(trailers)
        context.set_code(code)
        if details:
            context.set_details(details)


def _files(spec: str, names: tuple[str, ...]) -> list[str]:
    parts = spec.split(",")
    if len(parts) != len(names):
        raise SystemExit(f"expected {','.join(names)}, got {spec!r}")
    return parts


async def serve(listen: str, upstream: str, tls_in: str | None, tls_out: str | None) -> None:
    """Forward from `listen` to `upstream` until SIGTERM or SIGINT."""
    if tls_out:
        cert, key, ca, name = _files(tls_out, ("CERT", "KEY", "CA", "SERVERNAME"))
        creds = grpc.ssl_channel_credentials(
            Path(ca).read_bytes(), Path(key).read_bytes(), Path(cert).read_bytes()
        )
        channel = aio.secure_channel(
            upstream, creds, [*_OPTIONS, ("grpc.ssl_target_name_override", name)]
        )
    else:
        channel = aio.insecure_channel(upstream, _OPTIONS)
    server = aio.server(options=_OPTIONS)
    server.add_generic_rpc_handlers((Forwarder(channel),))
    if tls_in:
        cert_in, key_in, ca_in = (
            Path(p).read_bytes() for p in _files(tls_in, ("CERT", "KEY", "CA"))
        )
        server.add_secure_port(
            listen,
            grpc.ssl_server_credentials([(key_in, cert_in)], ca_in, require_client_auth=True),
        )
    else:
        server.add_insecure_port(listen)
    await server.start()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(grace=1.0)
    await channel.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_forwarder", description=__doc__)
    parser.add_argument("--listen", required=True, help="HOST:PORT to accept calls on")
    parser.add_argument("--upstream", required=True, help="HOST:PORT to forward to")
    parser.add_argument("--tls-in", help="CERT,KEY,CA: serve mTLS, requiring a client cert from CA")
    parser.add_argument(
        "--tls-out", help="CERT,KEY,CA,SERVERNAME: dial with mTLS, pinning SERVERNAME"
    )
    args = parser.parse_args()
    asyncio.run(serve(args.listen, args.upstream, args.tls_in, args.tls_out))


if __name__ == "__main__":
    main()
