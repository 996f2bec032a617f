"""Compiling the signed config read from etcd (or the last-known-good file) into this sidecar's
Snapshot. A snapshot is accepted whole or not at all: any value that fails verification, a head
that does not commit to exactly the stored keys, or a broken reference rejects all of it.

Two entry points share one builder, so they cannot disagree:
- `compile_full` reads every value (a list, the last-known-good file, a new signer or trust
  bundle);
- `compile_update` starts from the last compiled config and reads only the keys a watch
  batch changed. It re-verifies the head over every key (kept digest by digest, so that is
  one hash over the entries), re-checks the references that the changed keys take part in,
  and rebuilds only the parts of the Snapshot whose inputs changed. A change costs what it
  touches, not what the mesh holds.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
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
from mesh.policy import PolicyError, PolicyTable, compile_policies
from mesh.resources import KINDS
from mesh.head_tree import HeadTree
from mesh.signing import ValueRejected, Verifier, signer_public_key
from mesh.translate.descriptors import DescriptorSetError, pool_from_bytes
from mesh.translate.engine import CompiledOperation, compile_mapping
from mesh.translate.errors import MappingInvalid
from mesh.v1 import route_pb2, service_pb2, signed_pb2
from sidecar.overlay import Overlay
from sidecar.snapshot import SERVER_STREAM, UNARY, Snapshot, Upstream

# RouteSpec.timeout: "Default 30s".
DEFAULT_ROUTE_TIMEOUT = 30.0

_M = TypeVar("_M", bound=Message)
Ref = tuple[str, str]  # (org, name); org is "" for platform-scoped kinds
Resources = Mapping[str, Mapping[Ref, Message]]  # kind → ref → decoded resource

# The kinds each derived part of a Snapshot is computed from: a change that touches none of
# them keeps that part as it was.
_PROVIDER_INPUTS = frozenset({"Service", "Mapping"})
_ROUTE_INPUTS = frozenset({"Route", "System"}) | _PROVIDER_INPUTS
_TRANSLATION_INPUTS = frozenset({"Mapping", "Schema"})
_POLICY_INPUTS = frozenset({"System", "Purpose", "AccessPolicy"})
_EMPTY: Mapping[Ref, Message] = MappingProxyType({})


class SnapshotRejected(Exception):
    """The config cannot be applied; `reason` says why (key names only, never payloads)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Compiled:
    """A compiled config: the Snapshot to serve, and what compile_update builds on. Nothing
    in it is mutated after it is built; a later compile copies what it changes."""

    snapshot: Snapshot
    values: Overlay[str, bytes]  # every key under CONFIG_PREFIX, as stored
    own_id: str
    trust_domain: str
    verifier: Verifier
    verifier_until: float  # the first signer certificate expiry: a full compile after it
    resources: Resources
    providers: Mapping[str, tuple[Ref, ...]]  # gRPC service name → providing Services
    own_routes: Mapping[Ref, route_pb2.Route]
    bundle: signed_pb2.TrustBundle
    denylist: signed_pb2.DenyList
    head_tree: HeadTree  # the head digest's tree over every key but the head


def compile_snapshot(
    values: Mapping[str, bytes],
    verifier_roots: Sequence[x509.Certificate],
    trust_domain: str,
    own_spiffe_id: str,
    revision: int,
    *,
    applied: Snapshot | None = None,
) -> Snapshot:
    """This sidecar's Snapshot of `values`: compile_full without the state for updates."""
    return compile_full(values, verifier_roots, trust_domain, own_spiffe_id, revision,
                        applied=applied).snapshot


def compile_full(
    values: Mapping[str, bytes],
    verifier_roots: Sequence[x509.Certificate],
    trust_domain: str,
    own_spiffe_id: str,
    revision: int,
    *,
    applied: Snapshot | None = None,
) -> Compiled:
    """Compile `values` (every key under CONFIG_PREFIX as stored, read at etcd `revision`),
    or SnapshotRejected.

    Signer certificates are trusted only if they chain to `verifier_roots` (the local bundle
    file, plus the roots of the TrustBundle in the snapshot already applied). With `applied`,
    neither the head nor any key may go back to an older version (a replay).
    """
    for key in values:
        if not key.startswith(CONFIG_PREFIX):
            raise SnapshotRejected(f"key {key!r} is outside the config prefix")
    verifier, until = _verifier(values, verifier_roots, trust_domain)
    build = _Build(None, Overlay.of(values), verifier, until, own_spiffe_id, trust_domain, applied)
    return build.run(values, (), revision)


