"""The whole mesh as processes (etcd with TLS+auth, control plane, joining sidecars) under faults.

Each fault keeps the data path answering where it can: zero failed calls while etcd is away,
a restart from the verified last-known-good config, deny-all without any config, a relist after
compaction, tampering refused, revocation enforced on open connections.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field

import grpc
import pytest
import pytest_asyncio
import yaml
from grpc import aio

from control_plane.localmesh import LocalMesh, free_port
from mesh import keys
from tests.support.echo import EchoApp, descriptor_set, start_echo
from tests.support.wait import async_wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")
ORG = "131016"
API = "mesh.tsunagi.dev/v1"


def resources(trust_domain: str, inbound: str, timeout: str = "10s") -> str:
    def doc(kind: str, name: str, spec: dict, org: str = ORG) -> dict:
        return {"apiVersion": API, "kind": kind, "metadata": {"name": name, **({"org": org} if org else {})},
                "spec": spec}
    return yaml.safe_dump_all([
        doc("Organization", ORG, {"type": "ORGANIZATION_TYPE_MUNICIPALITY", "displayName": "千代田区"}, ""),
        doc("System", "registry", {"displayName": "registry", "spiffeId": f"spiffe://{trust_domain}/org/{ORG}/sys/registry"}),
        doc("System", "welfare", {"displayName": "welfare", "spiffeId": f"spiffe://{trust_domain}/org/{ORG}/sys/welfare"}),
        doc("Service", "echo", {"system": "registry", "grpcServices": ["test.Echo"],
                                "descriptorSet": base64.b64encode(descriptor_set()).decode(),
                                "endpoints": [{"address": inbound}]}),
        doc("Route", "welfare-to-echo", {"consumer": "welfare", "grpcService": "test.Echo", "timeout": timeout}),
        doc("AccessPolicy", "echo-access", {"system": "registry", "rules": [{
            "name": "welfare", "purposeRequired": False,
            "callers": {"spiffeIds": [f"spiffe://{trust_domain}/org/{ORG}/sys/welfare"]},
            "methods": [f"/test.Echo/{m}" for m in ("Unary", "ClientStream", "ServerStream", "Bidi", "Fail", "Sleep")],
        }]}),
    ])


@dataclass
class Mesh:
    local: LocalMesh
    app: EchoApp
    outbound: str
    inbound: str
    channel: aio.Channel
    failures: list[str] = field(default_factory=list)

    def id(self, system: str) -> str:
        return f"spiffe://{self.local.trust_domain}/org/{ORG}/sys/{system}"

    async def call(self, payload: bytes = b"ping") -> bytes:
        return await self.channel.unary_unary("/test.Echo/Unary")(payload, timeout=5)

    async def status(self) -> dict[str, int]:
        result = await asyncio.to_thread(self.local.meshctl, "admin", "status", "-o", "json")
        doc = json.loads(result.stdout or "{}")
        return {s["spiffeId"]: int(s.get("appliedVersion", 0)) for s in doc.get("sidecars", [])}

    async def converged(self, version: int, systems: tuple[str, ...] = ("registry", "welfare")) -> bool:
        applied = await self.status()
        return all(applied.get(self.id(s), 0) >= version for s in systems)

    def apply(self, text: str) -> int:
        out = self.local.apply("admin", text)
        assert "configured" in out or "created" in out or "unchanged" in out
        return self.version()

    def version(self) -> int:
        result = self.local.meshctl("admin", "status", "-o", "json")
        return int(json.loads(result.stdout).get("configVersion", 0))


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def mesh(tmp_path_factory: pytest.TempPathFactory):
    local = LocalMesh(tmp_path_factory.mktemp("faults"), trust_domain="tsunagi.test")
    local.add_operator("admin", "platform-admin")
    await local.start()
    app_port = free_port()
    server, app = await start_echo(app_port)
    inbound, outbound = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    await asyncio.to_thread(local.apply, "admin", resources(local.trust_domain, inbound))
    await asyncio.to_thread(local.add_sidecar, "registry", f"spiffe://tsunagi.test/org/{ORG}/sys/registry",
                            operator="admin", inbound=inbound, upstream=f"127.0.0.1:{app_port}")
    await asyncio.to_thread(local.add_sidecar, "welfare", f"spiffe://tsunagi.test/org/{ORG}/sys/welfare",
                            operator="admin", outbound=outbound)
    channel = aio.insecure_channel(outbound)
    yield Mesh(local, app, outbound, inbound, channel)
    await channel.close()
    await local.stop()
    await server.stop(None)


async def traffic(mesh: Mesh, stop: asyncio.Event, counts: dict[str, int]) -> None:
    """Sequential calls until told to stop; every failure is recorded."""
    for i in range(100_000):
        if stop.is_set():
            return
        try:
            assert await mesh.call(b"t%d" % i) == b"t%d" % i
            counts["ok"] += 1
        except (aio.AioRpcError, AssertionError) as exc:
            mesh.failures.append(repr(exc)[:200])


async def test_sidecars_converge_and_report_it(mesh: Mesh) -> None:
    """A call works and meshctl status shows both sidecars on the newest config version."""
    assert await mesh.call(b"hello") == b"hello"
    version = await asyncio.to_thread(mesh.version)
    await async_wait_until(lambda: mesh.converged(version), what="both sidecars converged")


async def test_etcd_down_during_traffic_then_back(mesh: Mesh) -> None:
    """etcd stopped under traffic: zero failed calls; after it returns a change converges in 10 s."""
    stop, counts = asyncio.Event(), {"ok": 0}
    mesh.failures.clear()
    load = asyncio.create_task(traffic(mesh, stop, counts))
    await async_wait_until(lambda: counts["ok"] > 20, what="traffic flowing")
    await mesh.local.etcd.stop(0)
    before = counts["ok"]
    await async_wait_until(lambda: counts["ok"] > before + 50, what="calls served with etcd down")
    await mesh.local.etcd.restart(0)
    version = await asyncio.to_thread(mesh.apply, resources(mesh.local.trust_domain, mesh.inbound, "11s"))
    await async_wait_until(lambda: mesh.converged(version), timeout=10, what="converged after etcd returned")
    stop.set()
    await load
    assert mesh.failures == []


async def test_sidecar_restarted_while_etcd_is_down_serves_from_its_lkg(mesh: Mesh) -> None:
    """With etcd gone, a restarted consumer boots from its verified last-known-good config."""
    await mesh.local.etcd.stop(0)
    try:
        sidecar = mesh.local.sidecars["welfare"]
        await asyncio.to_thread(sidecar.stop)
        await asyncio.to_thread(sidecar.start().wait_serving)
        assert await mesh.call(b"from-lkg") == b"from-lkg"
        assert '"source": "lkg"' in sidecar.logs() or "source=lkg" in sidecar.logs()
    finally:
        await mesh.local.etcd.restart(0)


async def test_no_lkg_and_no_etcd_denies_every_call(mesh: Mesh) -> None:
    """A new sidecar with no config at all denies calls with UNAVAILABLE, and says why."""
    outbound = f"127.0.0.1:{free_port()}"
    await mesh.local.etcd.stop(0)
    try:
        process = await asyncio.to_thread(
            mesh.local.add_sidecar, "newcomer", mesh.id("welfare"), operator="admin", outbound=outbound,
            start=False, join=False)
        process.start()
        before = len(mesh.app.seen)

        async def refused() -> bool:
            async with aio.insecure_channel(outbound) as channel:
                try:
                    await channel.unary_unary("/test.Echo/Unary")(b"x", timeout=2)
                except aio.AioRpcError as err:
                    if err.code() == grpc.StatusCode.UNAVAILABLE and "no valid config" in (err.details() or ""):
                        return True
            return False

        await async_wait_until(refused, timeout=20, what="denied with no config")
        assert not process.serving() and len(mesh.app.seen) == before
        await asyncio.to_thread(process.stop)
    finally:
        await mesh.local.etcd.restart(0)


async def test_compaction_while_a_sidecar_is_stopped(mesh: Mesh) -> None:
    """Changes and a compaction while the consumer is down: on restart it lists again and
    reaches the head."""
    sidecar = mesh.local.sidecars["welfare"]
    await asyncio.to_thread(sidecar.stop)
    for timeout in ("12s", "13s", "14s"):
        version = await asyncio.to_thread(mesh.apply, resources(mesh.local.trust_domain, mesh.inbound, timeout))
    root = mesh.local.etcd.store_for("root")
    try:
        await root.compact(await root.current_revision())
    finally:
        await root.close()
    await asyncio.to_thread(sidecar.start().wait_serving)
    await async_wait_until(lambda: mesh.converged(version, ("welfare",)), timeout=15, what="consumer at head")
    assert await mesh.call(b"after-compaction") == b"after-compaction"


async def test_tampered_value_is_refused_and_the_config_kept(mesh: Mesh) -> None:
    """A route rewritten directly in etcd as root is refused by the sidecars; calls go on."""
    route_key = keys.resource_key("Route", ORG, "welfare-to-echo").encode()
    root = mesh.local.etcd.store_for("root")
    try:
        original = await root.get(route_key)
        assert original is not None
        await root.put(route_key, original.value.replace(b"welfare", b"wElfare"))
    finally:
        await root.close()
    sidecar = mesh.local.sidecars["welfare"]
    await async_wait_until(lambda: "config_rejected" in sidecar.logs(), what="tampering refused")
    assert await mesh.call(b"still-served") == b"still-served"

    async def counted() -> bool:  # the rejection is also a metric operators see in status
        result = await asyncio.to_thread(mesh.local.meshctl, "admin", "status", "-o", "json")
        rows = json.loads(result.stdout or "{}").get("sidecars", [])
        return any(int(r.get("counters", {}).get("rejected", 0)) > 0 for r in rows if r["spiffeId"] == mesh.id("welfare"))
    await async_wait_until(counted, what="rejection counted in meshctl status")
    # The control plane's next write removes the tampered value and re-signs the head.
    version = await asyncio.to_thread(mesh.apply, resources(mesh.local.trust_domain, mesh.inbound, "9s"))
    await async_wait_until(lambda: mesh.converged(version), timeout=10, what="converged after repair")


async def test_revoked_identity_is_refused_on_open_connections(mesh: Mesh) -> None:
    """After `meshctl revoke`, the consumer's next call on its open connection is refused;
    after `reinstate` calls work again. Nothing reaches the app meanwhile."""
    assert await mesh.call(b"before") == b"before"
    result = await asyncio.to_thread(mesh.local.meshctl, "admin", "revoke", mesh.id("welfare"),
                                     "--reason", "compromised key")
    assert result.returncode == 0, result.stderr

    async def refused() -> bool:
        try:
            await mesh.call(b"x")
        except aio.AioRpcError as err:
            return err.code() == grpc.StatusCode.UNAUTHENTICATED and "deny-list" in (err.details() or "")
        return False

    await async_wait_until(refused, timeout=10, what="revocation enforced")
    seen = len(mesh.app.seen)
    assert await refused() and len(mesh.app.seen) == seen
    result = await asyncio.to_thread(mesh.local.meshctl, "admin", "reinstate", mesh.id("welfare"))
    assert result.returncode == 0, result.stderr

    async def works() -> bool:
        try:
            return await mesh.call(b"back") == b"back"
        except aio.AioRpcError:
            return False

    await async_wait_until(works, timeout=10, what="reinstated")
