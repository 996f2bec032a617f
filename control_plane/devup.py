"""`meshctl dev up`: a whole throwaway mesh in front of a gRPC server the user already runs.

It starts etcd (TLS, auth on) and the control plane, describes the upstream as a Service
(from its server reflection), applies the resources through the API, starts a provider sidecar
in front of the upstream and a consumer sidecar on --listen (both join with one-time tokens
and take their config from etcd), prints one `ready` line, and on SIGINT/SIGTERM stops
everything it started and removes its temp dir.

An upstream without server reflection cannot be described, so the sidecars then run with a
static route for every service (no etcd, no control plane), as a plain mTLS pair.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import yaml

from certs.bundle import write_bundle, write_identity
from certs.ca import create_intermediate, create_root, issue_workload
from certs.spiffe_id import workload_id
from control_plane import reflection
from control_plane.localmesh import LocalMesh, Process, free_port
from mesh.addresses import is_local_address

TRUST_DOMAIN = "dev.tsunagi.internal"
DEV_ORG = "131016"  # a valid 全国地方公共団体コード (千代田区) for the throwaway identities
PROVIDER = workload_id(TRUST_DOMAIN, DEV_ORG, "provider")
CONSUMER = workload_id(TRUST_DOMAIN, DEV_ORG, "consumer")
API = "mesh.tsunagi.dev/v1"


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    dev = subparsers.add_parser("dev", help="a local mesh for development")
    commands = dev.add_subparsers(dest="dev_command", metavar="COMMAND", required=True)
    up = commands.add_parser("up", help="run a whole mesh in front of an upstream until stopped")
    up.add_argument("--upstream", required=True, help="HOST:PORT of your gRPC server (loopback)")
    up.add_argument("--listen", default="127.0.0.1:15001",
                    help="where your client connects (loopback; default 127.0.0.1:15001)")
    up.set_defaults(func=run_up)


def resources(services: list[str], descriptor_set: bytes, inbound: str) -> str:
    """The organisation, both systems, the upstream's Service and a Route per service."""
    import base64

    def doc(kind: str, name: str, spec: dict, org: str = DEV_ORG) -> dict:
        return {"apiVersion": API, "kind": kind,
                "metadata": {"name": name, **({"org": org} if org else {})}, "spec": spec}

    docs = [
        doc("Organization", DEV_ORG, {"type": "ORGANIZATION_TYPE_MUNICIPALITY", "displayName": "千代田区"}, ""),
        doc("System", "provider", {"displayName": "upstream", "spiffeId": PROVIDER}),
        doc("System", "consumer", {"displayName": "your client", "spiffeId": CONSUMER}),
        doc("Service", "upstream", {"system": "provider", "grpcServices": services,
                                    "descriptorSet": base64.b64encode(descriptor_set).decode(),
                                    "endpoints": [{"address": inbound}]}),
    ]
    for i, service in enumerate(services):
        docs.append(doc("Route", f"route-{i}", {"consumer": "consumer", "grpcService": service}))
    # Default deny: the provider's organisation lets the consumer call every method it offers.
    docs.append(doc("AccessPolicy", "upstream-access", {"system": "provider", "rules": [{
        "name": "dev-consumer", "purposeRequired": False, "callers": {"spiffeIds": [CONSUMER]},
        "methods": methods_of(services, descriptor_set)}]}))
    return yaml.safe_dump_all(docs, allow_unicode=True)


def methods_of(services: list[str], descriptor_set: bytes) -> list[str]:
    """Every /pkg.Service/Method of `services` in a FileDescriptorSet."""
    from google.protobuf import descriptor_pb2

    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set)
    return [f"/{full}/{method.name}" for file in files.file for svc in file.service
            if (full := f"{file.package}.{svc.name}" if file.package else svc.name) in services
            for method in svc.method]


