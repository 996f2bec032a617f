"""Through a real sidecar pair (subprocesses, mTLS on 127.0.0.1), a call behaves as a direct one."""

from __future__ import annotations

import asyncio
import json
import socket

import grpc
import pytest
import pytest_asyncio
from grpc import aio

from tests.support.echo import FAIL_DETAILS, FAIL_MESSAGE, EchoApp, start_echo
from tests.support.sidecars import CONSUMER_ID, Pair, make_pair
from tests.support.wait import async_wait_until, free_port

pytestmark = pytest.mark.asyncio(loop_scope="module")
MiB = 1024 * 1024


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def mesh(tmp_path_factory: pytest.TempPathFactory):
    app_port = free_port()
    server, app = await start_echo(app_port)
    pair = make_pair(tmp_path_factory.mktemp("pair"), app_port)
    pair.provider.start(wait=False)
    pair.consumer.start()
    await async_wait_until(pair.provider.serving, what="provider SERVING")
    channel = aio.insecure_channel(pair.outbound, options=[
        ("grpc.max_receive_message_length", 8 * MiB), ("grpc.max_send_message_length", 8 * MiB)])
    yield pair, app, channel
    await channel.close()
    pair.stop()
    await server.stop(None)


def _stub(channel: aio.Channel, method: str, kind: str = "unary_unary"):
    return getattr(channel, kind)(f"/test.Echo/{method}")


async def test_unary_echoes_payload_and_metadata_both_ways(mesh) -> None:
    """Initial and trailing metadata (ASCII and -bin) come back as the app sent them."""
    _, _, channel = mesh
    call = _stub(channel, "Unary")(b"hello", metadata=(("echo-a", "1"), ("echo-b-bin", b"\x00\xff")), timeout=10)
    assert await call == b"hello"
    initial = await call.initial_metadata()
    trailing = await call.trailing_metadata()
    assert ("echo-a", "1") in tuple(initial) and ("echo-b-bin", b"\x00\xff") in tuple(initial)
    assert ("trail-a", "1") in tuple(trailing) and ("trail-b-bin", b"\x00\xff") in tuple(trailing)


async def test_client_streaming_delivers_every_message_in_order(mesh) -> None:
    """A client stream arrives whole and in order."""
    _, _, channel = mesh

    async def messages():
        for i in range(50):
            yield b"m%d" % i

    reply = await _stub(channel, "ClientStream", "stream_unary")(messages(), timeout=10)
    assert reply == b"|".join(b"m%d" % i for i in range(50))


async def test_server_streaming_delivers_every_response(mesh) -> None:
    """A server stream arrives whole and in order."""
    _, _, channel = mesh
    got = [m async for m in _stub(channel, "ServerStream", "unary_stream")(b"40", timeout=10)]
    assert got == [b"item-%d" % i for i in range(40)]


async def test_bidi_streaming_interleaves(mesh) -> None:
    """Bidi: each message is answered before the next is sent (no batching in the proxy)."""
    _, _, channel = mesh
    call = _stub(channel, "Bidi", "stream_stream")(timeout=10)
    for i in range(10):
        await call.write(b"%d" % i)
        assert await call.read() == b"echo:%d" % i
    await call.done_writing()
    assert await call.code() == grpc.StatusCode.OK


async def test_status_unicode_message_and_details_pass_through(mesh) -> None:
    """The app's status code, unicode message, details and trailers arrive untouched."""
    _, _, channel = mesh
    with pytest.raises(aio.AioRpcError) as err:
        await _stub(channel, "Fail")(b"", timeout=10)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert err.value.details() == FAIL_MESSAGE
    trailers = tuple(err.value.trailing_metadata())
    assert ("grpc-status-details-bin", FAIL_DETAILS) in trailers
    assert ("trail-reason", "bad-address") in trailers


@pytest.mark.parametrize("size", [4 * MiB - 64])
async def test_large_message_crosses_both_ways(mesh, size: int) -> None:
    """A 4 MiB − 64 B message goes up and comes back intact."""
    _, _, channel = mesh
    payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    assert await _stub(channel, "Unary")(payload, timeout=30) == payload


async def test_oversized_message_is_resource_exhausted(mesh) -> None:
    """Beyond the 4 MiB default the caller gets RESOURCE_EXHAUSTED and the app sees nothing."""
    _, app, channel = mesh
    before = len(app.seen)
    with pytest.raises(aio.AioRpcError) as err:
        await _stub(channel, "Unary")(b"x" * (4 * MiB + 1), timeout=30)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert len(app.seen) == before


