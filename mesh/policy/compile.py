"""Compiling a config's AccessPolicies (with its Systems and Purposes) into a PolicyTable.

The control plane validates policies fully (control_plane/policy_validation.py); this
compiler refuses, with PolicyError, anything whose meaning would be unclear, so a sidecar
rejects such a snapshot whole rather than guess.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Iterable

from google.protobuf.message import Message

from mesh.policy.grant import FieldGrant
from mesh.policy.ratelimit import RateLimit
from mesh.policy.rule import Rule, Specificity, SystemKey
from mesh.policy.table import PolicyTable, ProviderRules
from mesh.v1 import access_policy_pb2, purpose_pb2, system_pb2


class PolicyError(ValueError):
    """An AccessPolicy cannot be compiled; the message names it and the field."""


def compile_policies(resources: Iterable[Message]) -> PolicyTable:
    """The table of every AccessPolicy among `resources`; Systems and Purposes among them
    are the registries that callers and purposes are resolved against. Other kinds are
    ignored."""
    systems: dict[str, SystemKey] = {}
    purposes: set[str] = set()
    policies: list[access_policy_pb2.AccessPolicy] = []
    for resource in resources:
        if isinstance(resource, system_pb2.System):
            systems[resource.spec.spiffe_id] = (resource.metadata.org, resource.metadata.name)
        elif isinstance(resource, purpose_pb2.Purpose):
            purposes.add(resource.metadata.name)
        elif isinstance(resource, access_policy_pb2.AccessPolicy):
            policies.append(resource)
    rules: dict[SystemKey, list[Rule]] = {}
    for policy in policies:
        provider = (policy.metadata.org, policy.spec.system)
        for index, spec in enumerate(policy.spec.rules):
            rules.setdefault(provider, []).append(_rule(policy, index, spec))
    providers = {}
    method_providers: dict[str, list[SystemKey]] = {}
    for provider, found in sorted(rules.items()):
        ordered = tuple(sorted(found, key=lambda r: r.precedence))
        by_method: dict[str, list[Rule]] = {}
        for compiled in ordered:
            for method in sorted(compiled.methods):
                by_method.setdefault(method, []).append(compiled)
        for method in by_method:
            method_providers.setdefault(method, []).append(provider)
        providers[provider] = ProviderRules(
            ordered, MappingProxyType({m: tuple(r) for m, r in by_method.items()}))
    return PolicyTable(
        providers=MappingProxyType(providers),
        systems=MappingProxyType(dict(systems)),
        spiffe_ids=MappingProxyType({key: sid for sid, key in systems.items()}),
        purposes=frozenset(purposes),
        method_providers=MappingProxyType({m: tuple(p) for m, p in method_providers.items()}),
    )


def _rule(policy: access_policy_pb2.AccessPolicy, index: int, rule: access_policy_pb2.AccessRule) -> Rule:
    where = f"AccessPolicy {policy.metadata.org}/{policy.metadata.name}: spec.rules[{index}]"
    if not rule.name:
        raise PolicyError(f"{where}.name: required")
    if sum(1 for r in policy.spec.rules if r.name == rule.name) > 1:
        raise PolicyError(f"{where}.name: duplicate {rule.name!r}")
    callers = rule.callers
    given = [bool(callers.spiffe_ids), bool(callers.org), bool(callers.systems)]
    if sum(given) != 1:
        raise PolicyError(f"{where}.callers: exactly one of spiffeIds, org and systems must be set")
    specificity = (Specificity.SPIFFE_ID if given[0] else Specificity.ORG if given[1] else Specificity.SYSTEM)
    required = rule.purpose_required if rule.HasField("purpose_required") else True
    if required and not rule.purposes:
        raise PolicyError(f"{where}.purposes: required unless purposeRequired is false")
    if not required and rule.purposes:
        raise PolicyError(f"{where}.purposes: must be empty when purposeRequired is false")
    field_grant = None
    if rule.HasField("field_grant"):
        try:
            field_grant = FieldGrant.from_proto(rule.field_grant)
        except ValueError as exc:
            raise PolicyError(f"{where}.fieldGrant.mode: {exc}") from None
    rate_limit = None
    if rule.HasField("rate_limit"):
        try:
            rate_limit = RateLimit.of(rule.rate_limit.requests_per_second, rule.rate_limit.burst)
        except ValueError as exc:
            raise PolicyError(f"{where}.rateLimit: {exc}") from None
    return Rule(
        provider=(policy.metadata.org, policy.spec.system),
        policy_org=policy.metadata.org,
        policy=policy.metadata.name,
        name=rule.name,
        index=index,
        specificity=specificity,
        spiffe_ids=frozenset(callers.spiffe_ids),
        org=callers.org,
        systems=frozenset((s.org, s.name) for s in callers.systems),
        methods=frozenset(rule.methods),
        purposes=frozenset(rule.purposes),
        purpose_required=required,
        field_grant=field_grant,
        rate_limit=rate_limit,
    )
