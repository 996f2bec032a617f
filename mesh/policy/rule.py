"""A compiled allow rule: whom it admits, for which purposes, and what it gives.

Callers are matched by exact string: a SPIFFE ID against the rule's listed IDs, or the
registered System that SPIFFE ID belongs to against the rule's org or listed systems.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from mesh.policy.decision import Decision, Reason
from mesh.policy.grant import FieldGrant
from mesh.policy.ratelimit import RateLimit

SystemKey = tuple[str, str]  # (org, name)


class Specificity(enum.IntEnum):
    """How precisely a rule names its callers; lower wins (see access_policy.proto)."""

    SPIFFE_ID = 0
    SYSTEM = 1
    ORG = 2


@dataclass(frozen=True, slots=True)
class Rule:
    """One AccessRule of one AccessPolicy, ready to match."""

    provider: SystemKey
    policy_org: str
    policy: str
    name: str
    index: int
    specificity: Specificity
    spiffe_ids: frozenset[str]
    org: str
    systems: frozenset[SystemKey]
    methods: frozenset[str]
    purposes: frozenset[str]
    purpose_required: bool
    field_grant: FieldGrant | None
    rate_limit: RateLimit | None
    # The allow decision this rule gives (rate_key is per caller, so set per call when the
    # rule has a rate limit). Built once: the request path only hands it out.
    allow: Decision = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "allow", Decision(
            allowed=True, reason=Reason.ALLOWED, rule=self.ref, policy_org=self.policy_org,
            field_grant=self.field_grant, rate_limit=self.rate_limit))

    def allow_for(self, caller: str) -> Decision:
        """The allow decision for `caller` (with its rate-limit bucket key, if limited)."""
        if self.rate_limit is None:
            return self.allow
        return Decision(allowed=True, reason=Reason.ALLOWED, rule=self.ref, policy_org=self.policy_org,
                        field_grant=self.field_grant, rate_limit=self.rate_limit,
                        rate_key=(self.policy_org, self.policy, self.name, caller))

    @property
    def ref(self) -> str:
        """"<policy name>/<rule name>", as decisions and audit records name it."""
        return f"{self.policy}/{self.name}"

    @property
    def precedence(self) -> tuple[int, str, int]:
        return (self.specificity, self.policy, self.index)

    def admits_caller(self, caller: str, caller_system: SystemKey | None) -> bool:
        if self.specificity is Specificity.SPIFFE_ID:
            return caller in self.spiffe_ids
        if caller_system is None:
            return False
        if self.specificity is Specificity.SYSTEM:
            return caller_system in self.systems
        return caller_system[0] == self.org

    def admits_purpose(self, purpose: str | None) -> bool:
        """Whether a registered purpose (or None) satisfies this rule."""
        if purpose is None:
            return not self.purpose_required
        return not self.purpose_required or purpose in self.purposes