def compile_update(
    base: Compiled,
    puts: Mapping[str, bytes],
    deletes: Iterable[str],
    revision: int,
    local_roots: Sequence[x509.Certificate],
) -> Compiled:
    """`base` with a watch batch applied (`puts` and `deletes` of keys, at etcd `revision`),
    compiled; the same result compile_full gives for the whole new state. Changes that alter
    which signers are trusted (a signer chain or the TrustBundle) and a signer certificate
    past its expiry compile everything again."""
    deletes = [key for key in deletes if key not in puts]
    values = base.values.changed(puts, deletes)  # no copy of the whole config
    if needs_full_compile(base, puts, deletes):
        roots = [*local_roots, *roots_of(base.snapshot)]
        return compile_full(values, roots, base.trust_domain, base.own_id, revision,
                            applied=base.snapshot)
    for key in puts:
        if not key.startswith(CONFIG_PREFIX):
            raise SnapshotRejected(f"key {key!r} is outside the config prefix")
    build = _Build(base, values, base.verifier, base.verifier_until, base.own_id,
                   base.trust_domain, base.snapshot)
    return build.run(puts, deletes, revision)


def needs_full_compile(base: Compiled, puts: Iterable[str], deletes: Iterable[str]) -> bool:
    """Whether compile_update compiles everything again for this change: it changes which
    signers are trusted, or a trusted signer's certificate has expired."""
    return (time.time() >= base.verifier_until
            or any(key.startswith(SIGNER_PREFIX) or key == TRUST_BUNDLE_KEY
                   for key in chain(puts, deletes)))


