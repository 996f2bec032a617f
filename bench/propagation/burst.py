"""A burst written straight into etcd as the control plane would write it (its etcd user, its
signer, mesh.commit.build_commit), with every commit signed before the clock starts: the only
way to land 100 changes within 100 ms when one Apply through the API costs more than 1 ms."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bench.propagation.documents import ORG, RouteChange, route_name
from mesh.commit import Change, build_commit
from mesh.keys import CONFIG_PREFIX, HEAD_KEY, resource_key
from mesh.signing import Signer, Verifier
from mesh.store.base import Compare, Delete, Put, Store
from mesh.v1 import route_pb2, signed_pb2


@dataclass(frozen=True, slots=True)
class Written:
    """One burst commit: its config version and CLOCK_MONOTONIC txn send/return times."""

    version: int
    sent: float
    returned: float


def control_plane_signer(config_path: Path) -> Signer:
    """The config signer named by the control plane's own --config file."""
    doc = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    base = config_path.parent
    cert = x509.load_pem_x509_certificates((base / doc["signer"]["certFile"]).read_bytes())[0]
    key = serialization.load_pem_private_key((base / doc["signer"]["keyFile"]).read_bytes(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the config signer key is not ECDSA")
    return Signer(key, cert)


@dataclass(frozen=True, slots=True)
class _Prepared:
    ops: list[Put | Delete]
    version: int


async def write_burst(store: Store, signer: Signer, changes: Sequence[RouteChange]) -> list[Written]:
    """Sign `changes` as consecutive commits over the stored config, then write them back to
    back, each guarded on the head the previous one wrote. Nothing else may write meanwhile."""
    kvs, _ = await store.range(CONFIG_PREFIX.encode())
    values = {kv.key.decode(): kv.value for kv in kvs}
    head_mod = next(kv.mod_revision for kv in kvs if kv.key.decode() == HEAD_KEY)
    version = signed_pb2.SignedValue.FromString(values[HEAD_KEY]).version
    verifier = Verifier({signer.key_id: signer.private_key.public_key()})
    prepared: list[_Prepared] = []
    for change in changes:
        key = resource_key("Route", ORG, route_name(change.index))
        route = route_pb2.Route.FromString(signed_pb2.SignedValue.FromString(values[key]).payload)
        route.spec.timeout.FromMilliseconds(round(change.timeout_s * 1000))
        route.metadata.config_version = version + 1
        route.metadata.generation += 1
        route.status.observed_generation = route.metadata.generation
        commit = build_commit(signer, verifier, values, head_mod, version,
                              [Change(key, "Route", route.SerializeToString())])
        for op in commit.ops:
            if isinstance(op, Put):
                values[op.key.decode()] = op.value
            else:
                values.pop(op.key.decode(), None)
        prepared.append(_Prepared(commit.ops, commit.version))
        version = commit.version
    written: list[Written] = []
    for commit in prepared:
        sent = time.monotonic()
        result = await store.txn([Compare(HEAD_KEY.encode(), head_mod)], commit.ops)
        returned = time.monotonic()
        if not result.succeeded:
            raise RuntimeError(f"the config head moved during the burst (at version {commit.version})")
        head_mod = result.revision
        written.append(Written(commit.version, sent, returned))
    return written
