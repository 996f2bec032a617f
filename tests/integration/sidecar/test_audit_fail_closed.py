"""When the audit log cannot be written the sidecar refuses calls, and resumes on its own."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
from grpc import aio

from certs.ca import create_intermediate, create_root, issue_workload
from mesh.audit import AuditLog, MemoryCheckpointSink
from sidecar.audit import Auditor
from sidecar.proxy import Proxy
from tests.integration.sidecar.test_relay_kinds import FakeSide
from tests.support.echo import start_echo
from tests.support.wait import async_wait_until, free_port
from tests.unit.audit.logs import Switch, failing_opener, settings


async def test_unwritable_audit_log_refuses_calls_then_resumes(tmp_path: Path) -> None:
    """Disk failing: UNAVAILABLE "audit unavailable", nothing reaches the app; fixed: calls flow,
    and every call that was served has its record."""
    identity = issue_workload(create_intermediate(create_root()), "spiffe://t.test/org/131016/sys/a")
    failing = Switch()
    audit_log = AuditLog(tmp_path, lambda: identity, MemoryCheckpointSink(),
                         settings(capacity=20, headroom=5, retry_initial=0.01, retry_max=0.05),
                         opener=failing_opener(failing))
    writer = asyncio.create_task(audit_log.run())
    app_port, proxy_port = free_port(), free_port()
    app_server, app = await start_echo(app_port)
    upstream = aio.insecure_channel(f"127.0.0.1:{app_port}")
    proxy = aio.server(options=[("grpc.so_reuseport", 0)])
    proxy.add_generic_rpc_handlers([Proxy(FakeSide(upstream, known=True), Auditor(audit_log, "spiffe://t.test/x"))])
    proxy.add_insecure_port(f"127.0.0.1:{proxy_port}")
    await proxy.start()
    client = aio.insecure_channel(f"127.0.0.1:{proxy_port}")
    unary = client.unary_unary("/test.Echo/Unary")
    try:
        await async_wait_until(lambda: audit_log.available, what="the audit log open")
        assert await unary(b"ok", timeout=5) == b"ok"
        failing.on()
        served = 0
        for i in range(100):  # bounded: the queue fills within `capacity` calls
            try:
                await unary(b"x", timeout=5)
                served += 1
            except aio.AioRpcError as err:
                assert err.code() == grpc.StatusCode.UNAVAILABLE
                assert "audit unavailable" in err.details()
                break
        else:
            raise AssertionError("calls were never refused while the log failed")
        seen = len(app.seen)
        for _ in range(5):
            try:
                await unary(b"y", timeout=5)
                raise AssertionError("served while the audit log is down")
            except aio.AioRpcError as err:
                assert err.code() == grpc.StatusCode.UNAVAILABLE
        assert len(app.seen) == seen
        failing.off()

        async def works() -> bool:
            try:
                return await unary(b"back", timeout=5) == b"back"
            except aio.AioRpcError:
                return False

        await async_wait_until(works, timeout=10, what="calls served again")
        await audit_log.close()
        lines = [l for l in (tmp_path / audit_log.path.name).read_text().splitlines() if '"record"' in l]
        allowed = [l for l in lines if "AUDIT_DECISION_ALLOW" in l]
        assert len(allowed) >= served + 2  # the first call, those served before refusal, and "back"
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        await client.close()
        await proxy.stop(None)
        await upstream.close()
        await app_server.stop(None)