async def test_concurrent_calls_each_get_their_own_response(mesh) -> None:
    """200 concurrent calls each get their own distinct response."""
    _, _, channel = mesh
    unary = _stub(channel, "Unary")
    replies = await asyncio.gather(*(unary(b"req-%d" % i, timeout=30) for i in range(200)))
    assert replies == [b"req-%d" % i for i in range(200)]


async def test_deadline_is_forwarded_and_upstream_cancelled(mesh) -> None:
    """An upstream sleeping past the deadline: DEADLINE_EXCEEDED, and the app sees cancellation."""
    _, app, channel = mesh
    app.cancelled_event.clear()
    with pytest.raises(aio.AioRpcError) as err:
        await _stub(channel, "Sleep")(b"deadline", timeout=0.5)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    await asyncio.wait_for(app.cancelled_event.wait(), 5)
    assert "deadline" in app.cancelled


async def test_client_cancellation_reaches_upstream(mesh) -> None:
    """Cancelling a call at the client cancels the app's handler behind two sidecars."""
    _, app, channel = mesh
    app.cancelled_event.clear()
    before = len(app.seen)
    call = _stub(channel, "Sleep")(b"cancel-me", timeout=30)
    await async_wait_until(lambda: len(app.seen) > before, what="call reached the app")
    call.cancel()
    await asyncio.wait_for(app.cancelled_event.wait(), 5)
    assert "cancel-me" in app.cancelled


async def test_unknown_service_is_unimplemented_by_the_consumer(mesh) -> None:
    """No route: UNIMPLEMENTED, the message names the deciding sidecar, nothing is forwarded."""
    _, app, channel = mesh
    before = len(app.seen)
    with pytest.raises(aio.AioRpcError) as err:
        await channel.unary_unary("/other.Svc/Get")(b"", timeout=5)
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert f"sidecar {CONSUMER_ID} (outbound)" in err.value.details()
    assert len(app.seen) == before


async def test_app_cannot_spoof_caller_or_exchange_id(mesh) -> None:
    """x-mesh-* keys from the app are dropped; the provider's app sees only the real caller."""
    _, app, channel = mesh
    spoof = (("x-mesh-caller", "spiffe://tsunagi.test/org/999999/sys/x"),
             ("x-mesh-exchange-id", "0" * 32), ("x-mesh-anything", "y"))
    await _stub(channel, "Unary")(b"spoof", metadata=spoof, timeout=10)
    seen = app.seen[-1].metadata
    assert [v for k, v in seen if k == "x-mesh-caller"] == [CONSUMER_ID]
    ids = [v for k, v in seen if k == "x-mesh-exchange-id"]
    assert len(ids) == 1 and ids[0] != "0" * 32
    assert not [k for k, _ in seen if k == "x-mesh-anything"]


async def test_both_sidecars_log_the_same_exchange_id(mesh) -> None:
    """One JSON line per call per sidecar, sharing the exchange id; no payload in the logs."""
    pair, app, channel = mesh
    await _stub(channel, "Unary")(b"secret-payload-7731", timeout=10)
    exchange_id = [v for k, v in app.seen[-1].metadata if k == "x-mesh-exchange-id"][0]

    def lines(p: Pair, side: str) -> list[dict]:
        out = []
        for line in (p.consumer if side == "outbound" else p.provider).logs().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("exchange_id") == exchange_id:
                out.append(event)
        return out

    await async_wait_until(lambda: lines(pair, "outbound") and lines(pair, "inbound"), what="log lines")
    for side in ("outbound", "inbound"):
        (event,) = lines(pair, side)
        assert event["event"] == "call_finished" and event["code"] == "OK"
        assert event["method"] == "/test.Echo/Unary" and event["duration_ms"] >= 0
    assert lines(pair, "inbound")[0]["peer"] == CONSUMER_ID
    assert "secret-payload-7731" not in pair.consumer.logs() + pair.provider.logs()


@pytest.mark.parametrize("target", ["outbound", "inbound"])
async def test_garbage_bytes_leave_the_sidecar_serving(mesh, target: str) -> None:
    """Garbage and malformed HTTP/2 on either listener: the sidecar stays alive and serving."""
    pair, _, channel = mesh
    host, port = getattr(pair, target).rsplit(":", 1)
    blobs = [b"\x00" * 64, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
             b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\xff" * 100,
             b"\x16\x03\x01\x00\x05hello" + bytes(range(256))]
    for blob in blobs:
        with socket.create_connection((host, int(port)), timeout=2) as sock:
            sock.sendall(blob)
            try:
                sock.recv(1024)
            except (socket.timeout, ConnectionError):
                pass
    assert pair.consumer.alive() and pair.provider.alive()
    assert await _stub(channel, "Unary")(b"still-ok", timeout=10) == b"still-ok"
