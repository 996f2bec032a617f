"""Access policy: AccessPolicy rules compiled into an immutable decision table, purposes,
rate limits and field grants (see mesh/policy/README.md)."""

from mesh.policy.allowed import AllowedMethod, to_allowed_methods_response
from mesh.policy.compile import PolicyError, compile_policies
from mesh.policy.decision import Decision, Reason
from mesh.policy.grant import FieldGrant, GrantMode, apply_grant
from mesh.policy.purpose import PURPOSE_KEY, InvalidPurpose, purpose_from_metadata
from mesh.policy.ratelimit import RateLimit, RateLimiter
from mesh.policy.table import PolicyTable

__all__ = [
    "AllowedMethod", "Decision", "FieldGrant", "GrantMode", "InvalidPurpose", "PURPOSE_KEY",
    "PolicyError", "PolicyTable", "RateLimit", "RateLimiter", "Reason", "apply_grant",
    "compile_policies", "purpose_from_metadata", "to_allowed_methods_response",
]
