"""Translation through the mesh: City B's welfare app calls City A's resident registry.

Each app speaks only its own schema (different names, types and structure); the sidecars
translate through the canonical GIF vocabulary with each system's one Mapping.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

import grpc
import pytest
import pytest_asyncio
import yaml

from control_plane.localmesh import LocalMesh, free_port
from demo.mappings import GET_PERSON, LIST_HOUSEHOLD, registry_mapping, welfare_mapping
from demo.resources import CITY_A, CITY_B, dump, organization, registry_mesh, route, system
from demo.v1 import welfare_pb2 as wpb
from demo.v1 import welfare_pb2_grpc as wrpc
from mesh.translate import gif

pytestmark = pytest.mark.asyncio(loop_scope="module")
TD = "tsunagi.test"


def policy() -> str:
    return yaml.safe_dump({"apiVersion": "mesh.tsunagi.dev/v1", "kind": "AccessPolicy",
                           "metadata": {"name": "registry-access", "org": CITY_A},
                           "spec": {"system": "registry", "rules": [{
                               "name": "welfare", "methods": [GET_PERSON, LIST_HOUSEHOLD],
                               "callers": {"spiffeIds": [f"spiffe://{TD}/org/{CITY_B}/sys/welfare"]},
                               "purposeRequired": False}]}})


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def mesh(tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp("translation")
    app_port = free_port()
    app = subprocess.Popen([sys.executable, "-m", "demo.registry", "--port", str(app_port)],
                           stdout=subprocess.DEVNULL)
    local = LocalMesh(workdir, trust_domain=TD)
    local.add_operator("admin", "platform-admin")
    await local.start()
    inbound, outbound = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    platform, city_a = registry_mesh(TD, inbound)
    local.apply("admin", platform + "---\n" + yaml.safe_dump(gif.schema_document(), allow_unicode=True))
    local.apply("admin", city_a + "---\n" + yaml.safe_dump(registry_mapping(), allow_unicode=True) + "---\n" + policy())
    local.apply("admin", dump(system(TD, CITY_B, "welfare", "横浜市福祉システム"),
                              route(CITY_B, "welfare-to-persons", "welfare", "tsunagi.gif.v1.PersonRegistry"))
                + "---\n" + yaml.safe_dump(welfare_mapping(), allow_unicode=True))
    await asyncio.to_thread(local.add_sidecar, "registry", f"spiffe://{TD}/org/{CITY_A}/sys/registry",
                            operator="admin", inbound=inbound, upstream=f"127.0.0.1:{app_port}")
    await asyncio.to_thread(local.add_sidecar, "welfare", f"spiffe://{TD}/org/{CITY_B}/sys/welfare",
                            operator="admin", outbound=outbound)
    channel = grpc.insecure_channel(outbound)
    yield local, wrpc.CitizenDirectoryStub(channel)
    channel.close()
    await local.stop()
    app.terminate()
    app.wait(10)


async def test_welfare_app_reads_a_registry_resident_in_its_own_schema(mesh) -> None:
    """氏名 "村上　春樹" arrives split into 姓/名, wareki as ISO, 男 as GIF code 1, kana as hiragana."""
    _, stub = mesh
    citizen = await asyncio.to_thread(stub.LookupCitizen, wpb.CitizenQuery(citizen_number="12345678901"), timeout=10)
    assert (citizen.name.sei, citizen.name.mei) == ("村上", "春樹")
    assert (citizen.name.sei_yomi, citizen.name.mei_yomi) == ("むらかみ", "はるき")
    assert citizen.birth_date == "1949-01-12" and citizen.sex == 1
    assert citizen.residence.zip == "100-0011" and citizen.family_number == "H-0001"


async def test_streams_are_translated_message_by_message(mesh) -> None:
    """Every member of a household stream arrives translated."""
    _, stub = mesh
    family = await asyncio.to_thread(lambda: list(stub.ListFamily(wpb.FamilyQuery(family_number="H-0001"), timeout=10)))
    assert [(c.name.sei, c.name.mei, c.sex) for c in family] == [("村上", "春樹", 1), ("村上", "陽子", 2)]
    assert family[1].birth_date == "1951-09-03"


async def test_untranslatable_record_is_invalid_argument_naming_field_and_mapping(mesh) -> None:
    """A registry record whose 氏名 has no separator cannot be split: INVALID_ARGUMENT from the
    provider's sidecar naming the field and the mapping with its version; nothing guessed."""
    _, stub = mesh
    with pytest.raises(grpc.RpcError) as err:
        await asyncio.to_thread(stub.LookupCitizen, wpb.CitizenQuery(citizen_number="12345678904"), timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = err.value.details()
    assert "(inbound)" in details and "shimei" in details and "registry" in details and "1.0.0" in details
    assert "山田太郎" not in details  # the value stays out of the message


async def test_the_registrys_error_passes_through_translation(mesh) -> None:
    """An unknown resident: the registry's own NOT_FOUND with its Japanese message."""
    _, stub = mesh
    with pytest.raises(grpc.RpcError) as err:
        await asyncio.to_thread(stub.LookupCitizen, wpb.CitizenQuery(citizen_number="99999999999"), timeout=10)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND and "登録されていません" in err.value.details()


async def test_allowed_methods_metaservice_answers_from_the_live_policy(mesh) -> None:
    """The app asks its own sidecar what it may call: the canonical operations, per policy."""
    from mesh.v1 import sidecar_api_pb2, sidecar_api_pb2_grpc

    local, _ = mesh
    outbound = yaml.safe_load((local.workdir / "sidecars" / "welfare" / "sidecar.yaml").read_text())["outbound"]["address"]
    with grpc.insecure_channel(outbound) as channel:
        reply = await asyncio.to_thread(sidecar_api_pb2_grpc.MeshSidecarStub(channel).AllowedMethods,
                                        sidecar_api_pb2.AllowedMethodsRequest(), timeout=10)
    assert reply.consumer == f"spiffe://{TD}/org/{CITY_B}/sys/welfare"
    assert sorted(m.method for m in reply.methods) == sorted([GET_PERSON, LIST_HOUSEHOLD])