class _Build:
    """One compile: `base` (None for a full compile) plus changed keys → a new Compiled.
    Containers shared with `base` are copied before they are changed."""

    def __init__(self, base: Compiled | None, values: Overlay[str, bytes], verifier: Verifier,
                 verifier_until: float, own_id: str, trust_domain: str,
                 applied: Snapshot | None) -> None:
        self.base = base
        self.values = values
        self.verifier = verifier
        self.verifier_until = verifier_until
        self.own_id = own_id
        self.trust_domain = trust_domain
        self.own = _own_system(own_id, trust_domain)
        self.applied = applied
        self.resources: dict[str, Mapping[Ref, Message]] = base.resources.copy() if base else {}
        self._copied: set[str] = set()
        self.put_refs: dict[str, list[Ref]] = {}
        self.deleted_refs: dict[str, list[Ref]] = {}
        self.bundle = base.bundle if base else signed_pb2.TrustBundle()
        self.denylist = base.denylist if base else signed_pb2.DenyList()
        self.trust_touched = base is None

    # -- the steps -------------------------------------------------------------------------

    def run(self, puts: Mapping[str, bytes], deletes: Sequence[str], revision: int) -> Compiled:
        tree = self._head_tree(puts, deletes)
        head = self._head(tree, len(self.values) - (HEAD_KEY in self.values))
        applied = self.applied
        if applied is not None and head.version < applied.version:
            raise SnapshotRejected(
                f"replayed config head (version {head.version} < applied {applied.version})")
        versions: dict[str, int] = {}  # of the keys put now
        for key in deletes:
            self._delete(key)
        for key in sorted(puts):
            if key == HEAD_KEY or key.startswith(SIGNER_PREFIX):
                continue
            value = _verified(self.verifier, key, puts[key])
            if value.version > head.version:
                raise SnapshotRejected(
                    f"{key}: version {value.version} is newer than the head ({head.version})")
            if applied is not None and value.version < applied.versions.get(key, 0):
                raise SnapshotRejected(
                    f"{key}: replayed value (version {value.version} < applied "
                    f"{applied.versions[key]})")
            versions[key] = value.version
            self._put(key, value)
        touched = self.touched
        providers = self._check_references()
        own_routes = self._own_routes()
        base = self.base
        snapshot = base.snapshot if base else Snapshot()
        routes, policy, translations = snapshot.routes, snapshot.policy, snapshot.translations
        # Another system's Route changes nothing here but the reference checks above.
        if base is None or touched & _ROUTE_INPUTS - {"Route"} or own_routes is not base.own_routes:
            routes = MappingProxyType(_routes_of(self.resources, providers, own_routes))
        if touched & _POLICY_INPUTS:
            policy = self._policy()
        if touched & _TRANSLATION_INPUTS:
            translations = MappingProxyType(_translations(self.resources, self.own))
        kinds, responses = snapshot.method_kinds, snapshot.response_types
        if (base is None or "Service" in touched or routes is not snapshot.routes
                or translations is not snapshot.translations):
            kinds, responses = self._methods(routes, providers, translations)
        systems = self.resources.get("System", _EMPTY)
        snapshot = Snapshot(
            routes=routes,
            method_kinds=kinds,
            policy=policy,
            own_system=self.own if self.own in systems else None,
            response_types=responses,
            translations=translations,
            revision=revision,
            version=head.version,
            config_hash=head.digest.hex(),
            denied=(frozenset(entry.spiffe_id for entry in self.denylist.entries)
                    if self.trust_touched or base is None else base.snapshot.denied),
            trust_roots_pem=(_trust_roots(self.bundle)
                             if self.trust_touched or base is None else base.snapshot.trust_roots_pem),
            versions=(_overlay(base.snapshot.versions).changed(versions, deletes) if base
                      else Overlay.of(versions)),
        )
        return Compiled(
            snapshot=snapshot, values=self.values, own_id=self.own_id,
            trust_domain=self.trust_domain, verifier=self.verifier,
            verifier_until=self.verifier_until, resources=MappingProxyType(self.resources),
            providers=providers, own_routes=own_routes, bundle=self.bundle,
            denylist=self.denylist, head_tree=tree)

    @property
    def touched(self) -> set[str]:
        """The kinds this compile put or deleted (every kind on a full compile)."""
        if self.base is None:
            return set(KINDS)
        return {*self.put_refs, *self.deleted_refs}

    def _head_tree(self, puts: Mapping[str, bytes], deletes: Sequence[str]) -> HeadTree:
        """The head digest's tree for the new state: only the buckets of changed keys are
        hashed again."""
        if self.base is None:
            return HeadTree.of((key, raw) for key, raw in self.values.items() if key != HEAD_KEY)
        return self.base.head_tree.with_changes(
            {key: raw for key, raw in puts.items() if key != HEAD_KEY},
            [key for key in deletes if key != HEAD_KEY])

    def _head(self, tree: HeadTree, count: int) -> signed_pb2.ConfigHead:
        """The verified ConfigHead, which must commit to every other key exactly as stored."""
        raw = self.values.get(HEAD_KEY)
        if raw is None:
            raise SnapshotRejected("no config head (nothing has been published)")
        value = _verified(self.verifier, HEAD_KEY, raw)
        head = _decode(HEAD_KEY, value, "ConfigHead", signed_pb2.ConfigHead)
        if head.version != value.version:
            raise SnapshotRejected(
                f"config head says version {head.version} but was signed at {value.version}")
        # Equal digests already imply equal counts; the count only makes the message useful.
        if tree.digest != head.digest:
            raise SnapshotRejected(
                f"stored config does not match its head (version {head.version}: head covers "
                f"{head.count} keys, {count} are stored); a key was added, deleted or "
                "replaced behind the control plane's back")
        return head

    def _kind(self, kind: str) -> dict[Ref, Message]:
        """The resources of `kind`, copied from the base the first time this compile changes them."""
        if kind not in self._copied:
            self._copied.add(kind)
            self.resources[kind] = self.resources.get(kind, _EMPTY).copy()
        return self.resources[kind]  # type: ignore[return-value]

    def _put(self, key: str, value: signed_pb2.SignedValue) -> None:
        if key == TRUST_BUNDLE_KEY:
            self.bundle = _decode(key, value, "TrustBundle", signed_pb2.TrustBundle)
            self.trust_touched = True
        elif key == DENYLIST_KEY:
            self.denylist = _decode(key, value, "DenyList", signed_pb2.DenyList)
            self.trust_touched = True
        elif key.startswith(RESOURCE_PREFIX):
            self._put_resource(key, value)
        # Any other key is signed and committed by the head but means nothing to this
        # version of the sidecar (a newer control plane's internal key): it is ignored.

    def _put_resource(self, key: str, value: signed_pb2.SignedValue) -> None:
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
        meta = resource.metadata  # type: ignore[attr-defined]
        if meta.name != name or meta.org != org:
            raise SnapshotRejected(
                f"{key}: metadata names {meta.org or '-'}/{meta.name}, not the key's {org or '-'}/{name}")
        stated = resource.kind  # type: ignore[attr-defined]
        if stated and stated != kind_name:
            raise SnapshotRejected(f"{key}: payload says kind {stated!r}")
        self._kind(kind_name)[(org, name)] = resource
        self.put_refs.setdefault(kind_name, []).append((org, name))

    def _delete(self, key: str) -> None:
        if key == TRUST_BUNDLE_KEY:
            self.bundle, self.trust_touched = signed_pb2.TrustBundle(), True
        elif key == DENYLIST_KEY:
            self.denylist, self.trust_touched = signed_pb2.DenyList(), True
        parsed = parse_resource_key(key)
        if parsed is None or parsed[0] not in KINDS:
            return
        kind_name, org, name = parsed
        if self._kind(kind_name).pop((org, name), None) is not None:
            self.deleted_refs.setdefault(kind_name, []).append((org, name))

    def _check_references(self) -> Mapping[str, tuple[Ref, ...]]:
        """Every reference that this compile's changes take part in resolves (all of them on
        a full compile); returns gRPC service name → its providing Services. The control
        plane validates these too: this is the sidecar's defence in depth."""
        resources, full = self.resources, self.base is None
        systems = resources.get("System", _EMPTY)
        services = resources.get("Service", _EMPTY)
        routes = resources.get("Route", _EMPTY)
        orgs = {name for _, name in resources.get("Organization", _EMPTY)}
        changed = self.put_refs
        gone = self.deleted_refs
        # Each org-scoped resource names an existing Organization.
        owners = (chain.from_iterable(((k, ref) for ref in refs) for k, refs in changed.items())
                  if not full and not gone.get("Organization") else
                  ((k, ref) for k, found in resources.items() for ref in found))
        missing = sorted(f"{k} {org}/{name}" for k, (org, name) in owners
                         if KINDS[k].scope == "org" and org not in orgs)
        if missing:
            org = missing[0].split(" ", 1)[1].split("/", 1)[0]
            raise SnapshotRejected(f"{missing[0]}: organization {org!r} does not exist")
        for org, name in (systems if full else changed.get("System", ())):
            system = systems[(org, name)]
            try:
                sid = parse_spiffe_id(system.spec.spiffe_id)  # type: ignore[attr-defined]
            except InvalidSpiffeId as exc:
                raise SnapshotRejected(f"system {org}/{name}: spec.spiffeId: {exc}") from None
            if (sid.trust_domain, sid.org, sid.system) != (self.trust_domain, org, name):
                raise SnapshotRejected(
                    f"system {org}/{name}: spec.spiffeId {system.spec.spiffe_id} is not its identity")  # type: ignore[attr-defined]
        systems_gone = bool(gone.get("System"))
        for org, name in (services if full or systems_gone else changed.get("Service", ())):
            service = services[(org, name)]
            if (org, service.spec.system) not in systems:  # type: ignore[attr-defined]
                raise SnapshotRejected(
                    f"service {org}/{name}: system {service.spec.system!r} does not exist")  # type: ignore[attr-defined]
        base = self.base
        if base is None or self.touched & _PROVIDER_INPUTS:
            providers = _providers(resources)
            to_check: Iterable[Ref] = routes
        else:
            providers = base.providers
            to_check = routes if systems_gone else changed.get("Route", ())
        for org, name in to_check:
            route = routes[(org, name)]
            where = f"route {org}/{name}"
            if (org, route.spec.consumer) not in systems:  # type: ignore[attr-defined]
                raise SnapshotRejected(f"{where}: consumer system {route.spec.consumer!r} does not exist")  # type: ignore[attr-defined]
            found = providers.get(route.spec.grpc_service, ())  # type: ignore[attr-defined]
            if len(found) != 1:
                raise SnapshotRejected(
                    f"{where}: {route.spec.grpc_service!r} is provided by {len(found)} services, "  # type: ignore[attr-defined]
                    "not exactly one")
            if not services[found[0]].spec.endpoints:  # type: ignore[attr-defined]
                raise SnapshotRejected(f"{where}: service {'/'.join(found[0])} has no endpoints")
        return providers

    def _own_routes(self) -> Mapping[Ref, route_pb2.Route]:
        """This system's Routes: kept from the base, changed only by the Routes changed now."""
        routes = self.resources.get("Route", _EMPTY)
        if self.base is None:
            return MappingProxyType({ref: r for ref, r in routes.items() if self._is_own(ref, r)})
        base_own = self.base.own_routes
        changed = [*self.put_refs.get("Route", ()), *self.deleted_refs.get("Route", ())]
        mine = [ref for ref in changed
                if ref in base_own or (ref in routes and self._is_own(ref, routes[ref]))]
        if not mine:
            return base_own
        own = dict(base_own)
        for ref in mine:
            own.pop(ref, None)
            route = routes.get(ref)
            if route is not None and self._is_own(ref, route):
                own[ref] = route  # type: ignore[assignment]
        return MappingProxyType(own)

    def _is_own(self, ref: Ref, route: Message) -> bool:
        return (ref[0], route.spec.consumer) == self.own  # type: ignore[attr-defined]

    def _policy(self) -> PolicyTable:
        resources = self.resources
        try:
            return compile_policies(chain.from_iterable(
                (resources.get(kind, _EMPTY)[ref] for ref in sorted(resources.get(kind, _EMPTY)))
                for kind in ("AccessPolicy", "Purpose", "System")))
        except PolicyError as exc:
            raise SnapshotRejected(f"access policies: {exc}") from None

    def _methods(self, routes: Mapping[str, Upstream], providers: Mapping[str, tuple[Ref, ...]],
                 translations: Mapping[str, CompiledOperation]
                 ) -> tuple[Mapping[str, str], Mapping[str, type]]:
        """Method kinds of the services this sidecar routes to or provides, and the response
        classes of its own methods; a Mapping's operations override both."""
        services = self.resources.get("Service", _EMPTY)
        mine = [svc for (org, _), svc in sorted(services.items())
                if (org, svc.spec.system) == self.own]  # type: ignore[attr-defined]
        relevant = [services[providers[name][0]] for name in routes] + mine
        kinds: dict[str, str] = {}
        for service in relevant:
            kinds.update(_method_kinds(service))  # type: ignore[arg-type]
        responses: dict[str, type] = {}
        for service in mine:
            responses.update(_response_types(service))  # type: ignore[arg-type]
        for op in translations.values():
            kind = None if op.client_streaming else SERVER_STREAM if op.server_streaming else UNARY
            for path in (op.local, op.canonical):
                if kind is not None:
                    kinds[path] = kind
                else:
                    kinds.pop(path, None)
            responses[op.canonical] = op.response.canonical_class
        return MappingProxyType(kinds), MappingProxyType(responses)


