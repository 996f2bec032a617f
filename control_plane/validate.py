"""Validation of resources: every problem, each with its field path, against the whole world.

A world is the mesh's resources as they would be after the apply. Each kind has a validator
for its own fields and references; the apply reports all problems of all documents at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, TypeVar

from google.protobuf import descriptor_pool
from google.protobuf.message import Message

from certs.spiffe_id import workload_id
from control_plane.errors import FieldError
from control_plane.mapping_validation import check_mapping_references, validate_mapping
from control_plane.policy_validation import check_access_policy_references, validate_access_policy
from control_plane.schema_validation import validate_schema
from mesh.resources import KINDS, kind_of
from mesh.translate.descriptors import DescriptorSetError, pool_from_bytes
from mesh.translate.errors import TranslationError
from mesh.translate.lgcode import validate_lg_code
from mesh.v1 import organization_pb2

Ref = tuple[str, str, str]  # (kind, org, name)
_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\Z")
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?\Z")
_GRPC_SERVICE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+\Z")
_HOST_PORT = re.compile(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):(\d{1,5})\Z")
MAX_DISPLAY = 200
MAX_ROUTE_TIMEOUT_S = 300.0
MIN_ROUTE_TIMEOUT_S = 0.001
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class World:
    """Every resource by (kind, org, name), as it would be after the change.

    A world never changes once made (its mappings must not be changed afterwards), so the
    indexes below are built once, on first use, and shared by every check against it."""

    objects: Mapping[Ref, Message]
    trust_domain: str
    # The stored objects before the change, for rules about changes (Schema compatibility).
    previous: Mapping[Ref, Message] = field(default_factory=dict)
    _memo: dict[object, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def get(self, kind: str, org: str, name: str) -> Message | None:
        return self.objects.get((kind, org, name))

    def of_kind(self, kind: str) -> Iterator[Message]:
        return iter(self.derived(_by_kind).get(kind, ()))

    def owned_by(self, kind: str, org: str, system: str) -> Iterator[Message]:
        """The objects of `kind` (Service, Mapping) whose spec.system is org/system."""
        return iter(self.derived(_by_system).get((kind, org, system), ()))

    def derived(self, build: Callable[[World], T]) -> T:
        """build(self), computed once per world (`build` is its key: pass a module function)."""
        if build not in self._memo:
            self._memo[build] = build(self)
        return self._memo[build]  # type: ignore[no-any-return]


def _by_kind(world: World) -> dict[str, list[Message]]:
    found: dict[str, list[Message]] = {}
    for (kind, _, _), message in world.objects.items():
        found.setdefault(kind, []).append(message)
    return found


def _by_system(world: World) -> dict[tuple[str, str, str], list[Message]]:
    found: dict[tuple[str, str, str], list[Message]] = {}
    for kind in ("Service", "Mapping"):
        for message in world.of_kind(kind):
            key = (kind, message.metadata.org, message.spec.system)  # type: ignore[attr-defined]
            found.setdefault(key, []).append(message)
    return found


def ref_of(message: Message) -> Ref:
    meta = message.metadata  # type: ignore[attr-defined]
    return kind_of(message).name, meta.org, meta.name


def validate_object(message: Message, world: World) -> list[FieldError]:
    """Every problem of one object (common metadata, then its kind's own rules)."""
    kind = kind_of(message)
    errors = _metadata(message, kind.scope, world)
    errors += _VALIDATORS[kind.name](message, world)
    return errors


def _metadata(message: Message, scope: str, world: World) -> list[FieldError]:
    meta = message.metadata  # type: ignore[attr-defined]
    errors = []
    if not meta.name:
        errors.append(FieldError("metadata.name", "required"))
    elif not _NAME.match(meta.name):
        errors.append(FieldError("metadata.name", "must be lower-case letters, digits and '-', "
                                 "at most 63 characters, starting and ending with a letter or digit"))
    if scope == "platform":
        if meta.org:
            errors.append(FieldError("metadata.org", "must be empty for a platform-owned kind"))
    elif not meta.org:
        errors.append(FieldError("metadata.org", "required"))
    elif world.get("Organization", "", meta.org) is None:
        errors.append(FieldError("metadata.org", f"organization {meta.org!r} does not exist"))
    if len(meta.labels) > 32:
        errors.append(FieldError("metadata.labels", "at most 32 labels"))
    for key, value in meta.labels.items():
        if not _LABEL.match(key):
            errors.append(FieldError(f"metadata.labels[{key!r}]", "invalid label key"))
        if len(value) > 63:
            errors.append(FieldError(f"metadata.labels[{key!r}]", "value longer than 63 characters"))
    return errors


def _display(value: str, path: str) -> list[FieldError]:
    if not value.strip():
        return [FieldError(path, "required")]
    if len(value) > MAX_DISPLAY:
        return [FieldError(path, f"at most {MAX_DISPLAY} characters")]
    return []


def _organization(message: Message, world: World) -> list[FieldError]:
    org: organization_pb2.Organization = message  # type: ignore[assignment]
    errors = _display(org.spec.display_name, "spec.displayName")
    kind = org.spec.type
    if kind == organization_pb2.ORGANIZATION_TYPE_UNSPECIFIED:
        errors.append(FieldError("spec.type", "required"))
    elif kind in (organization_pb2.ORGANIZATION_TYPE_MUNICIPALITY,
                  organization_pb2.ORGANIZATION_TYPE_PREFECTURE):
        try:
            validate_lg_code(org.metadata.name)
        except TranslationError as exc:
            errors.append(FieldError("metadata.name", "must be a 6-digit 全国地方公共団体コード "
                                     f"with a valid check digit ({exc.reason})"))
    return errors


def _purpose(message: Message, world: World) -> list[FieldError]:
    spec = message.spec  # type: ignore[attr-defined]
    return _display(spec.display_name, "spec.displayName") + _display(spec.legal_basis, "spec.legalBasis")


def _system(message: Message, world: World) -> list[FieldError]:
    meta, spec = message.metadata, message.spec  # type: ignore[attr-defined]
    errors = _display(spec.display_name, "spec.displayName")
    if meta.org and meta.name:
        expected = workload_id(world.trust_domain, meta.org, meta.name)
        if spec.spiffe_id != expected:
            errors.append(FieldError("spec.spiffeId", f"must be {expected}"))
    return errors


def _service(message: Message, world: World) -> list[FieldError]:
    meta, spec = message.metadata, message.spec  # type: ignore[attr-defined]
    errors = []
    if not spec.system:
        errors.append(FieldError("spec.system", "required"))
    elif world.get("System", meta.org, spec.system) is None:
        errors.append(FieldError("spec.system", f"system {spec.system!r} does not exist in org {meta.org}"))
    pool = None
    if not spec.descriptor_set:
        errors.append(FieldError("spec.descriptorSet", "required"))
    else:
        pool, problem = _descriptor_pool(spec.descriptor_set)
        if problem:
            errors.append(FieldError("spec.descriptorSet", problem))
    if not spec.grpc_services:
        errors.append(FieldError("spec.grpcServices", "at least one service is required"))
    for i, name in enumerate(spec.grpc_services):
        path = f"spec.grpcServices[{i}]"
        if not _GRPC_SERVICE.match(name):
            errors.append(FieldError(path, f"{name!r} is not a fully qualified service name"))
            continue
        if list(spec.grpc_services).index(name) != i:
            errors.append(FieldError(path, f"duplicate {name!r}"))
        if pool is not None:
            try:
                pool.FindServiceByName(name)
            except KeyError:
                errors.append(FieldError(path, f"{name!r} is not defined in spec.descriptorSet"))
        for other in world.of_kind("Service"):
            if other is not message and name in other.spec.grpc_services:  # type: ignore[attr-defined]
                o = other.metadata  # type: ignore[attr-defined]
                errors.append(FieldError(path, f"{name!r} is already provided by Service {o.org}/{o.name}"))
    if not spec.endpoints:
        errors.append(FieldError("spec.endpoints", "at least one endpoint is required"))
    for i, endpoint in enumerate(spec.endpoints):
        match = _HOST_PORT.match(endpoint.address)
        if not match or not 0 < int(match.group(3)) < 65536:
            errors.append(FieldError(f"spec.endpoints[{i}].address", f"{endpoint.address!r} must be HOST:PORT"))
    return errors


def _descriptor_pool(data: bytes) -> tuple[descriptor_pool.DescriptorPool | None, str]:
    try:
        return pool_from_bytes(data), ""
    except DescriptorSetError as exc:
        return None, str(exc)


def providers_of(grpc_service: str, world: World) -> list[tuple[str, str]]:
    """The (org, system) that serve a gRPC service: a Service lists it, or (for a canonical
    service) a System that has a Service implements it through one of its Mappings."""
    return list(world.derived(_providers).get(grpc_service, ()))


def _providers(world: World) -> dict[str, list[tuple[str, str]]]:
    """gRPC service → its providers, in world order: the Services' Systems first, then the
    serving Systems whose Mappings implement it (each System once)."""
    found: dict[str, list[tuple[str, str]]] = {}
    serving: set[tuple[str, str]] = set()
    for service in world.of_kind("Service"):
        owner = (service.metadata.org, service.spec.system)  # type: ignore[attr-defined]
        serving.add(owner)
        for name in set(service.spec.grpc_services):  # type: ignore[attr-defined]
            found.setdefault(name, []).append(owner)
    for mapping in world.of_kind("Mapping"):
        owner = (mapping.metadata.org, mapping.spec.system)  # type: ignore[attr-defined]
        if owner not in serving:
            continue
        for op in mapping.spec.operations:  # type: ignore[attr-defined]
            canonical = op.canonical.split("/")[1:2]
            if canonical:
                providers = found.setdefault(canonical[0], [])
                if owner not in providers:
                    providers.append(owner)
    return found


def _route(message: Message, world: World) -> list[FieldError]:
    meta, spec = message.metadata, message.spec  # type: ignore[attr-defined]
    errors = []
    if not spec.consumer:
        errors.append(FieldError("spec.consumer", "required"))
    elif world.get("System", meta.org, spec.consumer) is None:
        errors.append(FieldError("spec.consumer", f"system {spec.consumer!r} does not exist in org {meta.org}"))
    if not spec.grpc_service:
        errors.append(FieldError("spec.grpcService", "required"))
    elif not providers_of(spec.grpc_service, world):
        errors.append(FieldError("spec.grpcService", f"no Service provides {spec.grpc_service!r}"))
    if message.spec.HasField("timeout"):  # type: ignore[attr-defined]
        seconds = spec.timeout.ToTimedelta().total_seconds()
        if seconds < MIN_ROUTE_TIMEOUT_S:
            errors.append(FieldError("spec.timeout", "must be at least 1ms"))
        elif seconds > MAX_ROUTE_TIMEOUT_S:
            errors.append(FieldError("spec.timeout", "must be at most 300s"))
    return errors


def check_references(message: Message, world: World) -> list[FieldError]:
    """Only the cross-object rules of one object: cheap, for objects an apply did not touch."""
    meta = message.metadata  # type: ignore[attr-defined]
    errors = []
    if kind_of(message).scope == "org" and world.get("Organization", "", meta.org) is None:
        errors.append(FieldError("metadata.org", f"organization {meta.org!r} does not exist"))
    name = kind_of(message).name
    spec = message.spec  # type: ignore[attr-defined]
    if name == "Service" and world.get("System", meta.org, spec.system) is None:
        errors.append(FieldError("spec.system", f"system {spec.system!r} does not exist in org {meta.org}"))
    if name == "Route":
        if world.get("System", meta.org, spec.consumer) is None:
            errors.append(FieldError("spec.consumer", f"system {spec.consumer!r} does not exist in org {meta.org}"))
        if not providers_of(spec.grpc_service, world):
            errors.append(FieldError("spec.grpcService", f"no Service provides {spec.grpc_service!r}"))
    errors += [e for check in _REFERENCE_CHECKS for e in check(message, world)]
    return errors


_REFERENCE_CHECKS: list[Callable[[Message, World], list[FieldError]]] = [
    check_access_policy_references, check_mapping_references]

# The kinds that each kind's reference checks (check_references) read. A change that touches
# no object of these kinds leaves an object's references exactly as they were, so it need not
# be re-checked. A kind missing here is re-checked after every change. (tests/unit/
# control_plane/test_validate_indexes.py checks this against what the checks really read.)
REFERENCED_KINDS: dict[str, frozenset[str]] = {
    "Organization": frozenset(),
    "Purpose": frozenset(),
    "Schema": frozenset(),
    "System": frozenset({"Organization"}),
    "Service": frozenset({"Organization", "System"}),
    "Route": frozenset({"Organization", "System", "Service", "Mapping"}),
    "Mapping": frozenset({"Organization", "System", "Schema"}),
    "AccessPolicy": frozenset({"Organization", "System", "Service", "Mapping", "Schema", "Purpose"}),
}


def references_may_break(kind: str, touched: set[str] | frozenset[str]) -> bool:
    """Whether changing or deleting objects of the `touched` kinds can change the result of
    check_references for an object of `kind` that the change left alone."""
    referenced = REFERENCED_KINDS.get(kind)
    return referenced is None or not referenced.isdisjoint(touched)


_VALIDATORS: dict[str, Callable[[Message, World], list[FieldError]]] = {
    "Organization": _organization,
    "Purpose": _purpose,
    "System": _system,
    "Service": _service,
    "Route": _route,
    "AccessPolicy": validate_access_policy,
    "Schema": validate_schema,
    "Mapping": validate_mapping,
}


def register(kind: str, validator: Callable[[Message, World], list[FieldError]],
             references: Callable[[Message, World], list[FieldError]] | None = None,
             reads: Iterable[str] | None = None) -> None:
    """Later kinds add their validator (and the reference check of objects of `kind`, with
    the kinds it reads; without `reads`, objects of `kind` are re-checked after any change)."""
    _VALIDATORS[kind] = validator
    if references is not None:
        _REFERENCE_CHECKS.append(references)
        if reads is None:
            REFERENCED_KINDS.pop(kind, None)
        else:
            REFERENCED_KINDS[kind] = REFERENCED_KINDS.get(kind, frozenset()) | frozenset(reads)


def check_registry() -> None:
    missing = set(KINDS) - set(_VALIDATORS)
    assert not missing, f"kinds without a validator: {missing}"
