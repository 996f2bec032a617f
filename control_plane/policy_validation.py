"""Validation of AccessPolicy resources: every problem with its field path.

Checked against the world after the apply: the providing System exists in the policy's org,
each method is an exact canonical method that System provides (in its Services, or as a
canonical operation its Mappings implement), each purpose is registered, each granted field
exists in the response of every method of its rule, and rate limits are sane. Callers are checked for shape only: a rule may name a System that does not exist (yet),
so that another org's deletions are never blocked by this org's policies.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Callable, Mapping

from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from certs.spiffe_id import InvalidSpiffeId, parse_spiffe_id
from control_plane.errors import FieldError
from mesh.policy.grant import resolve_path
from mesh.policy.methods import is_canonical_method, pool_of, provided_methods
from mesh.policy.ratelimit import MAX_BURST, MAX_RATE
from mesh.v1 import access_policy_pb2

if TYPE_CHECKING:
    from control_plane.validate import World

_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\Z")
MAX_RULES = 100
MAX_METHODS = 100
MAX_CALLERS = 100
MAX_PURPOSES = 50
MAX_FIELDS = 200

# A source of the methods a System implements: (world, org, system) → path → response
# descriptor (None: the method exists, its response type is unknown).
MethodSource = Callable[["World", str, str], Mapping[str, Descriptor | None]]


def _mapping_methods(world: World, org: str, system: str) -> dict[str, Descriptor | None]:
    """The canonical operations the System's Mappings implement, with their canonical
    response types from the Mapping's Schema. Read by field name, so that it needs nothing
    until the Mapping and Schema kinds exist (there are no such objects before)."""
    found: dict[str, Descriptor | None] = {}
    for mapping in world.owned_by("Mapping", org, system):
        spec = mapping.spec  # type: ignore[attr-defined]
        schema = world.get("Schema", "", spec.schema)
        pool = pool_of(schema.spec.descriptor_set) if schema is not None else None  # type: ignore[attr-defined]
        for operation in spec.operations:
            found.setdefault(operation.canonical, _response_of(pool, operation.canonical))
    return found


def _response_of(pool: descriptor_pool.DescriptorPool | None, method: str) -> Descriptor | None:
    service, _, name = method[1:].partition("/")
    try:
        return pool.FindServiceByName(service).methods_by_name[name].output_type if pool else None
    except KeyError:
        return None


_METHOD_SOURCES: list[MethodSource] = [_mapping_methods]


def add_method_source(source: MethodSource) -> None:
    """Add another source of implemented methods. The kinds it reads must be in
    validate.REFERENCED_KINDS["AccessPolicy"], or policies are not re-checked when they change."""
    _METHOD_SOURCES.append(source)


def validate_access_policy(message: Message, world: World) -> list[FieldError]:
    """Every problem of one AccessPolicy's spec."""
    policy: access_policy_pb2.AccessPolicy = message  # type: ignore[assignment]
    return _check(policy, world, references_only=False)


def check_access_policy_references(message: Message, world: World) -> list[FieldError]:
    """Only what other objects can break: the System, the purposes, the methods and fields."""
    if not isinstance(message, access_policy_pb2.AccessPolicy):
        return []
    return _check(message, world, references_only=True)


def _check(policy: access_policy_pb2.AccessPolicy, world: World, references_only: bool) -> list[FieldError]:
    spec, org = policy.spec, policy.metadata.org
    errors: list[FieldError] = []
    methods: Mapping[str, Descriptor | None] | None = None  # None: the System is unknown
    if not spec.system:
        if not references_only:
            errors.append(FieldError("spec.system", "required"))
    elif world.get("System", org, spec.system) is None:
        errors.append(FieldError("spec.system", f"system {spec.system!r} does not exist in org {org}"))
    else:
        methods = _methods(world, org, spec.system)
    if not references_only:
        if not spec.rules:
            errors.append(FieldError("spec.rules", "at least one rule is required"))
        elif len(spec.rules) > MAX_RULES:
            errors.append(FieldError("spec.rules", f"at most {MAX_RULES} rules"))
    names: set[str] = set()
    for i, rule in enumerate(spec.rules):
        path = f"spec.rules[{i}]"
        if not references_only:
            errors += _name(rule.name, f"{path}.name", names)
            errors += _callers(rule.callers, f"{path}.callers", world.trust_domain) if rule.HasField(
                "callers") else [FieldError(f"{path}.callers", "required")]
            errors += _rate_limit(rule, f"{path}.rateLimit")
        responses = _rule_methods(rule, path, methods, errors, references_only)
        errors += _purposes(rule, path, world, references_only)
        if rule.HasField("field_grant"):
            errors += _field_grant(rule.field_grant, f"{path}.fieldGrant", responses, references_only)
    return errors


