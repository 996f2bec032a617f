"""`make demo`, act 3: translation between systems that each keep their own schema.

City A's resident registry stores 氏名 as one string, 生年月日 in wareki and 性別 as 男/女.
City B's welfare system wants 姓/名 split, ISO dates and GIF sex codes. Each writes one Mapping
to the canonical GIF vocabulary; the mesh composes them. Neither app changes a line.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc
import yaml
from google.protobuf import json_format

from control_plane.localmesh import LocalMesh, free_port
from demo.mappings import GET_PERSON, LIST_HOUSEHOLD, registry_mapping, welfare_mapping
from demo.resources import CITY_A, CITY_B, dump, registry_mesh, route, system
from demo.v1 import registry_pb2 as rpb
from demo.v1 import registry_pb2_grpc as rrpc
from demo.v1 import welfare_pb2 as wpb
from demo.v1 import welfare_pb2_grpc as wrpc
from mesh.translate import gif

PY = sys.executable
TD = "city.example.jp"


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def show(message: object) -> str:
    return json.dumps(json_format.MessageToDict(message), ensure_ascii=False)  # type: ignore[arg-type]


async def act(workdir: Path) -> None:
    app_port = free_port()
    app = subprocess.Popen([PY, "-m", "demo.registry", "--port", str(app_port)], stdout=subprocess.DEVNULL)
    mesh = LocalMesh(workdir, trust_domain=TD)
    mesh.add_operator("platform", "platform-admin")
    try:
        await mesh.start()
        inbound, outbound = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
        platform, city_a = registry_mesh(TD, inbound)
        step("The platform publishes the canonical schema (GIF core data model) as a versioned Schema")
        print("  " + mesh.apply("platform", platform + "---\n" + yaml.safe_dump(gif.schema_document(), allow_unicode=True)).strip().replace("\n", "\n  "))
        step("Each city writes ONE Mapping between its own messages and the canonical ones (examples run both ways at apply)")
        policy = {"apiVersion": "mesh.tsunagi.dev/v1", "kind": "AccessPolicy",
                  "metadata": {"name": "registry-access", "org": CITY_A},
                  "spec": {"system": "registry", "rules": [{
                      "name": "welfare", "methods": [GET_PERSON, LIST_HOUSEHOLD], "purposeRequired": False,
                      "callers": {"spiffeIds": [f"spiffe://{TD}/org/{CITY_B}/sys/welfare"]}}]}}
        print("  " + mesh.apply("platform", city_a + "---\n" + yaml.safe_dump_all([registry_mapping(), policy], allow_unicode=True)).strip().replace("\n", "\n  "))
        print("  " + mesh.apply("platform", dump(system(TD, CITY_B, "welfare", "横浜市福祉システム"),
                                                route(CITY_B, "welfare-to-persons", "welfare", "tsunagi.gif.v1.PersonRegistry"))
                                + "---\n" + yaml.safe_dump(welfare_mapping(), allow_unicode=True)).strip().replace("\n", "\n  "))
        await asyncio.to_thread(mesh.add_sidecar, "registry", f"spiffe://{TD}/org/{CITY_A}/sys/registry",
                                operator="platform", inbound=inbound, upstream=f"127.0.0.1:{app_port}")
        await asyncio.to_thread(mesh.add_sidecar, "welfare", f"spiffe://{TD}/org/{CITY_B}/sys/welfare",
                                operator="platform", outbound=outbound)
        step("What City A's registry holds, in its own schema (asked directly, no mesh)")
        with grpc.insecure_channel(f"127.0.0.1:{app_port}") as channel:
            print("  " + show(rrpc.ResidentRegistryStub(channel).GetResident(rpb.GetResidentRequest(resident_code="12345678901"), timeout=5)))
        with grpc.insecure_channel(outbound) as channel:
            stub = wrpc.CitizenDirectoryStub(channel)
            step("City B's welfare app asks its own CitizenDirectory.LookupCitizen; the mesh carries it as canonical GetPerson")
            print("  " + show(stub.LookupCitizen(wpb.CitizenQuery(citizen_number="12345678901"), timeout=10)))
            step("A server stream is translated message by message (ListFamily ← ListHousehold)")
            for citizen in stub.ListFamily(wpb.FamilyQuery(family_number="H-0001"), timeout=10):
                print("  " + show(citizen))
            step("A legacy record whose 氏名 has no space: the mesh refuses to guess a split, and names the field")
            try:
                stub.LookupCitizen(wpb.CitizenQuery(citizen_number="12345678904"), timeout=10)
                raise SystemExit("demo: an unsplittable name was translated")
            except grpc.RpcError as err:
                print(f"  {err.code().name}: {err.details()}")
        step("meshctl translate tries a mapping offline, with no traffic")
        mapping_file = workdir / "registry-mapping.yaml"
        mapping_file.write_text(yaml.safe_dump(registry_mapping(), allow_unicode=True), encoding="utf-8")
        sample = json.dumps({"residentCode": "12345678903", "shimei": "髙橋　花子", "shimeiKana": "ﾀｶﾊｼ ﾊﾅｺ",
                             "seinengappi": "平成元年1月8日", "seibetsu": "女", "yubinBango": "〒100-0014",
                             "jusho": "東京都千代田区永田町二丁目3番1号", "householdId": "H-0002"}, ensure_ascii=False)
        result = subprocess.run([str(Path(PY).parent / "meshctl"), "translate", "-f", str(mapping_file),
                                 "--to", "canonical", "--message", "resident"], input=sample,
                                capture_output=True, text=True, timeout=60)
        print("  $ echo '{...髙橋　花子, 平成元年1月8日...}' | meshctl translate -f registry-mapping.yaml --to canonical --message resident")
        print("  " + (result.stdout or result.stderr).strip().replace("\n", "\n  "))
    finally:
        await mesh.stop()
        app.terminate()
        app.wait(10)


def main() -> int:
    from mesh import logs

    logs.configure(console=True, level="warning")
    with tempfile.TemporaryDirectory(prefix="tsunagi-demo-") as workdir:
        asyncio.run(act(Path(workdir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