def _overlay(mapping: Mapping[str, int]) -> Overlay[str, int]:
    return mapping if isinstance(mapping, Overlay) else Overlay.of(mapping)


@functools.lru_cache(maxsize=64)
def _own_system(own_spiffe_id: str, trust_domain: str) -> Ref:
    """(org, system) of this sidecar's identity; parsed once, not on every compile."""
    try:
        own = parse_spiffe_id(own_spiffe_id)
    except InvalidSpiffeId as exc:
        raise SnapshotRejected(f"own identity: {exc}") from None
    if own.trust_domain != trust_domain or own.org is None or own.system is None:
        raise SnapshotRejected(f"own identity {own_spiffe_id} is not a workload of {trust_domain}")
    return own.org, own.system


def _verifier(
    values: Mapping[str, bytes], roots: Sequence[x509.Certificate], trust_domain: str
) -> tuple[Verifier, float]:
    """A Verifier over the stored signer chains that the roots vouch for (others are skipped:
    a value signed by one of them then fails as signed by an unknown key), and the time the
    first of their certificates expires."""
    keys: dict[str, ec.EllipticCurvePublicKey] = {}
    until = math.inf
    for key, chain_pem in values.items():
        if not key.startswith(SIGNER_PREFIX):
            continue
        try:
            key_id, public_key, expires = _signer(chain_pem, roots, trust_domain)
        except ValueRejected:
            continue
        if key == SIGNER_PREFIX + key_id:
            keys[key_id] = public_key
            until = min(until, expires)
    return Verifier(MappingProxyType(keys)), until


