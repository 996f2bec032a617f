"""Compiling the signed config read from etcd (or the last-known-good file) into this sidecar's
Snapshot. A snapshot is accepted whole or not at all: any value that fails verification, a head
that does not commit to exactly the stored keys, or a broken reference rejects all of it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message

from certs.spiffe_id import InvalidSpiffeId, parse_spiffe_id
from mesh.keys import (
    CONFIG_PREFIX,
    DENYLIST_KEY,
    HEAD_KEY,
    RESOURCE_PREFIX,
    SIGNER_PREFIX,
    TRUST_BUNDLE_KEY,
    parse_resource_key,
)
from mesh.policy import PolicyError, compile_policies
from mesh.translate.descriptors import DescriptorSetError, pool_from_bytes
from mesh.translate.engine import CompiledOperation, compile_mapping
from mesh.translate.errors import MappingInvalid
from mesh.resources import KINDS
from mesh.signing import ValueRejected, Verifier, head_digest, signer_public_key, value_digest
from mesh.v1 import mapping_pb2, organization_pb2, schema_pb2, route_pb2, service_pb2, signed_pb2, system_pb2
from sidecar.snapshot import SERVER_STREAM, UNARY, Snapshot, Upstream

# RouteSpec.timeout: "Default 30s".
DEFAULT_ROUTE_TIMEOUT = 30.0

_M = TypeVar("_M", bound=Message)


class SnapshotRejected(Exception):
    """The config cannot be applied; `reason` says why (key names only, never payloads)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class _Resources:
    """The decoded resources the sidecar reads, by (org, name)."""

    orgs: set[str] = field(default_factory=set)
    # Every org-scoped resource, "Kind org/name" → its org: each org must exist.
    owners: dict[str, str] = field(default_factory=dict)
    systems: dict[tuple[str, str], system_pb2.System] = field(default_factory=dict)
    services: dict[tuple[str, str], service_pb2.Service] = field(default_factory=dict)
    routes: dict[tuple[str, str], route_pb2.Route] = field(default_factory=dict)
    # Every decoded resource of a known kind (the policy compiler picks what it needs).
    all: list[Message] = field(default_factory=list)


def compile_snapshot(
    values: Mapping[str, bytes],
    verifier_roots: Sequence[x509.Certificate],
    trust_domain: str,
    own_spiffe_id: str,
    revision: int,
    *,
    applied: Snapshot | None = None,
) -> Snapshot:
    """This sidecar's Snapshot of `values` (every key under CONFIG_PREFIX as stored, read at
    etcd `revision`), or SnapshotRejected.

    Signer certificates are trusted only if they chain to `verifier_roots` (the local bundle
    file, plus the roots of the TrustBundle in the snapshot already applied). With `applied`,
    neither the head nor any key may go back to an older version (a replay).
    """
    own = _own_system(own_spiffe_id, trust_domain)
    for key in values:
        if not key.startswith(CONFIG_PREFIX):
            raise SnapshotRejected(f"key {key!r} is outside the config prefix")
    verifier = _verifier(values, verifier_roots, trust_domain)
    head = _head(values, verifier)
    if applied is not None and head.version < applied.version:
        raise SnapshotRejected(
            f"replayed config head (version {head.version} < applied {applied.version})")
    versions: dict[str, int] = {}
    bundle = signed_pb2.TrustBundle()
    denylist = signed_pb2.DenyList()
    resources = _Resources()
    for key, raw in sorted(values.items()):
        if key == HEAD_KEY or key.startswith(SIGNER_PREFIX):
            continue
        value = _verified(verifier, key, raw)
        if value.version > head.version:
            raise SnapshotRejected(
                f"{key}: version {value.version} is newer than the head ({head.version})")
        if applied is not None and value.version < applied.versions.get(key, 0):
            raise SnapshotRejected(
                f"{key}: replayed value (version {value.version} < applied "
                f"{applied.versions[key]})")
        versions[key] = value.version
        if key == TRUST_BUNDLE_KEY:
            bundle = _decode(key, value, "TrustBundle", signed_pb2.TrustBundle)
        elif key == DENYLIST_KEY:
            denylist = _decode(key, value, "DenyList", signed_pb2.DenyList)
        elif key.startswith(RESOURCE_PREFIX):
            _add_resource(resources, key, value)
        # Any other key is signed and committed by the head but means nothing to this
        # version of the sidecar (a newer control plane's internal key): it is ignored.
    providers = _check_references(resources, trust_domain)
    routes = _routes_of(resources, providers, own)
    mine = [svc for (org, _), svc in sorted(resources.services.items()) if (org, svc.spec.system) == own]
    relevant = [resources.services[providers[name][0]] for name in routes] + mine
    try:
        policy = compile_policies(resources.all)
    except PolicyError as exc:
        raise SnapshotRejected(f"access policies: {exc}") from None
    translations = _translations(resources, own)
    kinds = _method_kinds(relevant)
    responses = _response_types(mine)
    for op in translations.values():
        kind = None if op.client_streaming else SERVER_STREAM if op.server_streaming else UNARY
        for path in (op.local, op.canonical):
            if kind is not None:
                kinds[path] = kind
            else:
                kinds.pop(path, None)
        responses[op.canonical] = op.response.canonical_class
    return Snapshot(
        routes=MappingProxyType(routes),
        method_kinds=MappingProxyType(kinds),
        policy=policy,
        own_system=own if own in resources.systems else None,
        response_types=MappingProxyType(responses),
        translations=MappingProxyType(translations),
        revision=revision,
        version=head.version,
        config_hash=head.digest.hex(),
        denied=frozenset(entry.spiffe_id for entry in denylist.entries),
        trust_roots_pem=_trust_roots(bundle),
        versions=MappingProxyType(versions),
    )