def _methods(world: World, org: str, system: str) -> dict[str, Descriptor | None]:
    services = world.owned_by("Service", org, system)
    found: dict[str, Descriptor | None] = dict(provided_methods(services, org, system))
    for source in _METHOD_SOURCES:
        for path, response in source(world, org, system).items():
            found.setdefault(path, response)
    return found


def _name(name: str, path: str, seen: set[str]) -> list[FieldError]:
    if not name:
        return [FieldError(path, "required")]
    if not _NAME.match(name):
        return [FieldError(path, "must be lower-case letters, digits and '-', at most 63 characters, "
                                 "starting and ending with a letter or digit")]
    if name in seen:
        return [FieldError(path, f"duplicate rule name {name!r}")]
    seen.add(name)
    return []


def _callers(callers: access_policy_pb2.Callers, path: str, trust_domain: str) -> list[FieldError]:
    given = [n for n, on in (("spiffeIds", bool(callers.spiffe_ids)), ("org", bool(callers.org)),
                             ("systems", bool(callers.systems))) if on]
    if len(given) != 1:
        return [FieldError(path, "exactly one of spiffeIds, org and systems must be set"
                           + (f" (got {', '.join(given)})" if given else ""))]
    errors = []
    if callers.org and not _NAME.match(callers.org):
        errors.append(FieldError(f"{path}.org", f"{callers.org!r} is not an org id"))
    if len(callers.spiffe_ids) > MAX_CALLERS or len(callers.systems) > MAX_CALLERS:
        errors.append(FieldError(path, f"at most {MAX_CALLERS} callers per rule"))
    for j, value in enumerate(callers.spiffe_ids):
        where = f"{path}.spiffeIds[{j}]"
        try:
            sid = parse_spiffe_id(value)
        except InvalidSpiffeId as exc:
            errors.append(FieldError(where, f"not a SPIFFE ID: {exc}"))
            continue
        if str(sid) != value or sid.trust_domain != trust_domain or sid.system is None:
            errors.append(FieldError(where, f"must be a workload ID spiffe://{trust_domain}/org/ORG/sys/SYSTEM"))
        elif list(callers.spiffe_ids).index(value) != j:
            errors.append(FieldError(where, f"duplicate {value!r}"))
    seen: set[tuple[str, str]] = set()
    for j, ref in enumerate(callers.systems):
        where = f"{path}.systems[{j}]"
        for field, value in (("org", ref.org), ("name", ref.name)):
            if not value:
                errors.append(FieldError(f"{where}.{field}", "required"))
            elif not _NAME.match(value):
                errors.append(FieldError(f"{where}.{field}", f"{value!r} is not a valid {field}"))
        if (ref.org, ref.name) in seen:
            errors.append(FieldError(where, f"duplicate system {ref.org}/{ref.name}"))
        seen.add((ref.org, ref.name))
    return errors


