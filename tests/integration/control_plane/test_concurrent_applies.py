"""One control-plane replica on a real etcd takes concurrent applies in turn: none of them
loses a race to another and gives up."""

from __future__ import annotations

import asyncio

from google.protobuf.message import Message

from certs.ca import create_intermediate, create_root
from control_plane.repository import Repository
from demo.resources import organization, route, service, system
from demo.v1 import registry_pb2
from mesh.resources import from_dict
from mesh.store.etcd import EtcdStore
from mesh.v1 import control_plane_pb2 as api
from tests.support.config_writer import SignerIdentity

TRUST_DOMAIN = "tsunagi.test"
ADMIN = f"spiffe://{TRUST_DOMAIN}/org/000000/operator/admin"
ORG = "131016"
SERVICE = "demo.v1.ResidentRegistry"
CONCURRENT = 20


def _repository(store: EtcdStore) -> Repository:
    root = create_root("Concurrency Test Root")
    identity = SignerIdentity.issue(create_intermediate(root, "Concurrency Test Intermediate"), TRUST_DOMAIN)
    return Repository(store, identity.signer, identity.chain_pem, [root.cert], TRUST_DOMAIN)


def _objects(*documents: dict) -> list[tuple[str, Message]]:  # type: ignore[type-arg]
    return [(f"-#{i + 1}", from_dict(d)) for i, d in enumerate(documents)]


async def test_concurrent_applies_of_different_routes_all_succeed(etcd_writer: EtcdStore) -> None:
    """20 applies of 20 different Routes, all at once, each write its own config version."""
    repository = _repository(etcd_writer)
    consumers = [system(TRUST_DOMAIN, ORG, f"c{i}", f"c{i}") for i in range(CONCURRENT)]
    await repository.apply(_objects(
        organization(ORG, "千代田区"), system(TRUST_DOMAIN, ORG, "provider", "provider"),
        service(ORG, "registry", "provider", [SERVICE], [registry_pb2.DESCRIPTOR], ["127.0.0.1:9"]),
        *consumers), ADMIN, dry_run=False)
    outcomes = await asyncio.gather(*(
        repository.apply(_objects(route(ORG, f"r{i}", f"c{i}", SERVICE, f"{i + 1}s")), ADMIN, dry_run=False)
        for i in range(CONCURRENT)))
    assert sorted(o.version for o in outcomes) == list(range(2, CONCURRENT + 2))
    assert all(o.results[0].action == api.APPLY_ACTION_CREATED for o in outcomes)
    stored = (await repository.load()).objects
    assert {i: stored[("Route", ORG, f"r{i}")].spec.timeout.seconds  # type: ignore[attr-defined]
            for i in range(CONCURRENT)} == {i: i + 1 for i in range(CONCURRENT)}
