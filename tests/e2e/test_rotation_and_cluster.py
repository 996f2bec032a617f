"""Certificate rotation under continuous traffic, and a 3-member etcd losing its leader.

Both run the whole mesh as processes; both must show zero failed calls.
"""

from __future__ import annotations

import asyncio

import pytest
from grpc import aio

from control_plane.localmesh import LocalMesh, free_port
from tests.e2e.test_config_faults import ORG, Mesh, resources, traffic
from tests.support.echo import start_echo
from tests.support.wait import async_wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def build(tmp_path, **mesh_args) -> tuple[Mesh, aio.Server]:
    local = LocalMesh(tmp_path, trust_domain="tsunagi.test", **mesh_args)
    local.add_operator("admin", "platform-admin")
    await local.start()
    app_port = free_port()
    server, app = await start_echo(app_port)
    inbound, outbound = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    await asyncio.to_thread(local.apply, "admin", resources(local.trust_domain, inbound))
    await asyncio.to_thread(local.add_sidecar, "registry", f"spiffe://tsunagi.test/org/{ORG}/sys/registry",
                            operator="admin", inbound=inbound, upstream=f"127.0.0.1:{app_port}",
                            extra={"maxConnectionAge": "5s"})
    await asyncio.to_thread(local.add_sidecar, "welfare", f"spiffe://tsunagi.test/org/{ORG}/sys/welfare",
                            operator="admin", outbound=outbound)
    return Mesh(local, app, outbound, inbound, aio.insecure_channel(outbound)), server


async def test_rotation_under_traffic_drops_no_call(tmp_path) -> None:
    """20 s certificates renewed at half-life on both sidecars while calls flow: zero failures."""
    mesh, server = await build(tmp_path, control_plane_extra={"workloadTtl": "20s"})
    try:
        stop, counts = asyncio.Event(), {"ok": 0}
        load = asyncio.create_task(traffic(mesh, stop, counts))
        sidecars = mesh.local.sidecars

        def rotations(name: str) -> int:
            return sidecars[name].logs().count('"tls_rotated"')

        await async_wait_until(lambda: rotations("registry") >= 2 and rotations("welfare") >= 2,
                               timeout=45, what="two rotations on each sidecar")
        stop.set()
        await load
        assert counts["ok"] > 100 and mesh.failures == []
    finally:
        await mesh.channel.close()
        await mesh.local.stop()
        await server.stop(None)


async def test_etcd_leader_killed_under_traffic(tmp_path) -> None:
    """3 etcd members, the leader killed: no data-plane errors, writes succeed, watches resume."""
    mesh, server = await build(tmp_path, etcd_members=3)
    try:
        stop, counts = asyncio.Event(), {"ok": 0}
        load = asyncio.create_task(traffic(mesh, stop, counts))
        await async_wait_until(lambda: counts["ok"] > 20, what="traffic flowing")
        leader = await mesh.local.etcd.leader_index()
        await mesh.local.etcd.kill(leader)
        versions = []
        for timeout in ("21s", "22s", "23s"):
            async def applied() -> bool:
                result = await asyncio.to_thread(mesh.local.meshctl, "admin", "apply", "-f", "-",
                                                 input=resources(mesh.local.trust_domain, mesh.inbound, timeout))
                return result.returncode == 0
            await async_wait_until(applied, timeout=20, what="a control-plane write after the leader died")
            versions.append(await asyncio.to_thread(mesh.version))
        await async_wait_until(lambda: mesh.converged(versions[-1]), timeout=15,
                               what="sidecars converged after failover")
        stop.set()
        await load
        assert counts["ok"] > 50 and mesh.failures == []
    finally:
        await mesh.channel.close()
        await mesh.local.stop()
        await server.stop(None)
