"""What a consumer may call: the entries of the sidecar's AllowedMethods answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from mesh.policy.grant import FieldGrant
from mesh.policy.ratelimit import RateLimit
from mesh.v1 import access_policy_pb2, sidecar_api_pb2

SystemKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class AllowedMethod:
    """One method a consumer may call on one provider, under one rule's terms.

    `purposes` are the purposes these terms cover; with `purpose_required` false they also
    cover calls with no purpose and with any registered purpose no other entry lists.
    """

    method: str
    provider: SystemKey
    provider_spiffe_id: str
    purposes: tuple[str, ...]
    purpose_required: bool
    field_grant: FieldGrant | None
    rate_limit: RateLimit | None
    rule: str

    def to_proto(self) -> sidecar_api_pb2.AllowedMethod:
        entry = sidecar_api_pb2.AllowedMethod(
            method=self.method, provider=self.provider_spiffe_id, purposes=list(self.purposes),
            purpose_required=self.purpose_required)
        if self.field_grant is not None:
            entry.field_grant.CopyFrom(self.field_grant.to_proto())
        if self.rate_limit is not None:
            entry.rate_limit.CopyFrom(to_rate_limit_proto(self.rate_limit))
        return entry


def to_rate_limit_proto(limit: RateLimit) -> access_policy_pb2.RateLimit:
    return access_policy_pb2.RateLimit(requests_per_second=limit.requests_per_second, burst=limit.burst)


def to_allowed_methods_response(consumer: str, entries: Iterable[AllowedMethod], config_version: int,
                                grpc_service: str = "") -> sidecar_api_pb2.AllowedMethodsResponse:
    """The AllowedMethods answer; with `grpc_service`, only that service's methods."""
    prefix = f"/{grpc_service}/" if grpc_service else "/"
    return sidecar_api_pb2.AllowedMethodsResponse(
        consumer=consumer, config_version=config_version,
        methods=[e.to_proto() for e in entries if e.method.startswith(prefix)])