def _own_system(own_spiffe_id: str, trust_domain: str) -> tuple[str, str]:
    try:
        own = parse_spiffe_id(own_spiffe_id)
    except InvalidSpiffeId as exc:
        raise SnapshotRejected(f"own identity: {exc}") from None
    if own.trust_domain != trust_domain or own.org is None or own.system is None:
        raise SnapshotRejected(f"own identity {own_spiffe_id} is not a workload of {trust_domain}")
    return own.org, own.system


def _verifier(
    values: Mapping[str, bytes], roots: Sequence[x509.Certificate], trust_domain: str
) -> Verifier:
    """A Verifier over the stored signer chains that the roots vouch for; others are
    skipped (a value signed by one of them then fails as signed by an unknown key)."""
    keys: dict[str, ec.EllipticCurvePublicKey] = {}
    for key, chain_pem in values.items():
        if not key.startswith(SIGNER_PREFIX):
            continue
        try:
            key_id, public_key = _signer(chain_pem, roots, trust_domain)
        except ValueRejected:
            continue
        if key == SIGNER_PREFIX + key_id:
            keys[key_id] = public_key
    return Verifier(MappingProxyType(keys))


def _head(values: Mapping[str, bytes], verifier: Verifier) -> signed_pb2.ConfigHead:
    """The verified ConfigHead, which must commit to every other key exactly as stored."""
    raw = values.get(HEAD_KEY)
    if raw is None:
        raise SnapshotRejected("no config head (nothing has been published)")
    value = _verified(verifier, HEAD_KEY, raw)
    head = _decode(HEAD_KEY, value, "ConfigHead", signed_pb2.ConfigHead)
    if head.version != value.version:
        raise SnapshotRejected(
            f"config head says version {head.version} but was signed at {value.version}")
    others = [(key, raw) for key, raw in values.items() if key != HEAD_KEY]
    # Equal digests already imply equal counts; the count only makes the message useful.
    if head_digest(others, _digest) != head.digest:
        raise SnapshotRejected(
            f"stored config does not match its head (version {head.version}: head covers "
            f"{head.count} keys, {len(others)} are stored); a key was added, deleted or "
            "replaced behind the control plane's back")
    return head


