"""The provider's access policy, enforced by real sidecars: purposes, field grants on unary
and streaming calls, rate limits, and the provider's check even when a consumer cheats."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import grpc
import pytest
import pytest_asyncio
import yaml

from certs.ca import issue_workload
from certs.spiffe_id import dns_name_for
from control_plane.localmesh import LocalMesh, free_port
from demo.resources import CITY_A, dump, purpose, registry_mesh, route, system
from demo.v1 import registry_pb2 as pb
from demo.v1 import registry_pb2_grpc as rpc

pytestmark = pytest.mark.asyncio(loop_scope="module")
TD = "tsunagi.test"
GET = "/demo.v1.ResidentRegistry/GetResident"
LIST = "/demo.v1.ResidentRegistry/ListHousehold"


def ident(system_name: str) -> str:
    return f"spiffe://{TD}/org/{CITY_A}/sys/{system_name}"


def policy() -> str:
    return yaml.safe_dump({"apiVersion": "mesh.tsunagi.dev/v1", "kind": "AccessPolicy",
                           "metadata": {"name": "registry-access", "org": CITY_A}, "spec": {
        "system": "registry", "rules": [
            {"name": "welfare", "methods": [GET, LIST], "callers": {"spiffeIds": [ident("welfare")]},
             "purposes": ["welfare-eligibility"],
             "fieldGrant": {"mode": "FIELD_GRANT_MODE_MASK", "fields": ["residentCode", "shimei"]}},
            {"name": "eldercare", "methods": [GET], "callers": {"spiffeIds": [ident("eldercare")]},
             "purposeRequired": False, "rateLimit": {"requestsPerSecond": 0.01, "burst": 3}},
        ]}})


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def mesh(tmp_path_factory: pytest.TempPathFactory):
    app_port = free_port()
    app = subprocess.Popen([sys.executable, "-m", "demo.registry", "--port", str(app_port)],
                           stdout=subprocess.DEVNULL)
    local = LocalMesh(tmp_path_factory.mktemp("policy"), trust_domain=TD)
    local.add_operator("admin", "platform-admin")
    await local.start()
    inbound = f"127.0.0.1:{free_port()}"
    platform, city = registry_mesh(TD, inbound)
    local.apply("admin", platform)
    local.apply("admin", city + "---\n" + dump(
        system(TD, CITY_A, "eldercare", "eldercare"),
        route(CITY_A, "eldercare-to-registry", "eldercare", "demo.v1.ResidentRegistry")) + "---\n" + policy())
    outbound = {}
    await asyncio.to_thread(local.add_sidecar, "registry", ident("registry"), operator="admin",
                            inbound=inbound, upstream=f"127.0.0.1:{app_port}")
    for name in ("welfare", "eldercare"):
        outbound[name] = f"127.0.0.1:{free_port()}"
        await asyncio.to_thread(local.add_sidecar, name, ident(name), operator="admin", outbound=outbound[name])
    yield local, outbound, inbound
    await local.stop()
    app.terminate()
    app.wait(10)


def call(address: str, metadata: tuple = (), code: str = "12345678901") -> pb.Resident:
    with grpc.insecure_channel(address) as channel:
        return rpc.ResidentRegistryStub(channel).GetResident(
            pb.GetResidentRequest(resident_code=code), metadata=metadata, timeout=10)


async def test_field_grant_masks_what_is_not_granted(mesh) -> None:
    """Only the granted fields keep their values; MASK blanks the rest."""
    _, outbound, _ = mesh
    got = await asyncio.to_thread(call, outbound["welfare"], (("x-mesh-purpose", "welfare-eligibility"),))
    assert got.resident_code == "12345678901" and got.shimei == "村上　春樹"
    assert (got.seinengappi, got.seibetsu, got.jusho, got.yubin_bango) == ("***", "***", "***", "***")


async def test_field_grant_applies_to_every_message_of_a_stream(mesh) -> None:
    """Each household member of the server stream is minimised."""
    _, outbound, _ = mesh

    def members() -> list[pb.Resident]:
        with grpc.insecure_channel(outbound["welfare"]) as channel:
            return list(rpc.ResidentRegistryStub(channel).ListHousehold(
                pb.ListHouseholdRequest(household_id="H-0001"),
                metadata=(("x-mesh-purpose", "welfare-eligibility"),), timeout=10))

    got = await asyncio.to_thread(members)
    assert len(got) == 2 and all(m.jusho == "***" and m.shimei for m in got)


@pytest.mark.parametrize("metadata,why", [
    ((), "no purpose"),
    ((("x-mesh-purpose", "tax-audit"),), "unregistered"),
    ((("x-mesh-purpose", "welfare-eligibility"), ("x-mesh-purpose", "welfare-eligibility")), "two values"),
])
async def test_missing_unregistered_or_ambiguous_purpose_is_denied(mesh, metadata, why) -> None:
    """PERMISSION_DENIED naming the deciding sidecar and the reason."""
    _, outbound, _ = mesh
    with pytest.raises(grpc.RpcError) as err:
        await asyncio.to_thread(call, outbound["welfare"], metadata)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED, why
    assert "sidecar " in err.value.details() and "purpose not allowed" in err.value.details()


async def test_rate_limit_is_resource_exhausted(mesh) -> None:
    """After its burst the caller gets RESOURCE_EXHAUSTED from the provider's sidecar."""
    _, outbound, _ = mesh
    codes = []
    for _ in range(6):
        try:
            await asyncio.to_thread(call, outbound["eldercare"])
            codes.append("OK")
        except grpc.RpcError as err:
            codes.append(err.code().name)
            assert "(inbound)" in err.details() and "rate limited" in err.details()
    assert codes[:3] == ["OK"] * 3 and set(codes[3:]) == {"RESOURCE_EXHAUSTED"}


async def test_provider_decides_even_when_a_consumer_sidecar_skips_its_egress_check(mesh) -> None:
    """A client holding welfare's real certificate calls the provider directly with a wrong
    purpose and a forged caller header: the provider refuses it on its own."""
    local, _, inbound = mesh
    issued = issue_workload(local.intermediate, ident("welfare"))
    credentials = grpc.ssl_channel_credentials(local.root.cert_pem(), issued.key_pem(), issued.chain_pem())

    def rogue(purpose_value: str) -> None:
        options = [("grpc.ssl_target_name_override", dns_name_for(ident("registry")))]
        with grpc.secure_channel(inbound, credentials, options=options) as channel:
            rpc.ResidentRegistryStub(channel).GetResident(
                pb.GetResidentRequest(resident_code="12345678901"), timeout=10,
                metadata=(("x-mesh-purpose", purpose_value), ("x-mesh-caller", ident("eldercare"))))

    with pytest.raises(grpc.RpcError) as err:
        await asyncio.to_thread(rogue, "tax-audit")
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED and "(inbound)" in err.value.details()