async def mesh_up(workdir: Path, upstream: str, listen: str) -> tuple[LocalMesh, str]:
    """The full mesh; returns it and the ready line's details."""
    described = await asyncio.to_thread(reflection.describe, upstream)
    if described is None:
        raise LookupError("no server reflection")
    services, descriptor_set = described
    mesh = LocalMesh(workdir / "mesh", trust_domain=TRUST_DOMAIN)
    mesh.add_operator("dev", "platform-admin")
    await mesh.start()
    inbound = f"127.0.0.1:{free_port()}"
    await asyncio.to_thread(mesh.apply, "dev", resources(services, descriptor_set, inbound))
    await asyncio.to_thread(mesh.add_sidecar, "provider", PROVIDER, operator="dev",
                            inbound=inbound, upstream=upstream)
    await asyncio.to_thread(mesh.add_sidecar, "consumer", CONSUMER, operator="dev", outbound=listen)
    details = (f"inbound={inbound} control-plane={mesh.cp_listen} etcd={','.join(mesh.etcd.endpoints)} "
               f"meshconfig={mesh.operators['dev']} services={','.join(services)}")
    return mesh, details


def static_pair(workdir: Path, upstream: str, listen: str) -> tuple[list[Process], str]:
    """Two sidecars with a static catch-all route, for an upstream without reflection."""
    root = create_root()
    intermediate = create_intermediate(root)
    bundle = write_bundle(workdir / "bundle.pem", [root.cert])
    inbound = f"127.0.0.1:{free_port()}"
    processes = []
    for name, spiffe_id in (("provider", PROVIDER), ("consumer", CONSUMER)):
        cert, key = write_identity(workdir, name, issue_workload(intermediate, spiffe_id))
        admin = f"127.0.0.1:{free_port()}"
        doc: dict = {"identity": {"spiffeId": spiffe_id, "certFile": str(cert), "keyFile": str(key),
                                  "bundleFile": str(bundle)}, "admin": {"address": admin}}
        if name == "provider":
            doc["inbound"] = {"address": inbound, "upstream": upstream}
        else:
            doc["outbound"] = {"address": listen}
            doc["routes"] = [{"service": "*", "endpoint": inbound, "identity": PROVIDER}]
        config = workdir / f"{name}.yaml"
        config.write_text(yaml.safe_dump(doc), encoding="utf-8")
        processes.append(Process(name, [sys.executable, "-m", "sidecar", "--config", str(config)],
                                 workdir / f"{name}.log", admin).start())
    for process in processes:
        process.wait_serving()
    return processes, f"inbound={inbound} mode=static"


async def up(args: argparse.Namespace) -> int:
    for flag, address in (("--upstream", args.upstream), ("--listen", args.listen)):
        if not is_local_address(address):
            print(f"error: dev up: {flag} {address!r}: plaintext must stay on loopback or unix:", file=sys.stderr)
            return 2
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    workdir = Path(tempfile.mkdtemp(prefix="tsunagi-dev-"))
    mesh: LocalMesh | None = None
    processes: list[Process] = []
    try:
        try:
            mesh, details = await mesh_up(workdir, args.upstream, args.listen)
            processes = list(mesh.sidecars.values())
        except LookupError:
            print(f"warning: {args.upstream} offers no server reflection; running a static sidecar "
                  "pair without etcd or a control plane", file=sys.stderr)
            processes, details = await asyncio.to_thread(static_pair, workdir, args.upstream, args.listen)
        print(f"ready listen={args.listen} upstream={args.upstream} provider={PROVIDER} "
              f"consumer={CONSUMER} {details}", flush=True)
        while not stopping.is_set():
            dead = [p for p in processes + ([mesh.control_plane] if mesh and mesh.control_plane else [])
                    if not p.alive()]
            if dead:
                print(f"error: dev up: {dead[0].name} exited: {dead[0].tail()}", file=sys.stderr)
                return 1
            try:
                await asyncio.wait_for(stopping.wait(), 0.5)
            except TimeoutError:
                pass
        return 0
    except (RuntimeError, OSError) as exc:
        if not stopping.is_set():
            print(f"error: dev up: {exc}", file=sys.stderr)
        return 1
    finally:
        for process in processes:
            await asyncio.to_thread(process.stop)
        if mesh is not None:
            await mesh.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run_up(args: argparse.Namespace) -> int:
    return asyncio.run(up(args))