# Signer chains are checked once until they expire; verified values are remembered by
# Verifier itself (mesh/signing.py); decoded payloads and value digests below, all bounded.
_SIGNERS: dict[tuple[bytes, tuple[bytes, ...]], tuple[str, ec.EllipticCurvePublicKey, float]] = {}
_DECODED: dict[tuple[str, str, bytes], Message] = {}
_DIGESTS: dict[bytes, bytes] = {}
_CACHE_LIMIT = 100_000


def _verified(verifier: Verifier, key: str, raw: bytes) -> signed_pb2.SignedValue:
    try:
        return verifier.verify(key, raw)
    except ValueRejected as exc:
        raise SnapshotRejected(f"{key}: {exc.reason}") from None


def _signer(chain_pem: bytes, roots: Sequence[x509.Certificate], trust_domain: str
            ) -> tuple[str, ec.EllipticCurvePublicKey]:
    """signer_public_key, remembered until the signer certificate expires."""
    memo = (chain_pem, tuple(r.fingerprint(hashes.SHA256()) for r in roots))
    hit = _SIGNERS.get(memo)
    if hit is not None and time.time() < hit[2]:
        return hit[0], hit[1]
    key_id, public_key = signer_public_key(chain_pem, list(roots), trust_domain)
    expires = x509.load_pem_x509_certificates(chain_pem)[0].not_valid_after_utc.timestamp()
    if len(_SIGNERS) >= 1024:
        _SIGNERS.clear()
    _SIGNERS[memo] = (key_id, public_key, expires)
    return key_id, public_key


def _digest(raw: bytes) -> bytes:
    digest = _DIGESTS.get(raw)
    if digest is None:
        if len(_DIGESTS) >= _CACHE_LIMIT:
            _DIGESTS.clear()
        digest = _DIGESTS[raw] = value_digest(raw)
    return digest


def _decode(key: str, value: signed_pb2.SignedValue, kind: str, message: type[_M]) -> _M:
    """The payload as a message. Decoded once per (key, payload): compiles only read them."""
    if value.kind != kind:
        raise SnapshotRejected(f"{key}: holds a {value.kind!r}, expected {kind!r}")
    memo = (key, kind, value.payload)
    cached = _DECODED.get(memo)
    if cached is not None:
        return cached  # type: ignore[return-value]
    decoded = message()
    try:
        decoded.ParseFromString(value.payload)
    except DecodeError:
        raise SnapshotRejected(f"{key}: payload is not a valid {kind}") from None
    if len(_DECODED) >= _CACHE_LIMIT:
        _DECODED.clear()
    _DECODED[memo] = decoded
    return decoded


def _add_resource(resources: _Resources, key: str, value: signed_pb2.SignedValue) -> None:
    parsed = parse_resource_key(key)
    if parsed is None:
        raise SnapshotRejected(f"{key}: not a valid resource key")
    kind_name, org, name = parsed
    if value.kind != kind_name:
        raise SnapshotRejected(f"{key}: holds a {value.kind!r}, expected {kind_name!r}")
    kind = KINDS.get(kind_name)
    if kind is None:
        return  # a kind this sidecar does not know yet: verified, committed, unused
    if (kind.scope == "org") != bool(org):
        raise SnapshotRejected(f"{key}: a {kind_name} is {kind.scope}-scoped")
    resource = _decode(key, value, kind_name, kind.message)
    resources.all.append(resource)
    meta = resource.metadata  # type: ignore[attr-defined]
    if meta.name != name or meta.org != org:
        raise SnapshotRejected(
            f"{key}: metadata names {meta.org or '-'}/{meta.name}, not the key's {org or '-'}/{name}")
    stated = resource.kind  # type: ignore[attr-defined]
    if stated and stated != kind_name:
        raise SnapshotRejected(f"{key}: payload says kind {stated!r}")
    if kind.scope == "org":
        resources.owners[f"{kind_name} {org}/{name}"] = org
    if isinstance(resource, organization_pb2.Organization):
        resources.orgs.add(name)
    elif isinstance(resource, system_pb2.System):
        resources.systems[(org, name)] = resource
    elif isinstance(resource, service_pb2.Service):
        resources.services[(org, name)] = resource
    elif isinstance(resource, route_pb2.Route):
        resources.routes[(org, name)] = resource


