"""An access decision: allowed or not, why, which rule decided, and what that rule gives."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Hashable

import grpc

from mesh.policy.grant import FieldGrant
from mesh.policy.ratelimit import RateLimit


class Reason(enum.StrEnum):
    """Why a call was allowed or refused. The values are what refusals and audits say."""

    ALLOWED = "allowed"
    NO_POLICY = "no policy"
    CALLER_NOT_ALLOWED = "caller not allowed"
    METHOD_NOT_ALLOWED = "method not allowed"
    PURPOSE_NOT_ALLOWED = "purpose not allowed"
    RATE_LIMITED = "rate limited"


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome for one call.

    `rule` is "<policy name>/<rule name>" of the rule that admitted the call (its policy is
    in `policy_org`, the provider's org), or "" for a default deny. `detail` adds what a
    person needs ("purpose 'x' is not registered") and never echoes unvalidated input.
    `rate_key` is the bucket the call is counted in when the rule has a rate limit.
    """

    allowed: bool
    reason: Reason
    rule: str = ""
    policy_org: str = ""
    detail: str = ""
    field_grant: FieldGrant | None = None
    rate_limit: RateLimit | None = None
    rate_key: Hashable | None = None

    @property
    def status(self) -> grpc.StatusCode:
        """The gRPC status a refusal carries: RESOURCE_EXHAUSTED for a rate limit,
        PERMISSION_DENIED for every other refusal, OK when allowed."""
        if self.allowed:
            return grpc.StatusCode.OK
        if self.reason is Reason.RATE_LIMITED:
            return grpc.StatusCode.RESOURCE_EXHAUSTED
        return grpc.StatusCode.PERMISSION_DENIED

    def message(self, decided_by: str) -> str:
        """The refusal message: which sidecar decided and why."""
        text = f"{decided_by}: {self.reason.value}"
        return f"{text} ({self.detail})" if self.detail else text


_PLAIN_DENIALS = {reason: Decision(allowed=False, reason=reason) for reason in Reason}


def deny(reason: Reason, detail: str = "") -> Decision:
    """A default deny (no rule decided); shared values when there is no detail."""
    return Decision(allowed=False, reason=reason, detail=detail) if detail else _PLAIN_DENIALS[reason]