def _rule_methods(rule: access_policy_pb2.AccessRule, path: str, known: Mapping[str, Descriptor | None] | None,
                  errors: list[FieldError], references_only: bool) -> list[tuple[str, Descriptor]]:
    """Checks the methods (appending to errors); returns (method, response) of those whose
    response is known. With `known` None (no such System) existence is not checked."""
    if not references_only:
        if not rule.methods:
            errors.append(FieldError(f"{path}.methods", "at least one method is required"))
        elif len(rule.methods) > MAX_METHODS:
            errors.append(FieldError(f"{path}.methods", f"at most {MAX_METHODS} methods per rule"))
    responses = []
    for j, method in enumerate(rule.methods):
        where = f"{path}.methods[{j}]"
        if not is_canonical_method(method):
            if not references_only:
                errors.append(FieldError(where, f"{method!r} is not an exact method path /package.Service/Method"))
            continue
        if not references_only and list(rule.methods).index(method) != j:
            errors.append(FieldError(where, f"duplicate {method!r}"))
        if known is None:
            continue
        if method in known:
            response = known[method]
            if response is not None:
                responses.append((method, response))
        else:
            errors.append(FieldError(where, f"{method!r} is not a method the system provides (in its "
                                            "Services, or as a canonical operation of its Mappings)"))
    return responses


def _purposes(rule: access_policy_pb2.AccessRule, path: str, world: World,
              references_only: bool) -> list[FieldError]:
    errors = []
    required = rule.purpose_required if rule.HasField("purpose_required") else True
    if not references_only:
        if required and not rule.purposes:
            errors.append(FieldError(f"{path}.purposes", "at least one purpose is required (or set "
                                                         "purposeRequired: false to require none)"))
        if not required and rule.purposes:
            errors.append(FieldError(f"{path}.purposes", "must be empty when purposeRequired is false"))
        if len(rule.purposes) > MAX_PURPOSES:
            errors.append(FieldError(f"{path}.purposes", f"at most {MAX_PURPOSES} purposes per rule"))
    for j, name in enumerate(rule.purposes):
        where = f"{path}.purposes[{j}]"
        if world.get("Purpose", "", name) is None:
            errors.append(FieldError(where, f"purpose {name!r} is not registered"))
        elif not references_only and list(rule.purposes).index(name) != j:
            errors.append(FieldError(where, f"duplicate {name!r}"))
    return errors


def _field_grant(grant: access_policy_pb2.FieldGrant, path: str, responses: list[tuple[str, Descriptor]],
                 references_only: bool) -> list[FieldError]:
    errors = []
    if not references_only:
        if grant.mode == access_policy_pb2.FIELD_GRANT_MODE_UNSPECIFIED:
            errors.append(FieldError(f"{path}.mode", "required (FIELD_GRANT_MODE_REMOVE or FIELD_GRANT_MODE_MASK)"))
        if not grant.fields:
            errors.append(FieldError(f"{path}.fields", "at least one field is required"))
        elif len(grant.fields) > MAX_FIELDS:
            errors.append(FieldError(f"{path}.fields", f"at most {MAX_FIELDS} fields"))
    fields = list(grant.fields)
    for j, field in enumerate(fields):
        where = f"{path}.fields[{j}]"
        if not references_only:
            if fields.index(field) != j:
                errors.append(FieldError(where, f"duplicate {field!r}"))
                continue
            outer = next((f for f in fields if field.startswith(f + ".")), None)
            if outer is not None:
                errors.append(FieldError(where, f"{field!r} is inside {outer!r}, which is already granted whole"))
        for method, response in responses:
            problem = resolve_path(response, field)
            if problem is not None:
                errors.append(FieldError(where, f"{problem} (response of {method})"))
    return errors


def _rate_limit(rule: access_policy_pb2.AccessRule, path: str) -> list[FieldError]:
    if not rule.HasField("rate_limit"):
        return []
    errors = []
    rps = rule.rate_limit.requests_per_second
    if not math.isfinite(rps) or rps <= 0:
        errors.append(FieldError(f"{path}.requestsPerSecond", "required: greater than 0"))
    elif rps > MAX_RATE:
        errors.append(FieldError(f"{path}.requestsPerSecond", f"at most {MAX_RATE:g}"))
    if rule.rate_limit.burst > MAX_BURST:
        errors.append(FieldError(f"{path}.burst", f"at most {MAX_BURST}"))
    return errors
