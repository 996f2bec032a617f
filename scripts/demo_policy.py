"""`make demo`, act 2: purpose-bound, field-level access policy and a verifiable audit trail.

City A's resident registry serves two consumers under one AccessPolicy written by City A:
the welfare office may look residents up for welfare eligibility and sees only what that needs;
the eldercare-mobility service sees more. Every exchange lands in each sidecar's audit log,
and the logs verify against the checkpoints the control plane witnessed.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc
import yaml

from control_plane.localmesh import LocalMesh, free_port
from demo.resources import CITY_A, dump, organization, purpose, registry_mesh, route, system
from demo.v1 import registry_pb2 as pb
from demo.v1 import registry_pb2_grpc as rpc

PY = sys.executable
TD = "city.example.jp"


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def fail(message: str) -> None:
    raise SystemExit(f"demo: {message}")


def policy() -> str:
    registry = "/demo.v1.ResidentRegistry/GetResident"
    return yaml.safe_dump({"apiVersion": "mesh.tsunagi.dev/v1", "kind": "AccessPolicy",
                           "metadata": {"name": "registry-access", "org": CITY_A},
                           "spec": {"system": "registry", "rules": [
        {"name": "welfare-eligibility", "methods": [registry],
         "callers": {"spiffeIds": [f"spiffe://{TD}/org/{CITY_A}/sys/welfare"]},
         "purposes": ["welfare-eligibility"],
         "fieldGrant": {"mode": "FIELD_GRANT_MODE_REMOVE",
                        "fields": ["residentCode", "shimei", "seinengappi", "householdId"]}},
        {"name": "eldercare-mobility", "methods": [registry],
         "callers": {"spiffeIds": [f"spiffe://{TD}/org/{CITY_A}/sys/eldercare"]},
         "purposes": ["eldercare-mobility"],
         "rateLimit": {"requestsPerSecond": 5, "burst": 5}},
    ]}}, allow_unicode=True)


async def act(workdir: Path) -> None:
    app_port = free_port()
    app = subprocess.Popen([PY, "-m", "demo.registry", "--port", str(app_port)], stdout=subprocess.DEVNULL)
    mesh = LocalMesh(workdir, trust_domain=TD)
    mesh.add_operator("platform", "platform-admin")
    mesh.add_operator("city-a", "org-admin", CITY_A)
    try:
        await mesh.start()
        inbound = f"127.0.0.1:{free_port()}"
        platform, city = registry_mesh(TD, inbound)
        mesh.apply("platform", platform + "---\n" + dump(
            purpose("eldercare-mobility", "高齢者移動支援の配車", "道路運送法第78条")))
        mesh.apply("city-a", city + "---\n" + dump(
            system(TD, CITY_A, "eldercare", "高齢者移動支援システム"),
            route(CITY_A, "eldercare-to-registry", "eldercare", "demo.v1.ResidentRegistry")))
        step("City A writes one AccessPolicy for its registry: who, which method, for which purpose, which fields")
        print("  " + policy().replace("\n", "\n  ").rstrip())
        mesh.apply("city-a", policy())
        audit = {"checkpointEvery": 5, "checkpointInterval": "1s"}
        sidecars = {}
        for name, kwargs in (("registry", {"inbound": inbound, "upstream": f"127.0.0.1:{app_port}"}),
                             ("welfare", {"outbound": f"127.0.0.1:{free_port()}"}),
                             ("eldercare", {"outbound": f"127.0.0.1:{free_port()}"})):
            extra = {"audit": {"directory": str(workdir / f"audit-{name}"), **audit}}
            sidecars[name] = await asyncio.to_thread(
                mesh.add_sidecar, name, f"spiffe://{TD}/org/{CITY_A}/sys/{name}", operator="city-a",
                extra=extra, **kwargs)
        outbound = {name: next(a for a in (yaml.safe_load((workdir / "sidecars" / name / "sidecar.yaml").read_text())
                                           .get("outbound", {}).get("address"),) if a)
                    for name in ("welfare", "eldercare")}

        def lookup(consumer: str, purpose_name: str | None) -> pb.Resident:
            metadata = (("x-mesh-purpose", purpose_name),) if purpose_name else ()
            with grpc.insecure_channel(outbound[consumer]) as channel:
                return rpc.ResidentRegistryStub(channel).GetResident(
                    pb.GetResidentRequest(resident_code="12345678901"), metadata=metadata, timeout=10)

        step("The welfare office asks for welfare eligibility: allowed, and it sees only the granted fields")
        seen_b = lookup("welfare", "welfare-eligibility")
        print(f"  welfare sees:   {[f.name for f, _ in seen_b.ListFields()]}")
        step("The eldercare service asks for eldercare mobility: allowed, with every field")
        seen_c = lookup("eldercare", "eldercare-mobility")
        print(f"  eldercare sees: {[f.name for f, _ in seen_c.ListFields()]}")
        if len(seen_b.ListFields()) >= len(seen_c.ListFields()) or seen_b.yubin_bango:
            fail("field minimisation did not apply")
        step("The welfare office states another purpose, then none: denied, and the message says who decided")
        for purpose_name in ("eldercare-mobility", None):
            try:
                lookup("welfare", purpose_name)
                fail("a call with the wrong purpose was allowed")
            except grpc.RpcError as err:
                print(f"  {purpose_name or '(no purpose)'}: {err.code().name}: {err.details()}")
        step("meshctl check explains a decision against the live config, before anyone calls")
        result = mesh.meshctl("city-a", "check", "--caller", f"spiffe://{TD}/org/{CITY_A}/sys/welfare",
                              "--method", "/demo.v1.ResidentRegistry/GetResident", "--purpose", "welfare-eligibility")
        print("  " + result.stdout.strip().replace("\n", "\n  "))
        step("Stopping the sidecars (SIGTERM flushes every queued audit record), then verifying each log")
        for process in sidecars.values():
            await asyncio.to_thread(process.stop)
        for name in sidecars:
            for segment in sorted((workdir / f"audit-{name}").glob("audit-*.jsonl")):
                result = mesh.meshctl("platform", "audit", "verify", str(segment), "--against-control-plane",
                                      "--meshconfig", str(mesh.operators["platform"]))
                print(f"  {name}: {result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr.strip()}")
                if result.returncode != 0:
                    fail(f"audit log of {name} did not verify")
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
