"""`meshctl check`'s server side: the decision one call would get, explained from the live
config, with the same engine the sidecars run (mesh/policy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from google.protobuf.message import Message

from certs.spiffe_id import InvalidSpiffeId, parse_spiffe_id
from control_plane.errors import FieldError, Invalid
from mesh.policy import PURPOSE_KEY, Decision, PolicyTable, compile_policies, purpose_from_metadata
from mesh.policy.allowed import to_rate_limit_proto
from mesh.policy.decision import Reason, deny
from mesh.v1 import control_plane_pb2 as api
from mesh.v1 import service_pb2

MAX_INPUT = 8192


@dataclass(frozen=True, slots=True)
class Explanation:
    """The answer, and the orgs whose operators may see it (the provider's and the caller's)."""

    response: api.CheckResponse
    provider_org: str
    caller_org: str


def explain(objects: Iterable[Message], request: api.CheckRequest, trust_domain: str,
            config_version: int) -> Explanation:
    """The provider's decision on the call `request` describes, against `objects` (the live
    config). Rate limits are reported, never consumed."""
    caller_org = _check_request(request, trust_domain)
    resources = list(objects)
    table = compile_policies(resources)
    purpose = purpose_from_metadata([(PURPOSE_KEY, request.purpose)]) if request.purpose else None
    candidates = _providers(resources, table, request.method)
    decision, provider = deny(Reason.NO_POLICY, "no Service provides this method and no policy names it"), None
    for index, key in enumerate(candidates):
        found = table.decide(request.caller, request.method, purpose, key)
        if index == 0 or found.allowed:
            decision, provider = found, key
        if found.allowed:
            break
    response = _response(decision, table.spiffe_ids.get(provider, "") if provider else "", config_version)
    return Explanation(response, provider[0] if provider else "", caller_org)


def _check_request(request: api.CheckRequest, trust_domain: str) -> str:
    """Every problem of the request; returns the caller's org ("" when it has none)."""
    errors = []
    caller_org = ""
    if not request.caller:
        errors.append(FieldError("caller", "required"))
    else:
        try:
            sid = parse_spiffe_id(request.caller)
        except InvalidSpiffeId as exc:
            errors.append(FieldError("caller", f"not a SPIFFE ID: {exc}"))
        else:
            if sid.trust_domain != trust_domain or sid.system is None:
                errors.append(FieldError("caller", f"must be a workload ID spiffe://{trust_domain}/org/ORG/sys/SYSTEM"))
            caller_org = sid.org or ""
    if not request.method:
        errors.append(FieldError("method", "required"))
    elif len(request.method) > MAX_INPUT:
        errors.append(FieldError("method", f"at most {MAX_INPUT} characters"))
    if len(request.purpose) > MAX_INPUT:
        errors.append(FieldError("purpose", f"at most {MAX_INPUT} characters"))
    if errors:
        raise Invalid(errors)
    return caller_org


def _providers(resources: list[Message], table: PolicyTable, method: str) -> list[tuple[str, str]]:
    """The System whose Service provides the method's gRPC service; else every provider
    whose policies name the method exactly (canonical operations with no Service)."""
    service, sep, _ = method[1:].partition("/") if method.startswith("/") else ("", "", "")
    for resource in resources:
        if isinstance(resource, service_pb2.Service) and sep and service in resource.spec.grpc_services:
            return [(resource.metadata.org, resource.spec.system)]
    return list(table.method_providers.get(method, ()))


def _response(decision: Decision, provider: str, config_version: int) -> api.CheckResponse:
    policy, _, rule = decision.rule.partition("/")
    response = api.CheckResponse(
        allowed=decision.allowed, reason=decision.reason.value, detail=decision.detail, provider=provider,
        policy_org=decision.policy_org, policy=policy, rule=rule, config_version=config_version)
    if decision.allowed and decision.field_grant is not None:
        response.field_grant.CopyFrom(decision.field_grant.to_proto())
    if decision.allowed and decision.rate_limit is not None:
        response.rate_limit.CopyFrom(to_rate_limit_proto(decision.rate_limit))
    return response