def _check_references(
    resources: _Resources, trust_domain: str
) -> dict[str, list[tuple[str, str]]]:
    """Every reference resolves; returns gRPC service name → its providing Service. The
    control plane validates these too: this is the sidecar's defence in depth."""
    for what, org in sorted(resources.owners.items()):
        if org not in resources.orgs:
            raise SnapshotRejected(f"{what}: organization {org!r} does not exist")
    for (org, name), system in resources.systems.items():
        try:
            sid = parse_spiffe_id(system.spec.spiffe_id)
        except InvalidSpiffeId as exc:
            raise SnapshotRejected(f"system {org}/{name}: spec.spiffeId: {exc}") from None
        if (sid.trust_domain, sid.org, sid.system) != (trust_domain, org, name):
            raise SnapshotRejected(
                f"system {org}/{name}: spec.spiffeId {system.spec.spiffe_id} is not its identity")
    for (org, name), service in resources.services.items():
        if (org, service.spec.system) not in resources.systems:
            raise SnapshotRejected(
                f"service {org}/{name}: system {service.spec.system!r} does not exist")
    providers = _providers(resources)
    for (org, name), route in resources.routes.items():
        where = f"route {org}/{name}"
        if (org, route.spec.consumer) not in resources.systems:
            raise SnapshotRejected(f"{where}: consumer system {route.spec.consumer!r} does not exist")
        found = providers.get(route.spec.grpc_service, [])
        if len(found) != 1:
            raise SnapshotRejected(
                f"{where}: {route.spec.grpc_service!r} is provided by {len(found)} services, "
                "not exactly one")
        if not resources.services[found[0]].spec.endpoints:
            raise SnapshotRejected(f"{where}: service {'/'.join(found[0])} has no endpoints")
    return providers


def _providers(resources: _Resources) -> dict[str, list[tuple[str, str]]]:
    """gRPC service name → the Service resources that provide it. A canonical service is
    provided by a System that has a Service and implements the service through a Mapping;
    calls reach it at that Service's endpoints."""
    providers: dict[str, list[tuple[str, str]]] = {}
    first_service: dict[tuple[str, str], tuple[str, str]] = {}
    for ref, service in sorted(resources.services.items()):
        first_service.setdefault((ref[0], service.spec.system), ref)
        for grpc_service in service.spec.grpc_services:
            providers.setdefault(grpc_service, []).append(ref)
    for mapping in resources.all:
        if not isinstance(mapping, mapping_pb2.Mapping):
            continue
        ref = first_service.get((mapping.metadata.org, mapping.spec.system))
        if ref is None:
            continue  # a consumer's Mapping: it provides nothing
        for name in sorted({op.canonical.split("/")[1] for op in mapping.spec.operations if op.canonical.count("/") == 2}):
            if ref not in providers.setdefault(name, []):
                providers[name].append(ref)
    return providers


def _routes_of(
    resources: _Resources, providers: dict[str, list[tuple[str, str]]], own: tuple[str, str]
) -> dict[str, Upstream]:
    """This sidecar's route table: its System's Routes, by gRPC service name.

    A Service may list several endpoints; a route follows the FIRST one. Spreading calls
    over all of them (and failing over) is future work; the order is the operator's.
    """
    table: dict[str, Upstream] = {}
    for (org, name), route in sorted(resources.routes.items()):
        if (org, route.spec.consumer) != own:
            continue
        grpc_service = route.spec.grpc_service
        if grpc_service in table:
            raise SnapshotRejected(f"route {org}/{name}: a second route for {grpc_service!r}")
        service = resources.services[providers[grpc_service][0]]
        provider = resources.systems[(service.metadata.org, service.spec.system)]
        timeout = DEFAULT_ROUTE_TIMEOUT
        if route.spec.HasField("timeout"):
            timeout = route.spec.timeout.ToTimedelta().total_seconds()
            if timeout <= 0:
                raise SnapshotRejected(f"route {org}/{name}: spec.timeout must be positive")
        table[grpc_service] = Upstream(
            endpoint=service.spec.endpoints[0].address,
            identity=provider.spec.spiffe_id,
            timeout=timeout,
        )
    return table