# Signer chains are checked once until they expire; verified values are remembered by
# Verifier itself (mesh/signing.py); decoded payloads and what is read from descriptor sets
# below, all bounded.
_SIGNERS: dict[tuple[bytes, tuple[bytes, ...]], tuple[str, ec.EllipticCurvePublicKey, float]] = {}
_DECODED: dict[tuple[str, str, bytes], Message] = {}
_METHOD_KINDS: dict[tuple[bytes, tuple[str, ...]], Mapping[str, str]] = {}
_RESPONSE_TYPES: dict[tuple[bytes, tuple[str, ...]], Mapping[str, type]] = {}
_CACHE_LIMIT = 100_000
_DESCRIPTOR_CACHE_LIMIT = 1024


def _verified(verifier: Verifier, key: str, raw: bytes) -> signed_pb2.SignedValue:
    try:
        return verifier.verify(key, raw)
    except ValueRejected as exc:
        raise SnapshotRejected(f"{key}: {exc.reason}") from None


def _signer(chain_pem: bytes, roots: Sequence[x509.Certificate], trust_domain: str
            ) -> tuple[str, ec.EllipticCurvePublicKey, float]:
    """signer_public_key and the signer certificate's expiry, remembered until it expires."""
    memo = (chain_pem, tuple(r.fingerprint(hashes.SHA256()) for r in roots))
    hit = _SIGNERS.get(memo)
    if hit is not None and time.time() < hit[2]:
        return hit
    key_id, public_key = signer_public_key(chain_pem, list(roots), trust_domain)
    expires = x509.load_pem_x509_certificates(chain_pem)[0].not_valid_after_utc.timestamp()
    if len(_SIGNERS) >= 1024:
        _SIGNERS.clear()
    _SIGNERS[memo] = (key_id, public_key, expires)
    return key_id, public_key, expires


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


