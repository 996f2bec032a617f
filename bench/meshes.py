"""The local meshes behind the "mesh" paths: each is a LocalMesh (the CA, etcd with TLS and
auth, the control plane) with the bench's Systems, Service, Route and AccessPolicy applied
through the control plane, and a sidecar pair whose routes, policy and method kinds come from
the signed config in etcd.
"""

from __future__ import annotations

import asyncio
import base64
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from bench.ports import free_ports
from bench.upstream import METHOD, SERVICE, descriptor_set
from certs.spiffe_id import workload_id
from control_plane.localmesh import LocalMesh
from mesh.resources import API_VERSION

TRUST_DOMAIN = "bench.test"
ORG = "131016"
CONSUMER, PROVIDER = "consumer", "provider"
OPERATOR = "admin"


@dataclass(frozen=True, slots=True)
class MeshSidecar:
    """A sidecar configured to join a mesh, not started yet: how to start it and where its
    admin (health) listener will be."""

    argv: tuple[str, ...]
    admin: str


@dataclass(frozen=True, slots=True)
class MeshPair:
    """One mesh's consumer and provider sidecars, and where the client dials."""

    target: str
    consumer: MeshSidecar
    provider: MeshSidecar


def mesh_documents(trust_domain: str, inbound: str) -> str:
    """The YAML an operator applies: one organisation, the consumer and provider Systems, the
    provider's bench.Echo Service (with its descriptor set, so the unary method is known),
    the consumer's Route to it and the provider's AccessPolicy admitting exactly that call."""

    def doc(kind: str, name: str, spec: dict[str, Any], org: str | None = ORG) -> dict[str, Any]:
        metadata = {"name": name, **({"org": org} if org else {})}
        return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}

    def system(name: str) -> dict[str, Any]:
        spec = {"displayName": name, "spiffeId": workload_id(trust_domain, ORG, name)}
        return doc("System", name, spec)

    organization = {"type": "ORGANIZATION_TYPE_MUNICIPALITY", "displayName": "千代田区"}
    service = {
        "system": PROVIDER,
        "grpcServices": [SERVICE],
        "descriptorSet": base64.b64encode(descriptor_set()).decode(),
        "endpoints": [{"address": inbound}],
    }
    rule = {
        "name": "bench-consumer",
        "purposeRequired": False,
        "callers": {"spiffeIds": [workload_id(trust_domain, ORG, CONSUMER)]},
        "methods": [METHOD],
    }
    return yaml.safe_dump_all(
        [
            doc("Organization", ORG, organization, org=None),
            system(CONSUMER),
            system(PROVIDER),
            doc("Service", "echo", service),
            doc("Route", "consumer-to-echo", {"consumer": CONSUMER, "grpcService": SERVICE}),
            doc("AccessPolicy", "echo-access", {"system": PROVIDER, "rules": [rule]}),
        ],
        sort_keys=False,
        allow_unicode=True,
    )


class Meshes:
    """Owns every LocalMesh it creates. Leaving the `with` block stops each one's control
    plane and etcd, even on error. The sidecars are not started here: the caller starts them
    as its own children, so that they are its processes to count and to stop."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._meshes: list[LocalMesh] = []

    def __enter__(self) -> Meshes:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # A second Ctrl-C must not cut the cleanup short; each stop is bounded.
        previous = {
            sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            while self._meshes:
                _stop(self._meshes.pop())
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def create(self, name: str, upstream: str, *, audit: dict[str, object] | None) -> MeshPair:
        """Start a mesh under `<workdir>/<name>`, apply the bench's resources and configure a
        consumer and a provider sidecar (the audit log on in both, with these extra fields,
        unless `audit` is None)."""
        local = LocalMesh(self._workdir / name, trust_domain=TRUST_DOMAIN)
        local.add_operator(OPERATOR, "platform-admin")
        self._meshes.append(local)  # before start(): a half-started mesh is stopped too
        asyncio.run(local.start())
        inbound, outbound = (f"127.0.0.1:{port}" for port in free_ports(2))
        local.apply(OPERATOR, mesh_documents(TRUST_DOMAIN, inbound))

        def extra(who: str) -> dict[str, Any]:
            if audit is None:
                return {}
            return {"audit": {"directory": str(local.workdir / "audit" / who), **audit}}

        provider = local.add_sidecar(
            PROVIDER,
            workload_id(TRUST_DOMAIN, ORG, PROVIDER),
            operator=OPERATOR,
            inbound=inbound,
            upstream=upstream,
            extra=extra(PROVIDER),
            start=False,
        )
        consumer = local.add_sidecar(
            CONSUMER,
            workload_id(TRUST_DOMAIN, ORG, CONSUMER),
            operator=OPERATOR,
            outbound=outbound,
            extra=extra(CONSUMER),
            start=False,
        )
        return MeshPair(
            target=outbound,
            consumer=MeshSidecar(tuple(consumer.args), consumer.admin),
            provider=MeshSidecar(tuple(provider.args), provider.admin),
        )


def _stop(local: LocalMesh) -> None:
    """Stop one mesh's control plane and etcd members; a failure is reported, not raised, so
    the other meshes are still stopped."""
    try:
        asyncio.run(local.stop())
    except Exception as err:  # noqa: BLE001 - cleanup goes on; the error is shown
        print(f"error: stopping the mesh in {local.workdir}: {err!r}", file=sys.stderr, flush=True)
        if local.control_plane is not None:
            local.control_plane.kill()
        try:
            asyncio.run(local.etcd.stop_all())
        except Exception as again:  # noqa: BLE001
            print(f"error: stopping etcd in {local.workdir}: {again!r}", file=sys.stderr, flush=True)