def _method_kinds(services: Sequence[service_pb2.Service]) -> dict[str, str]:
    """Unary and server-streaming methods of the given Services, from their descriptor sets
    (read from the descriptor protos directly: no descriptor pool is needed for two flags)."""
    kinds: dict[str, str] = {}
    for service in services:
        files = descriptor_pb2.FileDescriptorSet()
        try:
            files.ParseFromString(service.spec.descriptor_set)
        except DecodeError:
            raise SnapshotRejected(
                f"service {service.metadata.org}/{service.metadata.name}: descriptorSet is not valid") from None
        wanted = set(service.spec.grpc_services)
        for file in files.file:
            for svc in file.service:
                full = f"{file.package}.{svc.name}" if file.package else svc.name
                if full not in wanted:
                    continue
                for method in svc.method:
                    if method.client_streaming:
                        continue
                    kinds[f"/{full}/{method.name}"] = SERVER_STREAM if method.server_streaming else UNARY
    return kinds


def _response_types(services: Sequence[service_pb2.Service]) -> dict[str, type]:
    """Response message classes of this system's own methods, from its descriptor sets (upb)."""
    types: dict[str, type] = {}
    for service in services:
        pool = descriptor_pool.DescriptorPool()
        try:
            for file in descriptor_pb2.FileDescriptorSet.FromString(service.spec.descriptor_set).file:
                pool.Add(file)
            for name in service.spec.grpc_services:
                try:
                    methods = pool.FindServiceByName(name).methods
                except KeyError:
                    continue  # no type known: a field grant on it fails closed at call time
                for method in methods:
                    types[f"/{name}/{method.name}"] = message_factory.GetMessageClass(method.output_type)
        except (DecodeError, TypeError, ValueError) as exc:
            raise SnapshotRejected(
                f"service {service.metadata.org}/{service.metadata.name}: descriptorSet: {exc}") from None
    return types


def _translations(resources: _Resources, own: tuple[str, str]) -> dict[str, CompiledOperation]:
    """This system's Mapping operations, by local AND by canonical method path: the consumer
    looks up the local path its app calls, the provider the canonical path that arrives."""
    schemas = {s.metadata.name: s for s in resources.all if isinstance(s, schema_pb2.Schema)}
    operations: dict[str, CompiledOperation] = {}
    for mapping in resources.all:
        if not isinstance(mapping, mapping_pb2.Mapping) or (mapping.metadata.org, mapping.spec.system) != own:
            continue
        where = f"mapping {mapping.metadata.org}/{mapping.metadata.name}"
        schema = schemas.get(mapping.spec.schema)
        if schema is None:
            raise SnapshotRejected(f"{where}: schema {mapping.spec.schema!r} does not exist")
        try:
            compiled = compile_mapping(mapping, None, pool_from_bytes(schema.spec.descriptor_set))
        except (MappingInvalid, DescriptorSetError) as exc:
            raise SnapshotRejected(f"{where}: {exc}") from None
        for op in compiled.by_local.values():
            for path in (op.local, op.canonical):
                if path in operations:
                    raise SnapshotRejected(f"{where}: a second mapping for {path}")
                operations[path] = op
    return operations


def _trust_roots(bundle: signed_pb2.TrustBundle) -> tuple[bytes, ...]:
    for index, pem in enumerate(bundle.roots_pem):
        try:
            x509.load_pem_x509_certificates(pem)
        except ValueError:
            raise SnapshotRejected(
                f"{TRUST_BUNDLE_KEY}: roots_pem[{index}] is not a PEM certificate") from None
    return tuple(bundle.roots_pem)


def roots_of(snapshot: Snapshot | None) -> list[x509.Certificate]:
    """The certificates of a snapshot's TrustBundle (already checked when it was compiled)."""
    if snapshot is None:
        return []
    return [cert for pem in snapshot.trust_roots_pem for cert in x509.load_pem_x509_certificates(pem)]