def _remembered(cache: dict, memo: tuple, make: Callable[[], Mapping]) -> Mapping:  # type: ignore[type-arg]
    found = cache.get(memo)
    if found is None:
        if len(cache) >= _DESCRIPTOR_CACHE_LIMIT:
            cache.clear()
        found = cache[memo] = MappingProxyType(make())
    return found


def _providers(resources: Resources) -> dict[str, tuple[Ref, ...]]:
    """gRPC service name → the Service resources that provide it. A canonical service is
    provided by a System that has a Service and implements the service through a Mapping;
    calls reach it at that Service's endpoints."""
    providers: dict[str, list[Ref]] = {}
    first_service: dict[Ref, Ref] = {}
    for ref, service in sorted(resources.get("Service", _EMPTY).items()):
        first_service.setdefault((ref[0], service.spec.system), ref)  # type: ignore[attr-defined]
        for grpc_service in service.spec.grpc_services:  # type: ignore[attr-defined]
            providers.setdefault(grpc_service, []).append(ref)
    for _, mapping in sorted(resources.get("Mapping", _EMPTY).items()):
        ref = first_service.get((mapping.metadata.org, mapping.spec.system))  # type: ignore[attr-defined]
        if ref is None:
            continue  # a consumer's Mapping: it provides nothing
        operations = mapping.spec.operations  # type: ignore[attr-defined]
        for name in sorted({op.canonical.split("/")[1] for op in operations if op.canonical.count("/") == 2}):
            if ref not in providers.setdefault(name, []):
                providers[name].append(ref)
    return {name: tuple(refs) for name, refs in providers.items()}


def _routes_of(
    resources: Resources, providers: Mapping[str, tuple[Ref, ...]],
    own_routes: Mapping[Ref, route_pb2.Route],
) -> dict[str, Upstream]:
    """This sidecar's route table: its System's Routes, by gRPC service name.

    A Service may list several endpoints; a route follows the FIRST one. Spreading calls
    over all of them (and failing over) is future work; the order is the operator's.
    """
    services = resources.get("Service", _EMPTY)
    systems = resources.get("System", _EMPTY)
    table: dict[str, Upstream] = {}
    for (org, name), route in sorted(own_routes.items()):
        grpc_service = route.spec.grpc_service
        if grpc_service in table:
            raise SnapshotRejected(f"route {org}/{name}: a second route for {grpc_service!r}")
        service = services[providers[grpc_service][0]]
        provider = systems[(service.metadata.org, service.spec.system)]  # type: ignore[attr-defined]
        timeout = DEFAULT_ROUTE_TIMEOUT
        if route.spec.HasField("timeout"):
            timeout = route.spec.timeout.ToTimedelta().total_seconds()
            if timeout <= 0:
                raise SnapshotRejected(f"route {org}/{name}: spec.timeout must be positive")
        table[grpc_service] = Upstream(
            endpoint=service.spec.endpoints[0].address,  # type: ignore[attr-defined]
            identity=provider.spec.spiffe_id,  # type: ignore[attr-defined]
            timeout=timeout,
        )
    return table


def _method_kinds(service: service_pb2.Service) -> Mapping[str, str]:
    """Unary and server-streaming methods of a Service, from its descriptor set (read from
    the descriptor protos directly: no descriptor pool is needed for two flags)."""
    def make() -> dict[str, str]:
        files = descriptor_pb2.FileDescriptorSet()
        try:
            files.ParseFromString(service.spec.descriptor_set)
        except DecodeError:
            raise SnapshotRejected(
                f"service {service.metadata.org}/{service.metadata.name}: descriptorSet is not valid") from None
        wanted = set(service.spec.grpc_services)
        kinds: dict[str, str] = {}
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
    return _remembered(_METHOD_KINDS, (service.spec.descriptor_set, tuple(service.spec.grpc_services)), make)


def _response_types(service: service_pb2.Service) -> Mapping[str, type]:
    """Response message classes of a Service's methods, from its descriptor set (upb)."""
    def make() -> dict[str, type]:
        types: dict[str, type] = {}
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
    return _remembered(_RESPONSE_TYPES, (service.spec.descriptor_set, tuple(service.spec.grpc_services)), make)


def _translations(resources: Resources, own: Ref) -> dict[str, CompiledOperation]:
    """This system's Mapping operations, by local AND by canonical method path: the consumer
    looks up the local path its app calls, the provider the canonical path that arrives."""
    schemas = {ref[1]: s for ref, s in resources.get("Schema", _EMPTY).items()}
    operations: dict[str, CompiledOperation] = {}
    for (org, name), mapping in sorted(resources.get("Mapping", _EMPTY).items()):
        if (org, mapping.spec.system) != own:  # type: ignore[attr-defined]
            continue
        where = f"mapping {org}/{name}"
        schema = schemas.get(mapping.spec.schema)  # type: ignore[attr-defined]
        if schema is None:
            raise SnapshotRejected(f"{where}: schema {mapping.spec.schema!r} does not exist")  # type: ignore[attr-defined]
        try:
            compiled = compile_mapping(mapping, None, pool_from_bytes(schema.spec.descriptor_set))  # type: ignore[arg-type, attr-defined]
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
